"""Unisender API emulator (the same API Selzy serves), seeded from the demo generator.

Follows ../shared/specs/destinations.md §1: `/{ru|en}/api/{method}?format=json` with `api_key`,
form-encoded POST with bracket arrays (`field_names[0]`, `data[0][0]`); success
`{"result": ...}` and errors `{"error": ..., "code": ..., "result": ""}` in an HTTP 200 body;
1200 calls per minute per key (`api_call_limit_exceeded_for_api_key` beyond that); importContacts
takes at most 500 rows and screens role addresses; contacts who unsubscribed stay unsubscribed
whatever an import says (only the person can undo it); `exclude` takes a contact out of lists
without marking it unsubscribed; `async/exportContacts` returns a task polled with
`async/getTaskResult`, whose `file_to_download` serves the CSV.

Campaign statistics (served from the generator's `campaigns`, `campaign_deliveries` and
`visited_links` files when present): `getCampaigns(from, to, limit 1..100 default 50, offset)`
filtered on `start_time` (UTC text); `getCampaignCommonStats(campaign_id)` counted from the
deliveries; `getCampaignDeliveryStats(campaign_id, changed_since)` answers
`{"fields": ["email", "send_result", "last_update"], "data": [[...]]}`, `changed_since` inclusive;
`getVisitedLinks(campaign_id, group)` answers `{"fields": ["email", "url", "request_time", "ip"
(, "count")], "data": [...]}`. The journal also records the non-personal paging and filter
parameters of these calls, so tests can see what an incremental run asked for.

Activation (importContacts): rows keyed by `email` or `phone`; `<kind>_list_ids` adds to lists, except
a contact unsubscribed there or account-wide, which is refused in `log` with the reason;
`<kind>_excluded_list_ids` takes contacts out of lists in bulk (§1: exclusion is not an unsubscribe).

Read back what it received:
  GET  /_emulator/lists                   lists with their active member counts
  GET  /_emulator/lists/<id>/members      the active members (e-mails and phones) of one list
  POST /_emulator/lists/<id>/empty        empty a list as a person would in the UI (or /delete it)
  POST /_emulator/contacts/<addr>/unsubscribe   the person unsubscribes through a letter's link
  GET /_emulator/requests                the request journal (no keys, no personal values)

Run it alone:  python -m emulators.unisender --data data/demo --port 8302
"""

from __future__ import annotations

import csv
import html
import io
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

import pandas as pd

from emulators.base import SECRET_PARAMS, Emulator, RateLimiter, Request, Response, cli

