"""VK Ads API emulator: remarketing users lists, as ../shared/specs/destinations.md §5 and the
VK Ads API docs (ads.vk.com/doc/api; Markdown mirror metapeka/vk-ads-api-docs) describe them.

- `POST /api/v2/oauth2/token.json` (form): `grant_type=client_credentials` with `client_id` and
  `client_secret` (the emulator's `--api-key`), or `grant_type=refresh_token`. Answers
  `{"access_token", "token_type": "bearer", "scope", "expires_in": "86400", "refresh_token"}`.
  At most 5 tokens exist per client and account, expired or not; the sixth request is 403 until
  `POST /api/v2/oauth2/token/delete.json` (same credentials) deletes them. Refreshing replaces the
  access token (the old one stops working).
- Every other call needs `Authorization: Bearer <token>`; 401 `{"code": "invalid_token" |
  "expired_token", "message"}` with a `WWW-Authenticate` header otherwise.
- `GET /api/v3/remarketing/users_lists.json[?_q=<name>&limit&offset]` → `{"count", "offset",
  "limit", "items"}` (limit default 20, at most 50); `GET|POST|DELETE
  /api/v3/remarketing/users_lists/<id>.json` read, rename (204) and delete (204; 404; 409 while a
  segment uses the list).
- `POST /api/v3/remarketing/users_lists.json` (multipart `file`, `name`, `type`, optional `base`):
  a new list of 2,000–5,000,000 unique lines (`not_enough_ids`/`too_many_ids`), or with
  `base=<id>` / `base=-<id>` a diff of 25–5,000,000 lines that adds to / removes from list <id>
  (same type, `type_mismatch`; never based on a diff, `unallowed_value`; unknown base, `not_found`).
  Lines are plain values or MD5 sums (`phones`: digits with the country code; `emails`: an
  address); a bad line is `{"line_number", "line", "error_code"}` in the answer's `error` list and
  the rest is taken (`invalid_phone`, `invalid_email`, `duplicated_user_id`). Files over 128 MB: 413.
- Status: `receiving → received → mapping → mapped → writing → ready`, moved on by reads
  (`steps_per_read`); `matched_ids_count` is a deterministic share of the ids (`match_share`).
- `POST /api/v2/remarketing/segments.json` with `relations: [{"object_type":
  "remarketing_users_list", "params": {"source_id": <list id>, "type": "positive"}}]` makes a
  segment that uses a list (so deleting the list is 409); `DELETE
  /api/v2/remarketing/segments/<id>.json` removes it.
- Rate limits per user, per resource and operation, in calendar seconds, hours and days, reported on
  every answer as `X-RateLimit-{RPS,Hourly,Daily}-{Limit,Remaining}`; over a limit: 429. Defaults are
  the docs' example (users lists: read 200 an hour, create 10 an hour); `GET /api/v2/throttling.json`
  reports them.

Assumed (not in the docs read): the bodies of a 429 and of the 403 for the token limit.

Read back what it holds:
  GET /_emulator/users_lists              every list (deleted ones too) with its counts
  GET /_emulator/users_lists/<id>/ids     the exact ids a list holds, sorted
  GET /_emulator/requests                 the journal (no tokens, no ids)

Run it alone:  python -m emulators.vk_ads --data data/demo --port 8311 --api-key demo-key
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.base import Emulator, Request, Response, cli
from emulators.multipart import form_parts

V3_LISTS = "/api/v3/remarketing/users_lists"
TYPES = ("ok", "mm", "phones", "emails", "device_id", "android_id", "advertising_id", "idfa", "dmp_id", "dmp_top",
         "vk", "mac", "mparticle", "human")
STATUSES = ("receiving", "received", "mapping", "mapped", "writing", "ready")
MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
LINE_RULES = {
    "phones": (re.compile(r"^\d{10,15}$"), "invalid_phone"),
    "emails": (re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$"), "invalid_email"),
}
MAX_FILE = 128 * 1024 * 1024
RESOURCE = "REMARKETINGUSERSLIST"


def _moscow_now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")  # the API's datetimes are Europe/Moscow; close enough here


@dataclass
class UsersList:
    id: int
    name: str
    type: str
    base: int
    ids: set[str]
    entries_count: int
    created: str = field(default_factory=_moscow_now)
    updated: str = field(default_factory=_moscow_now)
    status: str = "receiving"
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Token:
    client_id: str
    access: str
    refresh: str
    expires_at: float


class VkAdsEmulator(Emulator):
    name = "vk_ads"

    def __init__(self, api_key: str = "demo-key", *, client_id: str | None = None, token_ttl: int = 86400,
                 max_tokens: int = 5, match_share: float = 0.5, steps_per_read: int = 2,
                 min_list: int = 2000, min_diff: int = 25, max_lines: int = 5_000_000,
                 limits: dict[str, tuple[int, int, int]] | None = None):
        super().__init__()
        self.client_secret, self.client_id = api_key, client_id  # client_id None: any id is accepted
        self.token_ttl, self.max_tokens = token_ttl, max_tokens
        self.match_share, self.steps_per_read = match_share, steps_per_read
        self.min_list, self.min_diff, self.max_lines = min_list, min_diff, max_lines
        # (per second, per hour, per day) per operation on the users-lists resource
        self.limits = {"READ": (20, 200, 2000), "CREATE": (5, 10, 100), "UPDATE": (5, 100, 1000), **(limits or {})}
        self.tokens: list[Token] = []
        self.lists: dict[int, UsersList] = {}
        self.segments: dict[int, dict[str, Any]] = {}
        self.counts: dict[tuple[str, str, int], int] = {}
        self._next_id = 2_500_000
        self._state_lock = threading.Lock()

    # --- envelope ---------------------------------------------------------------------------
    @staticmethod
    def fail(status: int, code: str, message: str = "", **fields: Any) -> Response:
        error: dict[str, Any] = {"code": code}
        if message:
            error["message"] = message
        if fields:
            error["fields"] = fields
        return Response.json(status, {"error": error})

    def rate_limited(self, req: Request) -> Response:
        return Response.json(429, {"error": {"code": "too_many_requests", "message": "Rate limit exceeded"}},
                             **{"Retry-After": str(self.faults.retry_after), "X-RateLimit-RPS-Remaining": "0"})

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- auth -------------------------------------------------------------------------------
    def _token_endpoint(self, req: Request) -> Response:
        grant = req.param("grant_type")
        client_id, secret = req.param("client_id", ""), req.param("client_secret", "")
        if not client_id or secret != self.client_secret or (self.client_id and client_id != self.client_id):
            return Response.json(401, {"code": "invalid_client", "message": "Invalid client id or secret provided"})
        if req.path.endswith("/token/delete.json"):
            self.tokens = [t for t in self.tokens if t.client_id != client_id]
            return Response(204, b"")
        if grant == "refresh_token":
            token = next((t for t in self.tokens if t.refresh == req.param("refresh_token")), None)
            if token is None:
                return Response.json(401, {"code": "invalid_grant", "message": "Unknown refresh token"})
            token.access, token.expires_at = secrets.token_hex(16), time.time() + self.token_ttl
        elif grant == "client_credentials":
            if sum(t.client_id == client_id for t in self.tokens) >= self.max_tokens:
                return Response.json(403, {"code": "token_limit_exceeded",
                                           "message": f"No more than {self.max_tokens} tokens may exist for this "
                                                      "client and user; delete them with /api/v2/oauth2/token/delete.json"})
            token = Token(client_id, secrets.token_hex(16), secrets.token_hex(16), time.time() + self.token_ttl)
            self.tokens.append(token)
        else:
            return Response.json(400, {"code": "unsupported_grant_type", "message": f"Unsupported grant_type {grant!r}"})
        return Response.json(200, {"access_token": token.access, "token_type": "bearer", "scope": "create_ads,read_ads",
                                   "expires_in": str(self.token_ttl), "refresh_token": token.refresh})

    def _authorised(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        token = next((t for t in self.tokens if header == f"Bearer {t.access}"), None)
        if token is None:
            code, message = "invalid_token", "Unknown access token"
        elif token.expires_at < time.time():
            code, message = "expired_token", "Access token is expired"
        else:
            return None
        return Response.json(401, {"code": code, "message": message},
                             **{"WWW-Authenticate": f'Bearer realm="api", error="{code}", error_description="{message}"'})

    # --- limits -----------------------------------------------------------------------------
    def _limit_headers(self, op: str, spend: bool) -> tuple[bool, dict[str, str]]:
        now = time.time()
        windows = (("RPS", int(now)), ("Hourly", int(now // 3600)), ("Daily", int(now // 86400)))
        headers: dict[str, str] = {}
        allowed = all(self.counts.get((op, label, slot), 0) < limit
                      for (label, slot), limit in zip(windows, self.limits[op]))
        for (label, slot), limit in zip(windows, self.limits[op]):
            if allowed and spend:
                self.counts[(op, label, slot)] = self.counts.get((op, label, slot), 0) + 1
            headers[f"X-RateLimit-{label}-Limit"] = str(limit)
            headers[f"X-RateLimit-{label}-Remaining"] = str(max(0, limit - self.counts.get((op, label, slot), 0)))
        return allowed, headers

    # --- routing ----------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        with self._state_lock:
            if req.path in ("/api/v2/oauth2/token.json", "/api/v2/oauth2/token/delete.json") and req.method == "POST":
                return self._token_endpoint(req)
            if not req.path.startswith("/api/"):
                return Response.json(404, {"error": {"code": "not_found"}})
            refused = self._authorised(req)
            if refused:
                return refused
            if req.path == "/api/v2/throttling.json":
                return self.throttling()
            if req.path.startswith("/api/v2/remarketing/segments"):
                return self.segments_api(req)
            m = re.fullmatch(V3_LISTS + r"(?:/(\d+))?\.json", req.path)
            if not m:
                return Response.json(404, {"error": {"code": "not_found", "message": f"Unknown resource {req.path}"}})
            op = {"GET": "READ", "POST": "UPDATE" if m.group(1) else "CREATE"}.get(req.method, "UPDATE")
            allowed, headers = self._limit_headers(op, spend=True)
            if not allowed:
                resp = Response.json(429, {"error": {"code": "too_many_requests",
                                                     "message": f"Rate limit exceeded for {RESOURCE} {op}"}})
            elif m.group(1) is None:
                resp = self.collection(req) if req.method == "GET" else self.upload(req) if req.method == "POST" else \
                    Response.json(405, {"error": {"code": "method_not_allowed"}})
            else:
                resp = self.one(req, int(m.group(1)))
            resp.headers.update(headers)
            return resp

    def throttling(self) -> Response:
        out: dict[str, Any] = {}
        for op in self.limits:
            _, headers = self._limit_headers(op, spend=False)
            out[op] = {"limits": {"1": int(headers["X-RateLimit-RPS-Limit"]), "3600": int(headers["X-RateLimit-Hourly-Limit"]),
                                  "86400": int(headers["X-RateLimit-Daily-Limit"])},
                       "remaining": {"1": int(headers["X-RateLimit-RPS-Remaining"]),
                                     "3600": int(headers["X-RateLimit-Hourly-Remaining"]),
                                     "86400": int(headers["X-RateLimit-Daily-Remaining"])}}
        return Response.json(200, {RESOURCE: {"v3": out}})

    # --- lists ------------------------------------------------------------------------------
    def matched(self, value: str) -> bool:
        return hashlib.sha1(value.encode()).digest()[0] < int(self.match_share * 256)

    def _read(self, item: UsersList) -> None:
        if item.status in STATUSES and item.status != "ready":
            item.status = STATUSES[min(len(STATUSES) - 1, STATUSES.index(item.status) + self.steps_per_read)]

    def view(self, item: UsersList) -> dict[str, Any]:
        return {"id": item.id, "name": item.name, "type": item.type, "status": item.status, "created": item.created,
                "updated": item.updated, "base": item.base, "entries_count": item.entries_count,
                "ids_count": len(item.ids), "matched_ids_count": sum(self.matched(v) for v in item.ids),
                "has_history": bool(item.history)}

    def collection(self, req: Request) -> Response:
        try:
            limit, offset = int(req.query.get("limit", 20)), int(req.query.get("offset", 0))
        except ValueError:
            return self.fail(400, "validation_failed", fields={"limit": [{"code": "invalid_uint"}]})
        if not 1 <= limit <= 50 or offset < 0:
            return self.fail(400, "validation_failed", fields={"limit": [{"code": "invalid_value", "message": "1..50"}]})
        q = (req.query.get("_q") or "").lower()
        items = [i for i in sorted(self.lists.values(), key=lambda i: i.id) if not i.deleted and q in i.name.lower()]
        page = items[offset:offset + limit]
        for item in page:
            self._read(item)
        return Response.json(200, {"count": len(items), "offset": offset, "limit": limit, "items": [self.view(i) for i in page]})

    def one(self, req: Request, list_id: int) -> Response:
        item = self.lists.get(list_id)
        if item is None or item.deleted:
            return self.fail(404, "not_found", "The list cannot be found")
        if req.method == "GET":
            self._read(item)
            return Response.json(200, self.view(item))
        if req.method == "POST":
            try:
                name = json.loads(req.body or b"{}")["name"]
            except (ValueError, KeyError, TypeError):
                return self.fail(400, "validation_failed", fields={"name": [{"code": "required"}]})
            item.name = str(name)
            return Response(204, b"")
        if req.method == "DELETE":
            users = [s["id"] for s in self.segments.values() if list_id in s["sources"]]
            if users:
                return self.fail(409, "conflict", f"The list is used in audience configurations {users}")
            item.deleted, item.status, item.ids = True, "deleted", set()  # a deleted list holds no one
            return Response(204, b"")
        return Response.json(405, {"error": {"code": "method_not_allowed"}})

    def _lines(self, raw: bytes) -> list[str]:
        lines = [line.strip() for line in raw.decode("utf-8-sig", "replace").splitlines()]
        lines = [line for line in lines if line]
        if lines and (lines[0].lower() == "id" or lines[0].lower().startswith("id,")):  # csv with a header
            lines = [line.split(",")[0].strip() for line in lines[1:]]
        return lines

    def upload(self, req: Request) -> Response:
        if len(req.body) > MAX_FILE:
            return self.fail(413, "request_too_large", "Request body is too large")
        parts = form_parts(req) or {}
        name = parts["name"].text().strip() if "name" in parts else ""
        kind = parts["type"].text().strip() if "type" in parts else ""
        problems: dict[str, Any] = {}
        if not name:
            problems["name"] = [{"code": "required", "message": "This field is required"}]
        if kind not in TYPES:
            problems["type"] = [{"code": "invalid_choice", "message": f"Must be one of {', '.join(TYPES)}"}]
        if "file" not in parts:
            problems["file"] = [{"code": "required", "message": "This field is required"}]
        try:
            base = int(parts["base"].text()) if "base" in parts else 0
        except ValueError:
            problems["base"] = [{"code": "invalid_int"}]
            base = 0
        if problems:
            return self.fail(400, "validation_failed", **problems)
        target: UsersList | None = None
        if base:
            target = self.lists.get(abs(base))
            if target is None or target.deleted:
                return Response.json(400, {"error": {"fields": {"base": [{"code": "not_found", "message": "Unknown base list"}]}}})
            if target.base != 0:
                return Response.json(400, {"error": {"fields": {"base": [{"code": "unallowed_value",
                                                                           "message": "A diff cannot be based on another diff"}]}}})
            if target.type != kind:
                return Response.json(400, {"error": {"fields": {"type": [{"code": "type_mismatch"}]}}})
        lines = self._lines(parts["file"].data)
        rule = LINE_RULES.get(kind)
        good: list[str] = []
        seen: set[str] = set()
        errors: list[dict[str, Any]] = []
        for number, line in enumerate(lines, start=1):
            value = line.lower() if kind == "emails" or MD5.match(line) else line
            if rule and not (MD5.match(line) or rule[0].match(value)):
                errors.append({"line_number": number, "line": line, "error_code": rule[1]})
            elif value in seen:
                errors.append({"line_number": number, "line": line, "error_code": "duplicated_user_id"})
            else:
                seen.add(value)
                good.append(value)
        floor = self.min_diff if base else self.min_list
        if len(good) < floor or len(good) > self.max_lines:
            code = "not_enough_ids" if len(good) < floor else "too_many_ids"
            return Response.json(400, {"error": {"fields": {"file": [*({"line_number": e["line_number"], "line": e["line"],
                                                                        "code": e["error_code"]} for e in errors[:100]),
                                                                     {"code": code}]}}})
        item = UsersList(self._new_id(), name, kind, base, set(good), len(lines))
        self.lists[item.id] = item
        if target is not None:
            target.ids = target.ids | set(good) if base > 0 else target.ids - set(good)
            target.history.append({"created": item.created, "diff": len(good) if base > 0 else -len(good), "status": "ready"})
            target.updated, target.status = item.created, "received"
            item.ids = set(good)
        return Response.json(200, {**self.view(item), "error": errors or None})

    # --- segments (only what makes a list "used") -----------------------------------------------
    def segments_api(self, req: Request) -> Response:
        m = re.fullmatch(r"/api/v2/remarketing/segments(?:/(\d+))?\.json", req.path)
        if not m:
            return Response.json(404, {"error": {"code": "not_found"}})
        if m.group(1) is None and req.method == "POST":
            try:
                body = json.loads(req.body or b"{}")
                sources = [int(r["params"]["source_id"]) for r in body.get("relations", [])
                           if r.get("object_type") == "remarketing_users_list"]
            except (ValueError, KeyError, TypeError):
                return self.fail(400, "validation_failed", fields={"relations": [{"code": "invalid"}]})
            if not body.get("name") or not sources or any(s not in self.lists or self.lists[s].deleted for s in sources):
                return self.fail(400, "validation_failed", fields={"relations": [{"code": "not_found"}]})
            segment = {"id": self._new_id(), "name": body["name"], "sources": sources}
            self.segments[segment["id"]] = segment
            return Response.json(200, {"id": segment["id"]})
        if m.group(1) is not None and req.method == "DELETE":
            if self.segments.pop(int(m.group(1)), None) is None:
                return self.fail(404, "not_found")
            return Response(204, b"")
        return Response.json(405, {"error": {"code": "method_not_allowed"}})

    # --- read back --------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        with self._state_lock:
            if req.path == "/_emulator/users_lists":
                return Response.json(200, [{**self.view(i), "deleted": i.deleted} for i in self.lists.values()])
            m = re.fullmatch(r"/_emulator/users_lists/(\d+)/ids", req.path)
            if m:
                item = self.lists.get(int(m.group(1)))
                if item is None:
                    return Response.json(404, {"error": f"no list {m.group(1)}"})
                return Response.json(200, sorted(item.ids))
            if req.path == "/_emulator/tokens":
                return Response.json(200, {"count": len(self.tokens)})
        return None


def main() -> None:
    cli(lambda a: VkAdsEmulator(api_key=a.api_key), __doc__.splitlines()[0], 8311)


if __name__ == "__main__":
    main()
