"""Bitrix24 REST emulator (incoming webhook), seeded from the demo generator's `bitrix24/` files.

Faithful to the documented behaviour (../shared/specs/sources.md §3, apidocs.bitrix24.com, and the
recorded answers in ../shared/fixtures/bitrix24/):
- Webhook URLs `/rest/<user_id>/<webhook_code>/<method>[.json][/]`; the code is `--api-key` and
  the user id is fixed at 1 (`WEBHOOK_USER_ID`). A wrong code or user answers 401
  `NO_AUTH_FOUND` / "Wrong authorization data" (the documented system error).
- Parameters from the query string, a form body or a JSON body, PHP-style brackets
  (`select[]=ID`, `filter[>DATE_MODIFY]=…`, `order[ID]=ASC`); top-level names in any case.
- `crm.contact.list`, `crm.deal.list`: 50 rows a page, `start` offset, `next` while rows remain,
  `total`; `start=-1` skips the count (no `next`, `total` 0). The default `select` is `*` + `UF_*`,
  which leaves out the multi-fields `PHONE`/`EMAIL`: they come only when named. Filter prefixes
  `>= > <= < = != ! @ !@ %`; multi-fields match exactly.
- A multi-field with no entries is left out of the record (the `HAS_PHONE`/`HAS_EMAIL` flags say
  whether to expect it).
- `crm.contact.get`, `crm.deal.get`: every field, multi-fields included; a bad id is a 400 with an
  empty `error` and "ID is not defined or invalid.", a missing record "Not found".
- `batch`: at most 50 `cmd[name]=method?params`, counted as one request, `halt` stops at the first
  failure, answers `{result:{result,result_error,result_total,result_next,result_time},time}` with
  PHP's habit of writing an empty or 0..n-keyed map as a JSON list. `$result[...]` references
  between commands are not emulated.
- Every answer carries the `time` block; the leaky bucket (+1 per request, drains 2/s, blocks
  above 50) answers HTTP 503 `QUERY_LIMIT_EXCEEDED` / "Too many requests", without Retry-After.

Emulator choices where the docs are silent: an unparseable date in a filter is a 400
`INVALID_ARG_VALUE`; plain HTTP is served (the real cloud requires HTTPS).

Extra control endpoint (not part of the API): `POST /_emulator/touch` with
`{"entity": "contacts"|"deals", "ids": ["11", ...], "fields": {...}}` edits records the way a
manager would and moves their `DATE_MODIFY` to now (never backwards).

Run it alone:  python -m emulators.bitrix24 --data data/demo --port 8305 --api-key demo-key
then call     http://127.0.0.1:8305/rest/1/demo-key/crm.contact.list.json?select[]=*&select[]=PHONE
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from emulators.base import Emulator, Request, Response, cli, parse_pairs

WEBHOOK_USER_ID = "1"
PAGE_SIZE = 50
BATCH_MAX = 50
PORTAL_TZ = timezone(timedelta(hours=3))
MULTI_FIELDS = ("PHONE", "EMAIL", "WEB", "IM", "LINK")
DATE_FIELDS = {"DATE_CREATE", "DATE_MODIFY", "BIRTHDATE", "CLOSEDATE", "BEGINDATE", "LAST_ACTIVITY_TIME"}
NUMBER_FIELDS = {"ID", "CONTACT_ID", "COMPANY_ID", "LEAD_ID", "ASSIGNED_BY_ID", "CREATED_BY_ID",
                 "MODIFY_BY_ID", "CATEGORY_ID", "OPPORTUNITY"}
FILTER_OPS = (">=", "<=", "!=", "!@", "=%", "%=", ">", "<", "@", "!", "%", "=")
ENTITIES = {"contact": "contacts", "deal": "deals"}


class LeakyBucket:
    """Bitrix24's request limit: each request adds 1, the level drains `rate` per second, and a
    request arriving while the level is at `capacity` is refused (refusals do not add)."""

    def __init__(self, capacity: float = 50, rate: float = 2.0):
        self.capacity, self.rate = capacity, rate
        self.level = 0.0
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self._at) * self.rate)
            self._at = now
            if self.level + 1 > self.capacity:
                return False
            self.level += 1
            return True


class BitrixError(Exception):
    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def php_params(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"filter[>DATE_MODIFY]": v, "select[]": [a, b]}` -> `{"filter": {">DATE_MODIFY": v},
    "select": [a, b]}`, as PHP's parse_str nests bracketed names. Top-level names lower-cased."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition("[")
        parts = [head.lower()] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            last = parts[-1]
            if last == "" and len(parts) > 1:
                for v in value if isinstance(value, list) else [value]:
                    node[str(len(node))] = v
            else:
                node[last] = value
    return _lists(out)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def php_array(mapping: dict[str, Any]) -> Any:
    """PHP json_encode: an empty array or one keyed 0..n-1 is a JSON list, anything else an object."""
    if list(mapping) == [str(i) for i in range(len(mapping))]:
        return list(mapping.values())
    return mapping


def _parse_date(value: Any) -> datetime:
    text = str(value).strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%d.%m.%Y %H:%M:%S"),
                  lambda t: datetime.strptime(t, "%d.%m.%Y")):
        try:
            parsed = parse(text)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=PORTAL_TZ)
    raise BitrixError(400, "INVALID_ARG_VALUE", f"Incorrect datetime value in filter: {text[:40]}")


def _typed(field: str, value: Any) -> Any:
    """A comparable form of a record's or filter's value; None sorts and compares as missing."""
    if value is None or value == "":
        return None
    if field in DATE_FIELDS:
        return _parse_date(value)
    if field in NUMBER_FIELDS:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value)


def _matches(record: dict[str, Any], key: str, wanted: Any) -> bool:
    op = next((o for o in FILTER_OPS if key.startswith(o)), "")
    field = key[len(op):].upper()
    if field in MULTI_FIELDS:  # exact match on any entry's value, whatever the prefix
        values = {str(e.get("VALUE")) for e in record.get(field) or []}
        hit = bool(values & {str(w) for w in (wanted if isinstance(wanted, list) else [wanted])})
        return not hit if op in ("!", "!=", "!@") else hit
    have = _typed(field, record.get(field))
    if op in ("@", "!@"):
        inside = have in {_typed(field, w) for w in (wanted if isinstance(wanted, list) else [wanted])}
        return inside if op == "@" else not inside
    if op in ("%", "=%", "%="):
        needle = str(wanted).strip("%").lower()
        return have is not None and needle in str(have).lower()
    want = _typed(field, wanted)
    if op in ("!", "!="):
        return have != want
    if op in ("", "="):
        return have == want
    if have is None or want is None:
        return False
    return {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}[op]


def _time_block(started: float) -> dict[str, Any]:
    finished = time.time()
    return {
        "start": started, "finish": finished, "duration": finished - started, "processing": finished - started,
        "date_start": datetime.fromtimestamp(started, PORTAL_TZ).isoformat(timespec="seconds"),
        "date_finish": datetime.fromtimestamp(finished, PORTAL_TZ).isoformat(timespec="seconds"),
        "operating_reset_at": int(started) + 600, "operating": 0,
    }


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class Bitrix24Emulator(Emulator):
    name = "bitrix24"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", bucket_capacity: float = 50,
                 drain_per_second: float = 2.0):
        super().__init__()
        data_dir = Path(data_dir) / "bitrix24"
        self.webhook_code = api_key
        self.bucket = LeakyBucket(bucket_capacity, drain_per_second)
        self.tables: dict[str, list[dict[str, Any]]] = {
            "contacts": _load(data_dir / "contacts.jsonl"),
            "deals": _load(data_dir / "deals.jsonl"),
        }
        self._data_lock = threading.Lock()
        self._selections: dict[str, list[dict[str, Any]]] = {}  # filtered+ordered rows per query
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        for entity, table in ENTITIES.items():
            self.methods[f"crm.{entity}.list"] = lambda p, t=table: self._list(t, p)
            self.methods[f"crm.{entity}.get"] = lambda p, t=table: self._get(t, p)

    def lift_rate_limit(self, limit: int) -> None:
        """The leaky bucket drains `limit` a second. Before, `--rate-limit` missed it, and a full read
        at 1 M people waited on the bucket's 2 a second: 35-40 s against 19-20 s lifted."""
        super().lift_rate_limit(limit)
        self.bucket = LeakyBucket(max(self.bucket.capacity, limit), limit)

    @property
    def contacts(self) -> list[dict[str, Any]]:
        return self.tables["contacts"]

    @property
    def deals(self) -> list[dict[str, Any]]:
        return self.tables["deals"]

    # --- HTTP ---------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        started = time.time()
        match = re.fullmatch(r"/rest/([^/]+)/([^/]+)/([A-Za-z0-9_.]+?)(?:\.json)?/?", req.path)
        if not match:
            return Response.json(404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"})
        user_id, code, method = match.groups()
        if user_id != WEBHOOK_USER_ID or code != self.webhook_code:
            return Response.json(401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"})
        if not self.bucket.allow():
            return self.rate_limited(req)
        try:
            params = self._params(req)
            if method.lower() == "batch":
                body = {"result": self._batch(params)}
            else:
                body = self.call(method.lower(), params)
        except BitrixError as exc:
            return Response.json(exc.status, exc.body())
        body["time"] = _time_block(started)
        return Response.json(200, body)

    def rate_limited(self, req: Request) -> Response:
        return Response.json(503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})

    @staticmethod
    def _params(req: Request) -> dict[str, Any]:
        params = php_params(req.query)
        if req.form:
            params.update(php_params(req.form))
        elif req.body and "json" in req.headers.get("content-type", ""):
            try:
                body = json.loads(req.body)
            except ValueError:
                raise BitrixError(400, "INVALID_REQUEST", "Request body is not valid JSON") from None
            if isinstance(body, dict):
                params.update({k.lower(): v for k, v in body.items()})
        return params

    def _record(self, req: Request, resp: Response) -> None:
        """The journal must not show the webhook code: it is the secret, and it sits in the path."""
        masked = re.sub(r"^/rest/([^/]+)/[^/]+/", r"/rest/\1/***/", req.path)
        super()._record(replace(req, path=masked), resp)

    # --- methods ------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = self.methods.get(method)
        if handler is None:
            raise BitrixError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        return handler(params)

    def _list(self, table: str, params: dict[str, Any]) -> dict[str, Any]:
        select = params.get("select") or ["*", "UF_*"]
        select = [select] if isinstance(select, str) else list(select)
        filt = params.get("filter") or {}
        order = params.get("order") or {"ID": "ASC"}
        if not isinstance(filt, dict) or not isinstance(order, dict):
            raise BitrixError(400, "INVALID_ARG_VALUE", "filter and order must be objects")
        try:
            start = int(params.get("start") or 0)
        except (TypeError, ValueError):
            start = 0
        rows = self._selection(table, filt, order)
        if start == -1:
            return {"result": [self._project(r, select) for r in rows[:PAGE_SIZE]], "total": 0}
        start = max(start, 0)
        body: dict[str, Any] = {"result": [self._project(r, select) for r in rows[start:start + PAGE_SIZE]]}
        if start + PAGE_SIZE < len(rows):
            body["next"] = start + PAGE_SIZE
        body["total"] = len(rows)
        return body

    def _selection(self, table: str, filt: dict[str, Any], order: dict[str, Any]) -> list[dict[str, Any]]:
        """Filtered and ordered rows, cached per query so paging a large table stays cheap."""
        key = json.dumps([table, filt, order], sort_keys=True, default=str)
        with self._data_lock:
            cached = self._selections.get(key)
            if cached is not None:
                return cached
            rows = [r for r in self.tables[table] if all(_matches(r, k, v) for k, v in filt.items())]
        for field, direction in reversed(list(order.items())):
            field = field.upper()
            present = [r for r in rows if _typed(field, r.get(field)) is not None]
            missing = [r for r in rows if _typed(field, r.get(field)) is None]
            present.sort(key=lambda r: _typed(field, r.get(field)), reverse=str(direction).upper() == "DESC")
            rows = present + missing
        with self._data_lock:
            if len(self._selections) > 32:
                self._selections.clear()
            self._selections[key] = rows
        return rows

    @staticmethod
    def _project(record: dict[str, Any], select: list[str]) -> dict[str, Any]:
        wanted = {str(s).upper() for s in select}
        every, custom = "*" in wanted, "UF_*" in wanted
        out = {}
        for field, value in record.items():
            if field in MULTI_FIELDS:  # named explicitly, and only when the record has entries
                keep = field in wanted and bool(value)
            elif field.startswith("UF_"):
                keep = custom or field in wanted
            else:
                keep = every or field in wanted
            if keep:
                out[field] = value
        return out

    def _get(self, table: str, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("id")
        if raw is None or not str(raw).strip().isdigit() or int(raw) <= 0:
            raise BitrixError(400, "", "ID is not defined or invalid.")
        with self._data_lock:
            found = next((r for r in self.tables[table] if r.get("ID") == str(int(raw))), None)
        if found is None:
            raise BitrixError(400, "", "Not found")
        return {"result": {k: v for k, v in found.items() if k not in MULTI_FIELDS or v}}

    def _batch(self, params: dict[str, Any]) -> dict[str, Any]:
        cmd = params.get("cmd") or {}
        if isinstance(cmd, list):
            cmd = {str(i): c for i, c in enumerate(cmd)}
        if len(cmd) > BATCH_MAX:
            raise BitrixError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        halt = str(params.get("halt", "0")).lower() in ("1", "true", "y")
        result, errors, totals, nexts, times = {}, {}, {}, {}, {}
        for name, command in cmd.items():
            started = time.time()
            method, _, query = str(command).partition("?")
            try:
                if method.strip().lower() == "batch":
                    raise BitrixError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
                answer = self.call(method.strip().lower(), php_params(parse_pairs(query)))
            except BitrixError as exc:
                errors[name] = exc.body()
                if halt:
                    break
                continue
            result[name] = answer["result"]
            if "total" in answer:
                totals[name] = answer["total"]
            if "next" in answer:
                nexts[name] = answer["next"]
            times[name] = _time_block(started)
        return {"result": php_array(result), "result_error": php_array(errors), "result_total": php_array(totals),
                "result_next": php_array(nexts), "result_time": php_array(times)}

    # --- control --------------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        if req.path != "/_emulator/touch" or req.method != "POST":
            return None
        spec = json.loads(req.body or b"{}")
        table = spec.get("entity", "contacts")
        if table not in self.tables:
            return Response.json(400, {"error": f"unknown entity {table!r}"})
        ids = {str(i) for i in spec.get("ids", [])}
        stamp = self.touch(table, ids, spec.get("fields") or {})
        return Response.json(200, {"touched": len(ids), "DATE_MODIFY": stamp})

    def touch(self, table: str, ids: set[str], fields: dict[str, Any] | None = None) -> str:
        """Edit records now: apply `fields` and move DATE_MODIFY past every existing value."""
        with self._data_lock:
            latest = max((_parse_date(r["DATE_MODIFY"]) for r in self.tables[table] if r.get("DATE_MODIFY")),
                         default=datetime.now(PORTAL_TZ))
            stamp = max(datetime.now(PORTAL_TZ).replace(microsecond=0), latest + timedelta(seconds=1))
            text = stamp.astimezone(PORTAL_TZ).isoformat(timespec="seconds")
            for record in self.tables[table]:
                if record.get("ID") in ids:
                    record.update(fields or {})
                    record["DATE_MODIFY"] = text
            self._selections.clear()
        return text


def main() -> None:
    cli(lambda a: Bitrix24Emulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8305)


if __name__ == "__main__":
    main()
