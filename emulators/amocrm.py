"""amoCRM (Kommo) API v4 emulator, seeded from the demo generator (`demo/sources/amocrm.py`).

Faithful to the documented and recorded behaviour (../shared/specs/sources.md §2, the fixtures in
shared/fixtures/amocrm and the official PHP library):
- `Authorization: Bearer <token>`; without it or with another token, 401
  `application/problem+json` `{"title":"Unauthorized","type":"https://httpstatus.es/401",
  "status":401,"detail":...}` as the real API answers (amocrm/amocrm-api-php#333);
- `GET /api/v4/contacts`, `/api/v4/contacts/{id}`, `/api/v4/leads` (`with=contacts` adds
  `_embedded.contacts[{id,is_main}]`), `/api/v4/account`;
- `page` (1-based) and `limit` (default 50; more than 250 is cut to 250, "api/v4 returns no more
  than 250 records on one page", amocrm-api-php#210); the HAL envelope `_page`,
  `_links.self`/`_links.next` (no `next` on the last page), `_embedded.<entity>`;
- HTTP 204 with an empty body past the last page, on an empty result and for an unknown id;
- `filter[updated_at][from]`/`[to]` (Unix seconds, inclusive) or `filter[updated_at]=<ts>`,
  `filter[id][]`, `order[updated_at|created_at|id]=asc|desc`; success `application/hal+json`,
  errors `application/problem+json` with `validation-errors` on a 400;
- 7 requests per second per token; beyond that 429 with a body that is not JSON (the PHP library
  raises TooManyRequests for exactly that) and `Retry-After` (sent by us; unconfirmed upstream).
- `next_on_last_full_page=True` models a server that offers `next` after a full last page, whose
  request then gets the 204 (whether amoCRM does so is unconfirmed; clients must cope either way).
- `api_filter_enabled=False` models an account without the "API filtering" feature, where the
  real API silently ignores `filter[...]` (see `/api/v4/account?with=is_api_filter_enabled`).

Besides the base class's control endpoints:
  POST /_emulator/touch  {"contacts": [ids] | N, "leads": [ids] | N}: managers edited these
                          records now (updated_at moves past every existing value); answers the ids.

Run it alone:  python -m emulators.amocrm --data data/demo --port 8304 --api-key demo-key
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from emulators.base import Emulator, RateLimiter, Request, Response, cli

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
HAL = "application/hal+json; charset=utf-8"
PROBLEM = "application/problem+json; charset=utf-8"
ORDER_FIELDS = ("updated_at", "created_at", "id")
SUBDOMAIN = "linzy"
TOO_MANY = (b"<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests"
            b"</h1></center><hr><center>nginx</center></body></html>")


def _problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, "detail": detail, **extra}
    return Response(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), PROBLEM)


def _validation(path: str, detail: str) -> Response:
    return _problem(400, "Bad Request", "Request validation failed",
                    **{"validation-errors": [{"request_id": "0", "errors": [
                        {"code": "InvalidType", "path": path, "detail": detail}]}]})


def _num(value: Any) -> int:
    """Sort key that tolerates the broken records tests plant (a real id is always an int)."""
    return value if isinstance(value, int) else -1


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class AmoCRMEmulator(Emulator):
    name = "amocrm"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", rate_per_second: int = 7,
                 api_filter_enabled: bool = True, next_on_last_full_page: bool = False):
        super().__init__()
        data_dir = Path(data_dir) / "amocrm"
        self.token = api_key
        self.limiter = RateLimiter(rate_per_second, 1.0)
        self.api_filter_enabled = api_filter_enabled
        self.next_on_last_full_page = next_on_last_full_page
        self._data_lock = threading.Lock()
        self._version = 0  # moved on by every change to the rows (touch)
        self._selections: dict[tuple, tuple] = {}  # listing -> (rows, len, version, filtered and ordered)
        self.contacts = sorted(_read_jsonl(data_dir / "contacts.jsonl"), key=lambda r: r["id"])
        self.leads = sorted(_read_jsonl(data_dir / "leads.jsonl"), key=lambda r: r["id"])
        self._leads_by_contact: dict[int, list[int]] = {}
        for lead in self.leads:
            for link in lead.get("_embedded", {}).get("contacts", []):
                self._leads_by_contact.setdefault(link["id"], []).append(lead["id"])

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:
            return _problem(401, "Unauthorized", "Неверный логин или пароль")
        if not self.limiter.allow(token):
            return self.rate_limited(req)
        if req.method != "GET":
            return _problem(405, "Method Not Allowed", "Method not allowed")
        path = req.path.rstrip("/")
        if path == "/api/v4/account":
            return self._account(req)
        if path == "/api/v4/contacts":
            return self._list(req, "contacts", self.contacts, self._render_contact)
        if path == "/api/v4/leads":
            return self._list(req, "leads", self.leads, self._render_lead)
        for entity, rows, render in (("contacts", self.contacts, self._render_contact),
                                     ("leads", self.leads, self._render_lead)):
            prefix = f"/api/v4/{entity}/"
            if path.startswith(prefix):
                return self._get_one(req, path[len(prefix):], rows, render)
        return _problem(404, "Not Found", "Not found")

    def rate_limited(self, req: Request) -> Response:
        return Response(429, TOO_MANY, "text/html", {"Retry-After": str(self.faults.retry_after)})

    def _base(self, req: Request) -> str:
        """Where page links point: the address the client used, so it can follow `next`."""
        host = req.headers.get("host", "127.0.0.1")
        return f"http://{host}"

    # Where a record's own links point: the account's address, as amoCRM writes it, not the
    # loopback port this emulator happens to listen on (that would make the same record look
    # changed to the warehouse every time the demo restarts).
    ACCOUNT_URL = f"https://{SUBDOMAIN}.amocrm.ru"

    def _account(self, req: Request) -> Response:
        body: dict[str, Any] = {
            "id": 31_337_001, "name": "Линзы — отдел продаж", "subdomain": SUBDOMAIN,
            "created_at": 1_640_995_200, "created_by": 8_100_001, "updated_at": 1_700_000_000, "updated_by": 8_100_001,
            "current_user_id": 8_100_001, "country": "RU", "currency": "RUB", "currency_symbol": "₽",
            "customers_mode": "disabled", "is_unsorted_on": True, "is_loss_reason_enabled": True,
            "is_helpbot_enabled": False, "is_technical_account": False, "contact_name_display_order": 1,
            "_links": {"self": {"href": f"{self.ACCOUNT_URL}/api/v4/account"}},
        }
        with_ = str(req.query.get("with", "")).split(",")
        if "is_api_filter_enabled" in with_:
            body["is_api_filter_enabled"] = self.api_filter_enabled
        if "version" in with_:
            body["version"] = 35
        return Response(200, json.dumps(body, ensure_ascii=False).encode("utf-8"), HAL)

    # --- lists --------------------------------------------------------------------------------
    def _paging(self, req: Request) -> tuple[int, int] | Response:
        try:
            page = int(req.query.get("page", 1))
        except (TypeError, ValueError):
            return _validation("page", "This value should be of type int.")
        try:
            limit = int(req.query.get("limit", DEFAULT_LIMIT))
        except (TypeError, ValueError):
            return _validation("limit", "This value should be of type int.")
        if page < 1:
            return _validation("page", "This value should be greater than or equal to 1.")
        if limit < 1:
            return _validation("limit", "This value should be greater than or equal to 1.")
        return page, min(limit, MAX_LIMIT)

    def _filter(self, req: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
        if not self.api_filter_enabled:
            return rows
        q = req.query
        bounds = {}
        for key, op in (("filter[updated_at][from]", "from"), ("filter[updated_at][to]", "to"), ("filter[updated_at]", "eq")):
            if key in q:
                try:
                    bounds[op] = int(q[key])
                except (TypeError, ValueError):
                    return _validation("filter.updated_at", "This value should be of type int.")
        if bounds:
            lo = bounds.get("from", bounds.get("eq"))
            hi = bounds.get("to", bounds.get("eq"))
            rows = [r for r in rows
                    if (lo is None or _num(r.get("updated_at")) >= lo) and (hi is None or _num(r.get("updated_at")) <= hi)]
        ids = q.get("filter[id][]", q.get("filter[id]"))
        if ids is not None:
            wanted = {int(x) for x in ([ids] if isinstance(ids, str) else ids) if str(x).isdigit()}
            rows = [r for r in rows if r.get("id") in wanted]
        return rows

    def _order(self, req: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
        for field in ORDER_FIELDS:
            direction = req.query.get(f"order[{field}]")
            if direction is None:
                continue
            if direction not in ("asc", "desc"):
                return _validation(f"order.{field}", "The value you selected is not a valid choice.")
            # ties broken by id so a page boundary is stable between requests
            return sorted(rows, key=lambda r: (_num(r.get(field)), _num(r.get("id"))), reverse=direction == "desc")
        return rows

    def _list(self, req: Request, entity: str, rows: list[dict[str, Any]], render) -> Response:
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        with self._data_lock:
            selected = self._selection(req, entity, rows)
            if isinstance(selected, Response):
                return selected
            chunk = [copy.deepcopy(r) for r in selected[(page - 1) * limit: page * limit]]
            has_next = len(selected) > page * limit or (self.next_on_last_full_page and len(selected) == page * limit)
        if not chunk:
            return Response(204, b"", HAL)
        with_ = set(str(req.query.get("with", "")).split(","))
        base = self._base(req)
        params = {k: v for k, v in req.query.items() if k not in ("page", "limit")}
        links = {"self": {"href": self._href(base, entity, params, page, limit)}}
        if has_next:
            links["next"] = {"href": self._href(base, entity, params, page + 1, limit)}
        body = {"_page": page, "_links": links, "_embedded": {entity: [render(r, self.ACCOUNT_URL, with_) for r in chunk]}}
        return Response(200, json.dumps(body, ensure_ascii=False).encode("utf-8"), HAL)

    def _selection(self, req: Request, entity: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
        """The filtered and ordered rows a listing pages through, kept for its next pages (under
        the data lock). Filtering and sorting every row again for each page made a whole read
        quadratic: 58 s of this emulator's CPU to serve 250,000 contacts at 1 M people, against
        1.3 s at 100,000. A kept selection is used only for the same rows list, length, filter
        switch and data version (`touch` moves it on)."""
        key = (entity, self.api_filter_enabled,
               tuple(sorted((k, str(v)) for k, v in req.query.items() if k.startswith(("filter", "order")))))
        kept = self._selections.get(key)
        if kept is not None and kept[0] is rows and kept[1] == len(rows) and kept[2] == self._version:
            return kept[3]
        selected = self._filter(req, rows)
        if isinstance(selected, Response):
            return selected
        selected = self._order(req, selected)
        if isinstance(selected, Response):
            return selected
        if len(self._selections) >= 8:
            self._selections.pop(next(iter(self._selections)))
        self._selections[key] = (rows, len(rows), self._version, selected)
        return selected

    @staticmethod
    def _href(base: str, entity: str, params: dict[str, Any], page: int, limit: int) -> str:
        pairs = [(k, x) for k, v in params.items() for x in (v if isinstance(v, list) else [v])]
        return f"{base}/api/v4/{entity}?" + urlencode([*pairs, ("limit", limit), ("page", page)])

    def _get_one(self, req: Request, raw_id: str, rows: list[dict[str, Any]], render) -> Response:
        if not raw_id.isdigit():
            return _problem(404, "Not Found", "Not found")
        wanted = int(raw_id)
        with self._data_lock:
            match = next((copy.deepcopy(r) for r in rows if r["id"] == wanted), None)
        if match is None:
            return Response(204, b"", HAL)
        with_ = set(str(req.query.get("with", "")).split(","))
        return Response(200, json.dumps(render(match, self.ACCOUNT_URL, with_), ensure_ascii=False).encode("utf-8"), HAL)

    # --- rendering ----------------------------------------------------------------------------
    def _render_contact(self, row: dict[str, Any], base: str, with_: set[str]) -> dict[str, Any]:
        row["_links"] = {"self": {"href": f"{base}/api/v4/contacts/{row['id']}"}}
        embedded = row.setdefault("_embedded", {"tags": [], "companies": []})
        if "leads" in with_:
            embedded["leads"] = [{"id": lid, "_links": {"self": {"href": f"{base}/api/v4/leads/{lid}"}}}
                                 for lid in self._leads_by_contact.get(row["id"], [])]
        return row

    def _render_lead(self, row: dict[str, Any], base: str, with_: set[str]) -> dict[str, Any]:
        row["_links"] = {"self": {"href": f"{base}/api/v4/leads/{row['id']}"}}
        embedded = row.setdefault("_embedded", {})
        contacts = embedded.pop("contacts", [])
        if "contacts" in with_:
            embedded["contacts"] = [{**c, "_links": {"self": {"href": f"{base}/api/v4/contacts/{c['id']}"}}} for c in contacts]
        return row

    # --- control ------------------------------------------------------------------------------
    def touch(self, entity: str, which: list[int] | int) -> list[int]:
        """Simulate managers editing records: their updated_at becomes now (and never earlier than
        anything already there, since the demo data may be dated ahead of the clock)."""
        rows = self.contacts if entity == "contacts" else self.leads
        with self._data_lock:
            targets = rows[: int(which)] if isinstance(which, int) else [r for r in rows if r["id"] in set(which)]
            stamp = max([int(time.time())] + [r["updated_at"] for r in rows]) + 1
            for r in targets:
                r["updated_at"] = stamp
            self._version += 1
            return [r["id"] for r in targets]

    def control(self, req: Request) -> Response | None:
        if req.path == "/_emulator/touch" and req.method == "POST":
            knobs = json.loads(req.body or b"{}")
            touched = {k: self.touch(k, v) for k, v in knobs.items() if k in ("contacts", "leads")}
            return Response.json(200, touched)
        return None


def main() -> None:
    cli(lambda a: AmoCRMEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8304)


if __name__ == "__main__":
    main()
