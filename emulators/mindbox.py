"""Mindbox API v3 (sync operations) emulator: customers, subscriptions, static segmentations.

What follows the documentation (developers.mindbox.ru v3, mindbox-cloud/php-sdk):
- `POST /v3/operations/sync?endpointId=E&operation=<Op>`, JSON in and out; the key in
  `Authorization: SecretKey <key>` or the older `Mindbox secretKey="<key>"`.
- Operations are the project's: only those configured for the endpoint exist (404 otherwise).
- HTTP 200 with `{"status": "Success", ...}` or `{"status": "ValidationError", "validationMessages":
  [{"message", "location"}]}`; protocol errors are `{"status": "ProtocolError", "errorId",
  "errorMessage", "httpStatusCode"}` with 400 (bad JSON), 401 (key), 404 (endpoint, operation),
  409, 429 (with Retry-After) and 500/503 (faults).
- Customer: `email`, `mobilePhone`, `firstName`, `lastName`, `middleName`, `ids{...}`, and
  `subscriptions: [{brand, pointOfContact, isSubscribed, valueByDefault}]`.

What is modelled (not found in public material; plain and said here):
- `transactionId` in the query: a transaction is processed once; repeating it answers the stored
  first result and changes nothing; reusing it for a different body answers 409.
- `valueByDefault: true` applies a subscription value only where the customer has no state yet for
  that brand and point of contact (so an unsubscribed customer stays unsubscribed).
- Operation kinds and their bodies (the names are the project's, defaults below):
  import  `{"customer": {...}}` -> `{"status", "customer": {"processingStatus": "Created"|"Changed",
          "ids": {"mindboxId"}, "subscriptions": [...]}}`;
  segment `{"customer": {...}, "customerSegmentations": [{"segmentation": {"ids": {"externalId"}},
          "segment": {"ids": {"externalId"}} | null}]}`; null takes the customer out. A segmentation
          named for the first time is created (as a static segmentation set up by the manager);
  export  `{"segmentation": {"ids": {"externalId"}}}` -> `{"exportId"}`; `{"exportId"}` ->
          `{"exportResult": {"processingStatus": "NotReady"|"Ready", "urls": [...]}}` after
          `export_polls` polls; the file is `;`-separated UTF-8 CSV `mindboxId;email;mobilePhone`
          served at `/files/exports/<id>.csv` (a pre-signed link: no key needed).
- Rate limit: 50 calls/s per endpoint (Mindbox publishes no figure).
- Every processed write counts as one customer action (Mindbox keeps a customer's action history),
  so a write applied twice shows; `lose_answers_next` processes a write and then answers 503, the
  case transactionId exists for.
Control: `GET /_emulator/customers`, `GET /_emulator/segments/<externalId>/members`,
`POST /_emulator/segments/<externalId>/clean`, `POST /_emulator/customers/unsubscribe
{"email"|"mobilePhone", "pointOfContact"}` (the customer unsubscribes in Mindbox).

Run it alone:  python -m emulators.mindbox --data data/demo --port 8308 --api-key KEY
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from typing import Any

from emulators.base import Emulator, RateLimiter, Request, Response, cli

DEFAULT_ENDPOINT = "cdp-lite"
DEFAULT_OPERATIONS = {"CdpLite.ImportCustomer": "import", "CdpLite.ChangeCustomerSegment": "segment",
                      "CdpLite.ExportSegmentCustomers": "export"}
POINTS_OF_CONTACT = ("Email", "Sms", "Viber", "Webpush", "Mobilepush")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MindboxEmulator(Emulator):
    name = "mindbox"

    def __init__(self, api_key: str = "demo-key", endpoint_id: str = DEFAULT_ENDPOINT,
                 operations: dict[str, str] | None = None, requests_per_second: int = 50, export_polls: int = 1):
        super().__init__()
        self.api_key, self.endpoint_id = api_key, endpoint_id
        self.operations = dict(operations or DEFAULT_OPERATIONS)  # system name -> kind
        self.limiter = RateLimiter(requests_per_second, 1.0)
        self.export_polls = export_polls
        self.customers: list[dict[str, Any]] = []
        # Where each e-mail, phone and (id kind, value) first occurs in `customers`: a scan per call
        # made a sync quadratic (509 s for the 300k benchmark's audience). Kept by `_index`.
        self._first: dict[tuple, int] = {}
        self.segmentations: dict[str, dict[int, str]] = {}  # externalId -> customer id -> segment externalId
        self.transactions: dict[tuple[str, str], tuple[str, Response]] = {}
        self.exports: dict[str, dict[str, Any]] = {}
        self.lose_answers_next = 0  # process the next N writes, then answer 503 as if the answer was lost
        self._state_lock = threading.Lock()

    # --- envelope -----------------------------------------------------------------------------
    @staticmethod
    def protocol_error(status: int, message: str, **headers: str) -> Response:
        return Response.json(status, {"status": "ProtocolError", "errorId": hashlib.md5(message.encode()).hexdigest()[:12],
                                      "errorMessage": message, "httpStatusCode": status}, **headers)

    @staticmethod
    def invalid(location: str, message: str) -> dict:
        return {"status": "ValidationError", "validationMessages": [{"message": message, "location": location}]}

    def rate_limited(self, req: Request) -> Response:
        return self.protocol_error(429, "Too many requests", **{"Retry-After": str(self.faults.retry_after)})

    def _authorised(self, header: str) -> bool:
        m = re.match(r'^\s*(?:SecretKey\s+(\S+)|Mindbox\s+secretKey="([^"]*)")\s*$', header)
        return bool(m) and (m.group(1) or m.group(2)) == self.api_key

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        m = re.match(r"^/files/exports/([\w-]+)\.csv$", req.path)
        if m and req.method == "GET":
            with self._state_lock:
                export = self.exports.get(m.group(1))
                return Response(200, export["file"], "text/csv; charset=utf-8") if export and "file" in export \
                    else Response(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        if req.path != "/v3/operations/sync" or req.method != "POST":
            return self.protocol_error(404, "Not found")
        if not self._authorised(req.headers.get("authorization", "")):
            return self.protocol_error(401, "Authorization required: the secret key is missing or wrong")
        if req.query.get("endpointId") != self.endpoint_id:
            return self.protocol_error(404, "Endpoint not found")
        kind = self.operations.get(str(req.query.get("operation")))
        if kind is None:
            return self.protocol_error(404, "Operation not found")
        if not self.limiter.allow(self.endpoint_id):
            return self.rate_limited(req)
        try:
            body = json.loads(req.body or b"")
        except ValueError:
            return self.protocol_error(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return self.protocol_error(400, "Request body must be a JSON object")
        txn = req.query.get("transactionId")
        fingerprint = hashlib.sha256(req.body).hexdigest()
        with self._state_lock:
            if txn:
                seen = self.transactions.get((str(req.query["operation"]), txn))
                if seen is not None:
                    if seen[0] != fingerprint:
                        return self.protocol_error(409, "transactionId was already used for a different request")
                    return seen[1]
            answer = {"import": self.import_customer, "segment": self.change_segment, "export": self.export}[kind](body, req)
            resp = answer if isinstance(answer, Response) else Response.json(200, answer)
            if txn and resp.status == 200:
                self.transactions[(str(req.query["operation"]), txn)] = (fingerprint, resp)
            if kind != "export" and self.lose_answers_next > 0:
                self.lose_answers_next -= 1
                return self.server_error(503)
        return resp

    def _find(self, customer: dict) -> dict | None:
        """The first customer (in creation order) holding one of the ids, else the first holding the
        e-mail or the phone."""
        hits = [self._first.get(("id", k, v)) for k, v in (customer.get("ids") or {}).items()]
        if not any(h is not None for h in hits):
            email, phone = _email(customer.get("email")), _phone(customer.get("mobilePhone"))
            hits = [self._first.get(("email", email)) if email else None, self._first.get(("phone", phone)) if phone else None]
        found = [h for h in hits if h is not None]
        return self.customers[min(found)] if found else None

    def _keys(self, c: dict) -> set[tuple]:
        keys = {("id", k, v) for k, v in c["ids"].items()}
        if c.get("email"):
            keys.add(("email", c["email"]))
        if c.get("mobilePhone"):
            keys.add(("phone", c["mobilePhone"]))
        return keys

    def _index(self, pos: int, before: set[tuple]) -> None:
        """Customer `pos` changed from holding `before`: keys it gained point here if it is the first
        holder; a key it lost that pointed here moves to the next holder, if any."""
        after = self._keys(self.customers[pos])
        for key in after - before:
            if self._first.get(key, pos) >= pos:
                self._first[key] = pos
        for key in before - after:
            if self._first.get(key) == pos:
                nxt = next((i for i, c in enumerate(self.customers) if key in self._keys(c)), None)
                if nxt is None:
                    del self._first[key]
                else:
                    self._first[key] = nxt

    def _check(self, customer: Any) -> dict | None:
        if not isinstance(customer, dict):
            return self.invalid("/customer", "Клиент не передан")
        if customer.get("email") not in (None, "") and not _email(customer["email"]):
            return self.invalid("/customer/email", "Неверный формат email")
        if customer.get("mobilePhone") not in (None, "") and not _phone(customer["mobilePhone"]):
            return self.invalid("/customer/mobilePhone", "Неверный формат мобильного телефона")
        if not (customer.get("email") or customer.get("mobilePhone") or customer.get("ids")):
            return self.invalid("/customer", "Не передан ни один идентификатор клиента")
        return None

    def import_customer(self, body: dict, req: Request) -> dict:
        customer = body.get("customer")
        problem = self._check(customer)
        if problem:
            return problem
        subs = customer.get("subscriptions") or []
        for i, s in enumerate(subs):
            if not isinstance(s, dict) or s.get("pointOfContact") not in POINTS_OF_CONTACT:
                return self.invalid(f"/customer/subscriptions/{i}/pointOfContact", "Неизвестный канал подписки")
        found = self._find(customer)
        status = "Changed" if found else "Created"
        if found is None:
            found = {"mindboxId": len(self.customers) + 1, "ids": {}, "subscriptions": {}}
            self.customers.append(found)
        held = self._keys(found)
        if _email(customer.get("email")):
            found["email"] = _email(customer["email"])
        if _phone(customer.get("mobilePhone")):
            found["mobilePhone"] = _phone(customer["mobilePhone"])
        for key in ("firstName", "lastName", "middleName", "birthDate"):
            if customer.get(key):
                found[key] = customer[key]
        found["ids"].update({k: str(v) for k, v in (customer.get("ids") or {}).items() if v not in (None, "")})
        self._index(found["mindboxId"] - 1, held)
        for s in subs:
            slot = (s.get("brand") or "", s["pointOfContact"])
            if s.get("valueByDefault") and slot in found["subscriptions"]:
                continue  # a default never overrides the customer's own state
            found["subscriptions"][slot] = bool(s.get("isSubscribed", True))
        found["actions"] = found.get("actions", 0) + 1
        return {"status": "Success", "customer": {"processingStatus": status, **_public(found)}}

    def change_segment(self, body: dict, req: Request) -> dict:
        customer = body.get("customer")
        problem = self._check(customer)
        if problem:
            return problem
        changes = body.get("customerSegmentations")
        if not isinstance(changes, list) or not changes:
            return self.invalid("/customerSegmentations", "Не передана сегментация")
        found = self._find(customer)
        for i, ch in enumerate(changes):
            seg_id = ((ch or {}).get("segmentation") or {}).get("ids", {}).get("externalId")
            if not seg_id:
                return self.invalid(f"/customerSegmentations/{i}/segmentation", "Не указан внешний идентификатор сегментации")
            if found is None:
                if ch.get("segment"):
                    return self.invalid("/customer", "Клиент не найден")
                continue
            members = self.segmentations.setdefault(seg_id, {})
            segment = ((ch.get("segment") or {}).get("ids") or {}).get("externalId")
            if segment:
                members[found["mindboxId"]] = segment
            else:
                members.pop(found["mindboxId"], None)
        if found is not None:
            found["actions"] = found.get("actions", 0) + 1
        return {"status": "Success", "customer": {"processingStatus": "Found" if found else "NotFound"}}

    def export(self, body: dict, req: Request) -> dict:
        if body.get("exportId"):
            export = self.exports.get(str(body["exportId"]))
            if export is None:
                return self.invalid("/exportId", "Экспорт не найден")
            export["polls"] += 1
            if export["polls"] < self.export_polls:
                return {"status": "Success", "exportResult": {"processingStatus": "NotReady"}}
            if "file" not in export:
                export["file"] = self._file(export["segmentation"])
            host = req.headers.get("host", "127.0.0.1")
            return {"status": "Success", "exportResult": {"processingStatus": "Ready",
                                                          "urls": [f"http://{host}/files/exports/{export['id']}.csv"]}}
        seg_id = ((body.get("segmentation") or {}).get("ids") or {}).get("externalId")
        if seg_id not in self.segmentations:
            return self.invalid("/segmentation", "Сегментация не найдена")
        export_id = f"exp-{len(self.exports) + 1}"
        self.exports[export_id] = {"id": export_id, "segmentation": seg_id, "polls": 0}
        return {"status": "Success", "exportId": export_id}

    def _file(self, seg_id: str) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["mindboxId", "email", "mobilePhone"])
        by_id = {c["mindboxId"]: c for c in self.customers}
        for cid in sorted(self.segmentations.get(seg_id, {})):
            writer.writerow([cid, by_id[cid].get("email", ""), by_id[cid].get("mobilePhone", "")])
        return out.getvalue().encode("utf-8")

    # --- control ------------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        m = re.match(r"^/_emulator/segments/([^/]+)/(members|clean)$", req.path)
        with self._state_lock:
            if req.path == "/_emulator/customers":
                return Response.json(200, [{**_public(c), "actions": c.get("actions", 0)} for c in self.customers])
            if m and m.group(2) == "members":
                by_id = {c["mindboxId"]: c for c in self.customers}
                return Response.json(200, {"segmentation": m.group(1), "exists": m.group(1) in self.segmentations,
                                           "members": [{k: by_id[i].get(k) for k in ("mindboxId", "email", "mobilePhone")}
                                                       for i in sorted(self.segmentations.get(m.group(1), {}))]})
            if m and req.method == "POST":
                removed = len(self.segmentations.get(m.group(1), {}))
                self.segmentations.get(m.group(1), {}).clear()
                return Response.json(200, {"removed": removed})
            if req.path == "/_emulator/customers/unsubscribe" and req.method == "POST":
                knobs = json.loads(req.body or b"{}")
                found = self._find(knobs)
                if found is None:
                    return Response.json(404, {"error": "no such customer"})
                found["subscriptions"][(knobs.get("brand") or "", knobs.get("pointOfContact", "Email"))] = False
                return Response.json(200, {"ok": True})
        return None


def _email(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if EMAIL.match(text) else ""


def _phone(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits if 10 <= len(digits) <= 15 else ""


def _public(c: dict) -> dict:
    """A customer as operations answer it: subscriptions as a list, ids with the mindboxId."""
    out = {k: v for k, v in c.items() if k not in ("subscriptions", "mindboxId", "ids", "actions")}
    out["ids"] = {"mindboxId": c["mindboxId"], **c.get("ids", {})}
    out["subscriptions"] = [{**({"brand": b} if b else {}), "pointOfContact": p, "isSubscribed": v}
                            for (b, p), v in sorted(c.get("subscriptions", {}).items())]
    return out


def main() -> None:
    cli(lambda a: MindboxEmulator(api_key=a.api_key), __doc__.splitlines()[0], 8308)


if __name__ == "__main__":
    main()