ROLE_LOCALPARTS = {"info", "sales", "admin", "support", "no-reply", "noreply", "office", "abuse", "postmaster"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?\d{10,15}$")
MAX_IMPORT_ROWS = 500
EXPORT_FIELDS = ["email", "email_status", "email_availability", "email_add_time", "email_list_ids",
                 "email_unsubscribed_list_ids", "email_excluded_list_ids", "Name"]
PHONE_EXPORT_FIELDS = ["phone", "phone_status", "phone_list_ids", "phone_unsubscribed_list_ids", "phone_excluded_list_ids"]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Non-personal parameters worth keeping in the journal (values, not just names).
LOGGED_PARAMS = ("campaign_id", "changed_since", "from", "to", "limit", "offset", "group")
# send_result values (third-party client code and Unisender's status pages), grouped for
# getCampaignCommonStats.
SENT = {"ok_sent", "ok_delivered", "ok_read", "ok_link_visited", "ok_unsubscribed", "ok_spam_folder", "ok_fbl",
        "err_user_unknown", "err_user_inactive", "err_mailbox_full", "err_spam_rejected", "err_spam_folder",
        "err_delivery_failed", "err_will_retry", "err_domain_inactive", "err_dest_invalid", "err_not_available"}
DELIVERED = {"ok_delivered", "ok_read", "ok_link_visited", "ok_unsubscribed", "ok_spam_folder", "ok_fbl"}
READ = {"ok_read", "ok_link_visited", "ok_unsubscribed", "ok_fbl"}


@dataclass
class Contact:
    email: str
    status: str = "new"  # new | active | inactive | unsubscribed
    add_time: str = ""
    lists: set[int] = field(default_factory=set)
    unsubscribed_lists: set[int] = field(default_factory=set)
    excluded_lists: set[int] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class UnisenderEmulator(Emulator):
    name = "unisender"

    def __init__(self, data_dir: str | Path | None, api_key: str = "demo-key", calls_per_minute: int = 1200):
        super().__init__()
        self.api_key = api_key
        self.limiter = RateLimiter(calls_per_minute, 60.0)
        self.contacts: dict[str, Contact] = {}
        self.phones: dict[str, Contact] = {}  # SMS contacts, keyed by the phone as sent
        self.lists: dict[int, str] = {}
        self.tasks: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.campaigns: list[dict] = []  # sorted by start_time, then id
        self.deliveries: dict[int, list[list]] = {}  # campaign id -> [email, send_result, last_update]
        self.visited_links: dict[int, list[list]] = {}  # campaign id -> [email, url, request_time, ip, count]
        self._state_lock = threading.Lock()
        if data_dir is not None:
            self._seed(Path(data_dir) / "unisender")

    def _seed(self, folder: Path) -> None:
        import json

        for item in json.loads((folder / "lists.json").read_text(encoding="utf-8")):
            self.lists[int(item["id"])] = item["title"]
        frame = pd.read_parquet(folder / "contacts.parquet")
        ids = lambda s: {int(x) for x in s.split(",") if x}  # noqa: E731
        for r in frame.itertuples(index=False):
            email = r.email.strip().lower()
            self.contacts[email] = Contact(email, r.email_status, r.email_add_time, ids(r.email_list_ids),
                                           ids(r.email_unsubscribed_list_ids), set(), {"Name": r.Name})
        if (folder / "campaigns.parquet").exists():
            self._seed_campaigns(folder)

    def _seed_campaigns(self, folder: Path) -> None:
        frame = pd.read_parquet(folder / "campaigns.parquet")
        host = "https://cp.unisender.com/ru/v5/campaigns/"
        self.campaigns = sorted(({**{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()},
                                  "stats_url": f"{host}{r['id']}/stats"} for r in frame.to_dict("records")),
                                key=lambda c: (c["start_time"], c["id"]))
        deliveries = pd.read_parquet(folder / "campaign_deliveries.parquet")
        for cid, part in deliveries.groupby("campaign_id", sort=False):
            self.deliveries[int(cid)] = part[["email", "send_result", "last_update"]].values.tolist()
        links = pd.read_parquet(folder / "visited_links.parquet")
        for cid, part in links.groupby("campaign_id", sort=False):
            rows = part[["email", "url", "request_time", "ip", "count"]].values.tolist()
            self.visited_links[int(cid)] = [[e, u, t, ip, int(n)] for e, u, t, ip, n in rows]

    # --- envelope -------------------------------------------------------------------------------
    @staticmethod
    def ok(result) -> Response:
        return Response.json(200, {"result": result})

    @staticmethod
    def error(code: str, message: str) -> Response:
        return Response.json(200, {"error": html.escape(message), "code": code, "result": ""})

    def rate_limited(self, req: Request) -> Response:
        return self.error("api_call_limit_exceeded_for_api_key", "API call limit exceeded for this API key, try again later")

    def _record(self, req: Request, resp: Response) -> None:
        entry = {
            "at": time.time(), "method": req.method, "path": req.path,
            "query": {k: v for k, v in req.query.items() if k not in SECRET_PARAMS},
            "form_keys": sorted({k.split("[")[0] for k in req.form if k not in SECRET_PARAMS}),
            "params": {k: req.param(k) for k in LOGGED_PARAMS if req.param(k) is not None},
            "status": resp.status,
        }
        with self._lock:
            self.journal.append(entry)

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        if req.path.startswith("/download/"):
            data = self.files.get(req.path.rsplit("/", 1)[1])
            return Response(200, data, "text/csv; charset=utf-8") if data is not None else Response.json(404, {"error": "not found"})
        m = re.fullmatch(r"/(ru|en)/api/([A-Za-z/]+)", req.path)
        if not m:
            return Response(404, b"<html><body>Not Found</body></html>", "text/html")
        method = m.group(2)
        key = req.param("api_key")
        if key != self.api_key:
            return self.error("invalid_api_key", "Invalid API key")
        if not self.limiter.allow(key):
            return self.rate_limited(req)
        handler = {
            "getLists": self.get_lists, "createList": self.create_list, "importContacts": self.import_contacts,
            "exclude": self.exclude, "unsubscribe": self.unsubscribe,
            "async/exportContacts": self.export_contacts, "async/getTaskResult": self.get_task_result,
            "getCampaigns": self.get_campaigns, "getCampaignCommonStats": self.get_campaign_common_stats,
            "getCampaignDeliveryStats": self.get_campaign_delivery_stats, "getVisitedLinks": self.get_visited_links,
        }.get(method)
        if handler is None:
            return self.error("unknown_method", f"Unknown method: {method}")
        with self._state_lock:
            return handler(req)

    def get_lists(self, req: Request) -> Response:
        return self.ok([{"id": i, "title": t} for i, t in sorted(self.lists.items())])

    def create_list(self, req: Request) -> Response:
        title = (req.param("title") or "").strip()
        if not title:
            return self.error("invalid_arg", "Parameter title is required")
        if title in self.lists.values():
            return self.error("invalid_arg", f"List with title \"{title}\" already exists")
        new_id = max(self.lists, default=0) + 1
        self.lists[new_id] = title
        return self.ok({"id": new_id})

    def _book(self, kind: str) -> dict[str, Contact]:
        return self.contacts if kind == "email" else self.phones

    def import_contacts(self, req: Request) -> Response:
        """Rows keyed by `email`, else `phone`. `<kind>_list_ids` subscribes to lists (never a contact
        the account holds as unsubscribed: that row is logged with the reason and left alone);
        `<kind>_excluded_list_ids` takes the contact out of those lists (a bulk `exclude`);
        `<kind>_status` is honoured only towards unsubscribed; other columns are fields, and an empty
        cell empties the field, as in Unisender."""
        params = {**req.query, **req.form}
        names = [v for k, v in sorted(((k, v) for k, v in params.items() if k.startswith("field_names[")),
                                      key=lambda kv: int(kv[0][12:-1]))]
        if not names:
            return self.error("invalid_arg", "field_names is required")
        if "email" not in names and "phone" not in names:
            return self.error("invalid_arg", "field_names must contain email or phone")
        kind = "email" if "email" in names else "phone"
        rows: dict[int, dict[int, str]] = {}
        for k, v in params.items():
            mm = re.fullmatch(r"data\[(\d+)\]\[(\d+)\]", k)
            if mm:
                rows.setdefault(int(mm.group(1)), {})[int(mm.group(2))] = v
        if len(rows) > MAX_IMPORT_ROWS:
            return self.error("invalid_arg", f"Too many rows: {len(rows)}, the limit is {MAX_IMPORT_ROWS}")
        book = self._book(kind)
        result = {"total": len(rows), "inserted": 0, "updated": 0, "deleted": 0, "new_emails": 0, "invalid": 0, "log": []}
        for index in sorted(rows):
            row = {names[c]: val for c, val in rows[index].items() if c < len(names)}
            key = (row.get(kind) or "").strip().lower()
            if kind == "email" and not EMAIL_RE.match(key):
                result["invalid"] += 1
                result["log"].append({"index": index, "code": "invalid_email", "message": "Invalid e-mail address"})
                continue
            if kind == "phone" and not PHONE_RE.match(key):
                result["invalid"] += 1
                result["log"].append({"index": index, "code": "invalid_phone", "message": "Invalid phone number"})
                continue
            if kind == "email" and key.split("@")[0] in ROLE_LOCALPARTS:
                result["invalid"] += 1
                result["log"].append({"index": index, "code": "role_address", "message": "Role address is not allowed"})
                continue
            if row.get("delete") == "1":
                if book.pop(key, None):
                    result["deleted"] += 1
                continue
            excluded = {int(x) for x in (row.get(f"{kind}_excluded_list_ids") or "").split(",") if x.strip()}
            list_ids = {int(x) for x in (row.get(f"{kind}_list_ids") or "").split(",") if x.strip()}
            contact = book.get(key)
            if contact is None and excluded and not list_ids:
                continue  # an exclusion of someone the account does not hold: nothing to do
            if contact is None:
                contact = book[key] = Contact(key, "new", _now())
                result["inserted"] += 1
                result["new_emails"] += kind == "email"
            else:
                result["updated"] += 1
            for lid in excluded:
                contact.lists.discard(lid)
                contact.excluded_lists.add(lid)
            wanted = row.get(f"{kind}_status")
            if wanted == "unsubscribed":
                contact.status = "unsubscribed"
            elif wanted in ("new", "active", "inactive") and contact.status != "unsubscribed":
                contact.status = wanted
            unknown = list_ids - set(self.lists)
            if unknown:
                result["log"].append({"index": index, "code": "invalid_list", "message": f"Unknown list ids {sorted(unknown)}"})
                list_ids -= unknown
            refused = list_ids & contact.unsubscribed_lists if contact.status != "unsubscribed" else list_ids
            if refused:
                result["log"].append({"index": index, "code": "unsubscribed",
                                      "message": "Contact has unsubscribed and can only be re-subscribed by "
                                                 "confirming through the activation link"})
            for lid in list_ids - refused:
                contact.lists.add(lid)
                contact.excluded_lists.discard(lid)
            for name, val in row.items():
                if name not in (kind, "delete", "tags") and not name.startswith(("email_", "phone_")):
                    contact.fields[name] = val
        return self.ok(result)

    def _remove(self, req: Request, unsubscribe: bool) -> Response:
        if req.param("contact_type") not in ("email", "phone"):
            return self.error("invalid_arg", "contact_type must be email or phone")
        email = (req.param("contact") or "").strip().lower()
        contact = self._book(req.param("contact_type")).get(email)
        if contact is None:
            return self.error("unspecified", f'Contact "{email}" not found')
        raw = req.param("list_ids")
        targets = {int(x) for x in raw.split(",") if x.strip()} if raw else set(self.lists)
        for lid in targets:
            contact.lists.discard(lid)
            (contact.unsubscribed_lists if unsubscribe else contact.excluded_lists).add(lid)
        if unsubscribe and not raw:
            contact.status = "unsubscribed"
        return self.ok({})

    def exclude(self, req: Request) -> Response:
        return self._remove(req, unsubscribe=False)

    def unsubscribe(self, req: Request) -> Response:
        return self._remove(req, unsubscribe=True)

    def export_contacts(self, req: Request) -> Response:
        params = {**req.query, **req.form}
        fields = [v for k, v in params.items() if k.startswith("field_names[")] or EXPORT_FIELDS
        unknown = [f for f in fields if f not in EXPORT_FIELDS + PHONE_EXPORT_FIELDS]
        if unknown:
            return self.error("invalid_arg", f"Unknown field_names: {', '.join(unknown)}")
        list_id = params.get("list_id")
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(fields)
        if "phone" in fields and "email" not in fields:
            for c in self.phones.values():
                if list_id and int(list_id) not in (c.lists | c.unsubscribed_lists | c.excluded_lists):
                    continue
                values = {"phone": c.email, "phone_status": c.status, "phone_list_ids": ",".join(map(str, sorted(c.lists))),
                          "phone_unsubscribed_list_ids": ",".join(map(str, sorted(c.unsubscribed_lists))),
                          "phone_excluded_list_ids": ",".join(map(str, sorted(c.excluded_lists)))}
                writer.writerow([values.get(f, "") for f in fields])
        for c in (self.contacts.values() if "email" in fields else ()):
            if list_id and int(list_id) not in (c.lists | c.unsubscribed_lists | c.excluded_lists):
                continue
            values = {
                "email": c.email, "email_status": c.status, "email_availability": "available",
                "email_add_time": c.add_time, "email_list_ids": ",".join(map(str, sorted(c.lists))),
                "email_unsubscribed_list_ids": ",".join(map(str, sorted(c.unsubscribed_lists))),
                "email_excluded_list_ids": ",".join(map(str, sorted(c.excluded_lists))),
                "Name": c.fields.get("Name", ""),
            }
            writer.writerow([values.get(f, "") for f in fields])
        task = str(uuid.uuid4())
        self.files[task + ".csv"] = buf.getvalue().encode("utf-8")
        self.tasks[task] = {"polls": 0}
        return self.ok({"task_uuid": task, "status": "new"})

    def get_task_result(self, req: Request) -> Response:
        task = req.param("task_uuid")
        if task not in self.tasks:
            return self.error("invalid_arg", f"Task {task} not found")
        state = self.tasks[task]
        state["polls"] += 1
        if state["polls"] < 2:  # the real export takes a while: the first poll sees it processing
            return self.ok({"task_uuid": task, "status": "processing"})
        host = req.headers.get("host", "127.0.0.1")
        return self.ok({"task_uuid": task, "status": "completed", "file_to_download": f"http://{host}/download/{task}.csv"})

    # --- campaign statistics --------------------------------------------------------------------
    @staticmethod
    def _time_arg(req: Request, name: str) -> tuple[str | None, Response | None]:
        """A `YYYY-MM-DD hh:mm:ss` (UTC) argument, normalised for text comparison."""
        raw = req.param(name)
        if raw in (None, ""):
            return None, None
        try:
            return datetime.strptime(raw, TIME_FORMAT).strftime(TIME_FORMAT), None
        except (TypeError, ValueError):
            return None, UnisenderEmulator.error("invalid_arg", f"Parameter {name} must be in format YYYY-MM-DD hh:mm:ss")

    def _campaign(self, req: Request) -> tuple[int | None, Response | None]:
        raw = req.param("campaign_id")
        try:
            cid = int(raw)
        except (TypeError, ValueError):
            return None, self.error("invalid_arg", "Parameter campaign_id is required and must be an integer")
        if not any(c["id"] == cid for c in self.campaigns):
            return None, self.error("invalid_arg", f"Campaign {cid} not found")
        return cid, None

    def get_campaigns(self, req: Request) -> Response:
        start, bad = self._time_arg(req, "from")
        end, bad2 = self._time_arg(req, "to")
        if bad or bad2:
            return bad or bad2
        try:
            limit = int(req.param("limit", 50))
            offset = int(req.param("offset", 0))
        except (TypeError, ValueError):
            return self.error("invalid_arg", "limit and offset must be integers")
        if not 1 <= limit <= 100:
            return self.error("invalid_arg", "Parameter limit must be in the range 1..100")
        if offset < 0:
            return self.error("invalid_arg", "Parameter offset must be 0 or more")
        chosen = [c for c in self.campaigns if (start is None or c["start_time"] >= start) and (end is None or c["start_time"] <= end)]
        return self.ok(chosen[offset:offset + limit])

    def get_campaign_common_stats(self, req: Request) -> Response:
        cid, bad = self._campaign(req)
        if bad:
            return bad
        results = [r[1] for r in self.deliveries.get(cid, [])]
        links = self.visited_links.get(cid, [])
        read_unique = sum(r in READ for r in results) + len({e for e, *_ in links} - {
            e for e, r, _ in self.deliveries.get(cid, []) if r in READ})
        return self.ok({
            "total": len(results), "sent": sum(r in SENT for r in results),
            "delivered": sum(r in DELIVERED for r in results), "read_unique": read_unique,
            "read_all": read_unique + sum(n - 1 for *_, n in links), "clicked_unique": len({e for e, *_ in links}),
            "clicked_all": sum(n for *_, n in links), "unsubscribed": results.count("ok_unsubscribed"),
            "spam": results.count("ok_fbl"),
        })

    def get_campaign_delivery_stats(self, req: Request) -> Response:
        cid, bad = self._campaign(req)
        if bad:
            return bad
        since, bad = self._time_arg(req, "changed_since")
        if bad:
            return bad
        rows = [list(r) for r in self.deliveries.get(cid, []) if since is None or r[2] >= since]
        return self.ok({"fields": ["email", "send_result", "last_update"], "data": rows})

    def get_visited_links(self, req: Request) -> Response:
        cid, bad = self._campaign(req)
        if bad:
            return bad
        rows = self.visited_links.get(cid, [])
        if str(req.param("group", "0")) == "1":
            return self.ok({"fields": ["email", "url", "request_time", "ip", "count"], "data": [list(r) for r in rows]})
        # Ungrouped: one row per visit, the repeats a little later than the first.
        flat = []
        for email, url, at, ip, n in rows:
            first = datetime.strptime(at, TIME_FORMAT)
            flat += [[email, url, (first + timedelta(minutes=7 * i)).strftime(TIME_FORMAT), ip] for i in range(n)]
        return self.ok({"fields": ["email", "url", "request_time", "ip"], "data": flat})

    # --- read back ----------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        if req.path == "/_emulator/lists":
            with self._state_lock:
                counts = {lid: 0 for lid in self.lists}
                for c in [*self.contacts.values(), *self.phones.values()]:
                    if c.status != "unsubscribed":
                        for lid in c.lists:
                            counts[lid] = counts.get(lid, 0) + 1
                return Response.json(200, [{"id": i, "title": t, "active_members": counts.get(i, 0)} for i, t in sorted(self.lists.items())])
        m = re.fullmatch(r"/_emulator/lists/(\d+)/members", req.path)
        if m:
            lid = int(m.group(1))
            with self._state_lock:
                members = sorted(c.email for c in [*self.contacts.values(), *self.phones.values()]
                                 if lid in c.lists and c.status != "unsubscribed")
            return Response.json(200, members)
        m = re.fullmatch(r"/_emulator/lists/(\d+)/(empty|delete)", req.path)
        if m and req.method == "POST":  # a list emptied or deleted outside the CDP, by hand in the UI
            lid = int(m.group(1))
            with self._state_lock:
                for c in [*self.contacts.values(), *self.phones.values()]:
                    c.lists.discard(lid)
                if m.group(2) == "delete":
                    self.lists.pop(lid, None)
            return Response.json(200, {"ok": True})
        m = re.fullmatch(r"/_emulator/contacts/(.+)/unsubscribe", req.path)
        if m and req.method == "POST":  # the person clicks "unsubscribe" in a letter
            with self._state_lock:
                key = unquote(m.group(1)).strip().lower()
                contact = self._book("email" if "@" in key else "phone").get(key)
                if contact is None:
                    return Response.json(404, {"error": "no such contact"})
                contact.status = "unsubscribed"
                contact.unsubscribed_lists |= contact.lists
                contact.lists.clear()
            return Response.json(200, {"ok": True})
        return None


def main() -> None:
    cli(lambda a: UnisenderEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8302)


if __name__ == "__main__":
    main()
