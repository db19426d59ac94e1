"""Sendsay API v100 (JSON) emulator, seeded from the demo generator's `sendsay/` files.

What follows the documentation (sendsay.ru/api/api.html v0.232, sendsay-ru/sendsay-docs, the
official JS and Python clients):
- `POST /general/api/v100/json/<login>` with a JSON body `{"action": ..., ...}`; the key goes in
  the body as `apikey` or in the header `Authorization: sendsay apikey=<key>`.
- Errors come in the body, HTTP 200: `{"errors": [{"id": "error/auth/failed", "explain": ...}]}`.
- `{"REDIRECT": "/path"}` means "send the same request again to host + path". This account lives
  on a cluster, so every request to the general path is redirected once the clients' way;
  clients remember the new path (both official clients keep it) and cap redirects at 10.
- `stat.uni` with `select`, `filter: [{"a", "op", "v"}]`, `order`, `skip`/`first`, one area per
  query (`issue.*`, `deliv.*`, `read.*`, `click.*`, `unsub.*`), `join` + `joinby` to combine areas
  into one row per key, aggregates `count(*)`, `min(..)`, `max(..)`, `sum(..)`, and date formats
  such as `issue.dt:Ys` (seconds) and `:YD` (day).

What is modelled (shapes not found in public material; kept plain and documented here):
- `member.list` (`page` from 1, `pagesize` at most 1000) answers `{"list": [...], "page",
  "pagesize", "pages", "count"}`; each member is a flat object of datakeys: `member.id`,
  `member.email`, `member.addr_type`, `member.createdate`, `member.haslock` (on the stop-list
  "unsubscribed from all") and `member.lockdate`, the shop's anketa answers (`base.firstName`,
  `base.lastName`, `custom.phone`, `custom.sms_consent_dt`) and `-group` (list id -> "1").
- `stat.uni` answers `{"list": [[...], ...]}`, one array per row in `select` order.
- Too many requests: HTTP 429 with `Retry-After` and `{"errors": [{"id": "error/too_many_requests"}]}`
  (the official limit figure is unconfirmed; 80 requests/s here).
- Dates are account-local text `YYYY-MM-DD hh:mm:ss` (Moscow).

Destination side (what connectors/sendsay/destination.py writes; documented parts as in
../shared/specs/destinations.md §2, the rest modelled and said so):
- `group.create` (`name`, `type` list|filter, `addr_type` email|msisdn) answers `{"obj": {"id": "pl<n>",
  ...}}` (modelled envelope); `group.list` lists them; `group.clean` (`id`) empties a list group and,
  like other long actions, answers `{"track.id": N}`.
- `member.import` with `addr_type`, `newbie.confirm` and `users.list: {caption: [{datakey, mode}],
  rows}` answers `{"track.id": N}`; `track.get` (`id`) walks the status through 1 (started), 2
  (processing) to -1 (done) one poll at a time. Datakey `member.email` carries the address (a phone
  as digits for msisdn groups); `-group.<id>` set "1" puts the member in the list group, "0" takes it
  out (the member and its stop-list state stay). The finished track's `obj.result` (modelled) counts
  rows and lists refused rows by index only, no addresses: `{"rows", "added", "removed", "errors":
  [{"row", "id", "explain"}]}`.
- `member.set` (`email`, `addr_type`, `datakey: [[key, "set", value]]`, `newbie.confirm`) does one
  member at once and answers `{"member": {...}}`.
- Stop-lists (sendsay-docs `stop-lists.md`): a member on "unsubscribed from all" (`member.haslock`)
  or "blocked manually" receives nothing, even after subscribing again. How Sendsay answers a group
  write for such a member is not documented; here it is refused (`error/member/locked`, explain
  names the stop-list), so a sync can report it instead of silently holding a member who gets nothing.
- `newbie.confirm: 1` on a new member records a confirmation letter (read back at
  `/_emulator/confirmations`, counts only).
Control: `GET /_emulator/groups/<id>/members` (addresses), `POST /_emulator/groups/<id>/clean`,
`POST /_emulator/stoplist {"address", "list": "unsubscribed"|"manual"}`.

Storage: at a million people the seed is millions of stat rows, so it is held as columns (Arrow
strings, numpy integers, dates as timestamps when they are spelled canonically), and the rows of a
page are built only when the page is asked for. Seeded members are columns in member.id order;
what the API writes to them is a small overlay (datakeys per member, one flag array per group);
members created through the API are plain dicts after them. Tests inspect members through the
read-only view `members` and change the account with `add_member` and `forget_datakey`.

Run it alone:  python -m emulators.sendsay --data data/demo --port 8306
"""

from __future__ import annotations

import json
import operator
import re
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from emulators.base import Emulator, RateLimiter, Request, Response, cli, parse_pairs

DEFAULT_LOGIN = "linzy-shop"
CLUSTER = "clu180"
MAX_PAGESIZE = 1000
API_PATH = re.compile(r"^(?:/(?P<cluster>[a-z0-9]+))?/general/api/v100/json/(?P<account>[^/]+)/?$")
EXPR = re.compile(r"^(?:(?P<agg>count|min|max|sum)\((?P<inner>[^)]*)\)|(?P<plain>[a-z_.]+(?::[A-Za-z]+)?))$")
AREAS = ("issue", "deliv", "read", "click", "unsub")
OPS: dict[str, Callable] = {"==": pc.equal, "!=": pc.not_equal, ">": pc.greater, ">=": pc.greater_equal,
                            "<": pc.less, "<=": pc.less_equal}
PY_OPS: dict[str, Callable[[Any, Any], bool]] = {"==": operator.eq, "!=": operator.ne, ">": operator.gt,
                                                 ">=": operator.ge, "<": operator.lt, "<=": operator.le}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ADDR_TYPES = ("email", "msisdn")  # the address types list groups are modelled for
FORMATS = {"Ys": 19, "Ym": 16, "YH": 13, "YD": 10, "YM": 7, "YY": 4}
DT_FORMAT = "%Y-%m-%d %H:%M:%S"
EPOCH = datetime(1970, 1, 1)
REPEAT_SECONDS = 7 * 3600  # a member's repeated reads (clicks) of one issue are spelled out this far apart
ANSWERS = ("base.firstName", "base.lastName", "custom.phone", "custom.sms_consent_dt")  # absent when unanswered
MEMBER_KEYS = ("member.id", "member.email", "member.addr_type", "member.createdate", "member.haslock",
               "member.lockdate", "-group", *ANSWERS)
MEMBER_COLUMNS = {"member.id": "member_id", "member.email": "email", "member.createdate": "created",
                  "member.lockdate": "lockdate", "base.firstName": "first_name", "base.lastName": "last_name",
                  "custom.phone": "phone", "custom.sms_consent_dt": "sms_consent_dt"}
STAT_TYPES = {"issue_id": pa.int64(), "member_id": pa.int64(), "email": pa.string(), "deliv_status": pa.int64(),
              "deliv_dt": pa.string(), "first_read_dt": pa.string(), "reads": pa.int64(),
              "first_click_dt": pa.string(), "clicks": pa.int64(), "unsub_dt": pa.string()}
COUNTERS = ("members", "deliv_ok", "deliv_bad", "readed", "u_readed", "clicked", "u_clicked", "unsubed")
ISSUE_FIELDS = ("id", "name", "subject", "dt", "format", "group.gid", *COUNTERS)
CHUNK = 65536
MEMO_QUERIES, MEMO_ROWS = 8, 300_000
NOWHERE = np.empty(0, np.int64)


class StatError(ValueError):
    def __init__(self, error_id: str, explain: str):
        super().__init__(explain)
        self.error_id, self.explain = error_id, explain


class SendsayEmulator(Emulator):
    name = "sendsay"

    def __init__(self, data_dir: str | Path | None, api_key: str = "demo-key", login: str = DEFAULT_LOGIN,
                 requests_per_second: int = 80, redirect: bool = True):
        super().__init__()
        self.api_key, self.login, self.redirect = api_key, login, redirect
        self.limiter = RateLimiter(requests_per_second, 1.0)
        self.groups: list[dict[str, str]] = []
        self.issues: list[dict[str, Any]] = []  # the issue area, one dict per issue (they are few)
        self._areas: dict[str, _Area] = {}
        self._stat_memo: dict[bytes, list[pa.Array]] = {}
        self._state_lock = threading.Lock()
        self.blocked_manually: set[str] = set()
        self.tracks: dict[int, dict[str, Any]] = {}
        self.confirmations: list[dict[str, Any]] = []
        self.fail_tracks_next = 0  # the next N tracks end with status -2 (error) instead of -1
        self._seeded = 0  # members 0.._seeded-1 are columns; the API's writes to them are overlays
        self._keys = list(MEMBER_KEYS)
        self._columns: dict[str, pa.Array] = {}
        self._groups_of: dict[str, np.ndarray] = {}  # group id -> in the group, per seeded member
        self._edits: dict[int, dict[str, Any]] = {}
        self._added: list[dict[str, Any]] = []
        self._added_at: dict[str, int] = {}
        self._address_hash, self._address_pos = NOWHERE, NOWHERE  # hash(address) sorted, and the member at each
        self._seed_emails = pa.array([], pa.string())
        if data_dir is not None:
            self._seed(Path(data_dir) / "sendsay")
        else:
            self.load_stats([], [])
        self._last_id = int(pc.max(self._columns["member.id"]).as_py()) if self._seeded else 0

    @property
    def cluster_path(self) -> str:
        return f"/{CLUSTER}/general/api/v100/json/{self.login}"

    # --- data ---------------------------------------------------------------------------------
    def _seed(self, folder: Path) -> None:
        self.groups = json.loads((folder / "groups.json").read_text(encoding="utf-8"))
        by_type = {g["addr_type"]: g["id"] for g in self.groups}
        table = pq.read_table(folder / "members.parquet")
        table = table.take(pc.sort_indices(table, sort_keys=[("member_id", "ascending")]))
        self._seeded = table.num_rows
        self._columns = {key: table[column].combine_chunks() for key, column in MEMBER_COLUMNS.items()}
        for key, values in self._columns.items():
            if pa.types.is_large_string(values.type):
                self._columns[key] = values.cast(pa.string())
        self._columns["member.haslock"] = pa.array(_flags(table["locked"]).astype(np.int8))
        self._groups_of = {by_type["email"]: _flags(table["in_email_group"]),
                           by_type["msisdn"]: _flags(table["in_sms_group"])}
        emails = self._columns["member.email"]
        hashes = np.empty(self._seeded, np.int64)
        for start in range(0, self._seeded, CHUNK):
            part = emails.slice(start, CHUNK).to_pylist()
            hashes[start:start + len(part)] = [hash(_address(e, "email")) for e in part]
        order = np.argsort(hashes, kind="stable")  # equal addresses: the lowest member.id first
        self._address_hash, self._address_pos = hashes[order], order.astype(np.int32)
        self._seed_emails = emails
        issues = pd.read_parquet(folder / "issues.parquet").to_dict("records")
        self.load_stats(issues, pq.read_table(folder / "issue_member_stats.parquet"))
        pa.default_memory_pool().release_unused()  # else it keeps the seed's temporaries (~1 GB at 1 M people)

    def load_stats(self, issues: list[dict], stats: list[dict] | pd.DataFrame | pa.Table) -> None:
        """(Re)build the stat.uni areas from issue rows and per-member issue rows (the generator's
        shape, as dicts or a table); tests call it again to add an issue between runs.
        Reads and clicks come as a first date and a count per member: the areas spell them out as
        `count` events 7 hours apart, kept as their dates and the stat row each belongs to."""
        issues = issues.to_dict("records") if isinstance(issues, pd.DataFrame) else list(issues)
        if not isinstance(stats, pa.Table):
            stats = pa.Table.from_pandas(pd.DataFrame(stats, columns=list(STAT_TYPES)), preserve_index=False)
        s = {c: stats[c].combine_chunks().cast(t) for c, t in STAT_TYPES.items()}
        dt = {int(i["id"]): i["dt"] for i in issues}
        ids = np.array(sorted(dt), dtype=np.int64)
        issue_dt = pa.array([dt[i] for i in ids.tolist()], pa.string(), from_pandas=True)
        issue_id = _ints(s["issue_id"])
        found = np.searchsorted(ids, issue_id)
        known = found < len(ids)
        known[known] = ids[found[known]] == issue_id[known]
        if not known.all():
            raise KeyError(int(issue_id[~known][0]))
        issue_at = found.astype(np.int32)
        member_id, status = _narrow(_ints(s["member_id"])), _narrow(_ints(s["deliv_status"]))
        encoded = pc.dictionary_encode(s["email"], null_encoding="encode")
        email_dict, email_code = encoded.dictionary, encoded.indices.to_numpy()

        def area(rows: np.ndarray | None, dt: pa.Array, **extra: Callable) -> _Area:
            row = (lambda at: at) if rows is None else (lambda at: rows[at])
            return _Area({"member.id": lambda at: pa.array(member_id[row(at)]),
                          "member.email": lambda at: email_dict.take(pa.array(email_code[row(at)])),
                          "issue.id": lambda at: pa.array(ids[issue_at[row(at)]]),
                          "issue.dt": lambda at: issue_dt.take(pa.array(issue_at[row(at)])),
                          **extra, "dt": lambda at: _text(dt.take(pa.array(at)))},
                         ids[issue_at if rows is None else issue_at[rows]])

        def count(where: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            w = None if weights is None else weights[where]
            return np.bincount(issue_at[where], weights=w, minlength=len(ids)).astype(np.int64)

        n = len(issue_at)
        counters = {"members": count(np.ones(n, bool)), "deliv_ok": count(status == 0),
                    "deliv_bad": count(status != 0)}
        areas = {"deliv": area(None, _compact(s["deliv_dt"]), status=lambda at: pa.array(status[at]))}
        for name, first, many, total, unique in (("read", "first_read_dt", "reads", "readed", "u_readed"),
                                                 ("click", "first_click_dt", "clicks", "clicked", "u_clicked")):
            started, times = _truthy(s[first]), _ints(s[many])
            times_each = np.where(started, np.maximum(times, 0), 0)
            rows = np.repeat(np.arange(n, dtype=np.int32), times_each)
            k = np.arange(len(rows)) - np.repeat(np.cumsum(times_each) - times_each, times_each)
            seconds = _seconds(s[first], started)[rows] + k * REPEAT_SECONDS
            areas[name] = area(rows, pa.array(seconds.astype("datetime64[s]")))
            counters[total], counters[unique] = count(started, times), count(started)
        unsubscribed = _truthy(s["unsub_dt"])
        rows = np.flatnonzero(unsubscribed).astype(np.int32)
        areas["unsub"] = area(rows, _compact(s["unsub_dt"].take(pa.array(rows))))
        counters["unsubed"] = count(unsubscribed)
        issue_rows = []
        for i in issues:
            at_issue = int(np.searchsorted(ids, int(i["id"])))
            issue_rows.append({"id": int(i["id"]), "name": i["name"], "subject": i["subject"], "dt": i["dt"],
                               "format": i["format"], "group.gid": i["group"],
                               **{k: int(counters[k][at_issue]) for k in COUNTERS}})
        columns = {f: pa.array([r[f] for r in issue_rows], from_pandas=True) for f in ISSUE_FIELDS}
        areas["issue"] = _Area({f: (lambda v: lambda at: v.take(pa.array(at)))(v) for f, v in columns.items()},
                               np.array([r["id"] for r in issue_rows], dtype=np.int64))
        with self._state_lock:
            self.issues = issue_rows
            self._areas = areas
            self._stat_memo = {}

    # --- members ------------------------------------------------------------------------------
    @property
    def members(self) -> Sequence[dict[str, Any]]:
        """All members in member.list order, each built when read: copies, for looking only."""
        return _Members(self)

    def add_member(self, member: dict[str, Any]) -> None:
        """Put a member into the account as if it had been there before our syncs (e.g. one the shop
        created under its own spelling of the address), after the others and found by its address
        unless an earlier member has that address."""
        address = _address(member.get("member.email"), member.get("member.addr_type", "email"))
        self._added.append(dict(member))
        if self._find(address) is None:
            self._added_at[address] = self._seeded + len(self._added) - 1
        if isinstance(member.get("member.id"), int):
            self._last_id = max(self._last_id, member["member.id"])

    def forget_datakey(self, key: str) -> None:
        """Drop a datakey from every member, as when the account stops sending it."""
        if key in self._keys:
            self._keys.remove(key)
        for values in (*self._edits.values(), *self._added):
            values.pop(key, None)

    def _count(self) -> int:
        return self._seeded + len(self._added)

    def _rows(self, positions: Any) -> list[dict[str, Any]]:
        """Members at `positions` as the API shows them (copies); seeded ones are built from the
        columns with their edits on top."""
        positions = np.asarray(positions, dtype=np.int64)
        built = iter(self._seed_rows(positions[positions < self._seeded]))
        return [next(built) if p < self._seeded else _copy(self._added[p - self._seeded]) for p in positions.tolist()]

    def _seed_rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        if not len(positions):
            return []
        take = pa.array(positions)
        values = []
        for key in self._keys:
            if key == "-group":
                groups: list[dict[str, str]] = [{} for _ in range(len(positions))]
                for gid, flags in self._groups_of.items():
                    for i in np.flatnonzero(flags[positions]).tolist():
                        groups[i][gid] = "1"
                values.append(groups)
            elif key == "member.addr_type":
                values.append(["email"] * len(positions))
            else:
                values.append(self._columns[key].take(take).to_pylist())
        optional = [k in ANSWERS for k in self._keys]
        rows = []
        for pos, row in zip(positions.tolist(), zip(*values)):
            member = {k: v for k, v, o in zip(self._keys, row, optional) if not (o and (v is None or v == ""))}
            member.update(self._edits.get(pos, ()))
            rows.append(member)
        return rows

    def _find(self, address: str) -> int | None:
        """Position of the member Sendsay keys by `address` (the first with it, as the seed has some
        addresses twice), or None."""
        h = hash(address)
        i = int(np.searchsorted(self._address_hash, h))
        while i < len(self._address_hash) and self._address_hash[i] == h:
            pos = int(self._address_pos[i])
            if _address(self._seed_emails[pos].as_py(), "email") == address:
                return pos
            i += 1
        return self._added_at.get(address)

    def _in(self, pos: int, gid: str) -> bool:
        if pos >= self._seeded:
            return gid in self._added[pos - self._seeded].setdefault("-group", {})
        flags = self._groups_of.get(gid)
        return flags is not None and bool(flags[pos])

    def _put(self, pos: int, gid: str, member: bool) -> None:
        if pos >= self._seeded:
            groups = self._added[pos - self._seeded].setdefault("-group", {})
            if member:
                groups[gid] = "1"
            else:
                groups.pop(gid, None)
        else:
            self._groups_of.setdefault(gid, np.zeros(self._seeded, bool))[pos] = member

    def _shown(self, pos: int, key: str) -> Any:
        """One datakey of a member as `_rows` shows it (None when absent)."""
        if pos >= self._seeded:
            return self._added[pos - self._seeded].get(key)
        edits = self._edits.get(pos, {})
        if key in edits:
            return edits[key]
        value = self._columns[key][pos].as_py() if key in self._keys and key in self._columns else None
        return None if key in ANSWERS and value == "" else value

    def _set(self, pos: int, values: dict[str, Any]) -> None:
        """Datakeys written through the API; on a seeded member only those that change what it
        shows are kept (a sync rewriting the same names must not copy the seed into the overlay)."""
        if pos >= self._seeded:
            self._added[pos - self._seeded].update(values)
            return
        edits = self._edits.get(pos, {})
        changed = {k: v for k, v in values.items()
                   if k in edits or not (v is not None and v != "" and self._shown(pos, k) == v)}
        if changed:
            self._edits.setdefault(pos, {}).update(changed)

    def _group_members(self, gid: Any) -> np.ndarray:
        flags = self._groups_of.get(gid)
        seeded = np.flatnonzero(flags) if flags is not None else NOWHERE
        added = [self._seeded + i for i, m in enumerate(self._added) if gid in m.get("-group", {})]
        return np.concatenate([seeded, np.array(added, dtype=np.int64)])

    # --- envelope -----------------------------------------------------------------------------
    @staticmethod
    def errors(error_id: str, explain: str | None = None) -> Response:
        err = {"id": error_id}
        if explain is not None:
            err["explain"] = explain
        return Response.json(200, {"errors": [err]})

    def rate_limited(self, req: Request) -> Response:
        body = {"errors": [{"id": "error/too_many_requests", "explain": "request rate limit exceeded"}]}
        return Response.json(429, body, **{"Retry-After": str(self.faults.retry_after)})

    def _record(self, req: Request, resp: Response) -> None:
        """The base journal plus the action and its non-personal arguments (paging, and filters on
        ids and dates), so tests can see what an incremental run asked for."""
        body = self._body(req) or {}
        queries = body.get("join") or [body]
        filters = [[f.get("a"), f.get("op"), f.get("v")] for q in queries if isinstance(q, dict)
                   for f in q.get("filter") or [] if isinstance(f, dict) and re.search(r"\.(id|dt)(:\w+)?$", str(f.get("a")))]
        entry = {"at": time.time(), "method": req.method, "path": req.path, "status": resp.status,
                 "action": body.get("action"), "filters": filters,
                 **{k: body[k] for k in ("page", "pagesize", "skip", "first", "group") if k in body}}
        if isinstance(body.get("users.list"), dict):
            entry["rows"] = len(body["users.list"].get("rows") or [])
        with self._lock:
            self.journal.append(entry)

    @staticmethod
    def _body(req: Request) -> dict[str, Any] | None:
        """JSON body, or the official clients' form (`apiversion=100&json=1&request=<json>`)."""
        try:
            if "form-urlencoded" in req.headers.get("content-type", ""):
                raw = parse_pairs(req.body.decode("utf-8")).get("request", "")
            else:
                raw = req.body.decode("utf-8")
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None
        return body if isinstance(body, dict) else None

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        m = API_PATH.match(req.path)
        if not m or req.method != "POST":
            return Response(404, b"<html><body>Not Found</body></html>", "text/html")
        body = self._body(req)
        if body is None:
            return self.errors("error/request/json", "request body is not a JSON object")
        action = body.get("action")
        if m.group("account") == "-":
            return Response.json(200, {"pong": 1}) if action == "ping" else self.errors("error/auth/failed", "account required")
        if m.group("cluster") is None and self.redirect:
            return Response.json(200, {"REDIRECT": self.cluster_path})
        if m.group("cluster") not in (None, CLUSTER):
            return self.errors("error/redirect/wrong", "account is not on this cluster")
        key = body.get("apikey") or _header_key(req.headers.get("authorization", ""))
        if m.group("account") != self.login or key != self.api_key:
            return self.errors("error/auth/failed", "wrong login or apikey")
        if not self.limiter.allow(key):
            return self.rate_limited(req)
        handler = {"ping": self.ping, "member.list": self.member_list, "member.get": self.member_get,
                   "group.list": self.group_list, "issue.list": self.issue_list, "stat.uni": self.stat_uni,
                   "group.create": self.group_create, "group.clean": self.group_clean,
                   "member.import": self.member_import, "member.set": self.member_set,
                   "track.get": self.track_get}.get(action)
        if handler is None:
            return self.errors("error/action/unknown", f"unknown action {action!r}")
        with self._state_lock:
            answer = handler(body)
        if isinstance(answer, Response):
            return answer
        if "request.id" in body:
            answer["request.id"] = body["request.id"]
        return Response.json(200, answer)

    def ping(self, body: dict) -> dict:
        return {"pong": 1}

    def group_list(self, body: dict) -> dict:
        return {"list": [dict(g) for g in self.groups]}

    def member_list(self, body: dict) -> dict | Response:
        try:
            page, size = int(body.get("page", 1)), int(body.get("pagesize", 100))
        except (TypeError, ValueError):
            return self.errors("error/param/invalid", "page and pagesize must be integers")
        if page < 1 or not 1 <= size <= MAX_PAGESIZE:
            return self.errors("error/param/invalid", f"page starts at 1; pagesize is 1..{MAX_PAGESIZE}")
        if body.get("group"):
            members = self._group_members(body["group"])
            total, chunk = len(members), members[(page - 1) * size: page * size]
        else:
            total = self._count()
            chunk = range(min((page - 1) * size, total), min(page * size, total))
        return {"list": self._rows(chunk), "page": page, "pagesize": size, "pages": -(-total // size), "count": total}

    def member_get(self, body: dict) -> dict | Response:
        wanted = str(body.get("email", "")).strip().lower()
        for m in self.members:
            if str(m.get("member.email", "")).strip().lower() == wanted:
                return {"member": json.loads(json.dumps(m))}
        return self.errors("error/member/not_found", wanted and "member not found")

    def issue_list(self, body: dict) -> dict:
        start, end = body.get("from"), body.get("upto")
        rows = [i for i in self.issues if (not start or i["dt"][:10] >= start) and (not end or i["dt"][:10] <= end)]
        return {"list": [{"id": i["id"], "gid": i["group.gid"], "date": i["dt"]} for i in rows]}

    def stat_uni(self, body: dict) -> dict | Response:
        """An ordered query's result is kept (a few queries, as columns) for its next `skip`/`first`
        pages: a per-issue join pages 1,000 rows at a time, and working it out again for every
        page made reading an issue quadratic in its size."""
        memo_key = self._memo_key(body) if body.get("order") else None
        columns = self._stat_memo.get(memo_key) if memo_key is not None else None
        if columns is None:
            try:
                if "join" in body:
                    columns = self._join(body["join"], int(body.get("joinby", 1)))
                else:
                    columns = self._query(body)
            except StatError as exc:
                return self.errors(exc.error_id, exc.explain)
            names = body.get("select") or (body.get("join") or [{}])[0].get("select") or []
            if body.get("order"):
                columns = _order(columns, body["order"], names)
            else:  # "without order the rows come unsorted, differently each time": paging needs an order
                shuffle = pa.array(np.random.permutation(_height(columns)))
                columns = [c.take(shuffle) for c in columns]
            if memo_key is not None:
                self._stat_memo[memo_key] = columns
                while len(self._stat_memo) > 1 and (len(self._stat_memo) > MEMO_QUERIES or sum(
                        _height(c) for c in self._stat_memo.values()) > MEMO_ROWS):
                    self._stat_memo.pop(next(iter(self._stat_memo)))
        skip, first = int(body.get("skip", 0)), body.get("first")
        span = range(_height(columns))
        span = span[skip:] if first is None else span[skip: skip + int(first)]
        values = [c.slice(span.start, len(span)).to_pylist() for c in columns]
        return {"list": list(zip(*values))}  # tuples: the same JSON arrays

    @staticmethod
    def _memo_key(body: dict) -> bytes | None:
        try:
            return orjson.dumps({k: v for k, v in body.items() if k not in ("skip", "first", "request.id", "apikey")},
                                option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return None

    # --- destination side ---------------------------------------------------------------------
    def _group(self, gid: Any) -> dict[str, str] | None:
        return next((g for g in self.groups if g["id"] == gid), None)

    def group_create(self, body: dict) -> dict | Response:
        name, kind, addr_type = body.get("name"), body.get("type", "list"), body.get("addr_type", "email")
        if not isinstance(name, str) or not name.strip():
            return self.errors("error/group/name", "name is required")
        if kind not in ("list", "filter") or addr_type not in ADDR_TYPES:
            return self.errors("error/param/invalid", f"type is list|filter, addr_type one of {', '.join(ADDR_TYPES)}")
        taken = {int(g["id"][2:]) for g in self.groups if re.fullmatch(r"pl\d+", g["id"])}
        group = {"id": f"pl{max(taken, default=11000) + 1}", "name": name, "type": kind, "addr_type": addr_type}
        self.groups.append(group)
        return {"obj": dict(group)}

    def group_clean(self, body: dict) -> dict | Response:
        group = self._group(body.get("id"))
        if group is None:
            return self.errors("error/group/not_found", "no such group")
        removed = self._clean(group["id"])
        return {"track.id": self._track({"rows": 0, "added": 0, "removed": removed, "errors": []})}

    def _clean(self, gid: str) -> int:
        flags = self._groups_of.get(gid)
        removed = int(flags.sum()) if flags is not None else 0
        if flags is not None:
            flags[:] = False
        for m in self._added:
            if m.get("-group", {}).pop(gid, None) is not None:
                removed += 1
        return removed

    def _track(self, result: dict, steps: tuple[int, ...] = (1, 2, -1)) -> int:
        tid = max(self.tracks, default=5000) + 1
        if self.fail_tracks_next > 0:
            self.fail_tracks_next -= 1
            steps = (1, -2)
        self.tracks[tid] = {"steps": steps, "polls": 0, "result": result}
        return tid

    def track_get(self, body: dict) -> dict | Response:
        try:
            track = self.tracks[int(body.get("id"))]
        except (KeyError, TypeError, ValueError):
            return self.errors("error/track/not_found", "no such track")
        status = track["steps"][min(track["polls"], len(track["steps"]) - 1)]
        track["polls"] += 1
        obj = {"id": int(body["id"]), "status": status}
        if status < 0:
            obj["result"] = json.loads(json.dumps(track["result"]))
        return {"obj": obj}

    def member_import(self, body: dict) -> dict | Response:
        addr_type = body.get("addr_type", "email")
        users = body.get("users.list")
        if addr_type not in ADDR_TYPES:
            return self.errors("error/param/invalid", f"addr_type is one of {', '.join(ADDR_TYPES)}")
        if not isinstance(users, dict) or not isinstance(users.get("caption"), list) or not isinstance(users.get("rows"), list):
            return self.errors("error/param/invalid", "users.list needs caption and rows")
        keys = [c.get("datakey") if isinstance(c, dict) else None for c in users["caption"]]
        if "member.email" not in keys:
            return self.errors("error/param/invalid", "caption must carry member.email")
        if any(not isinstance(c, dict) or c.get("mode", "set") != "set" for c in users["caption"]):
            return self.errors("error/param/invalid", "caption mode: only set is modelled")
        for k in keys:
            if str(k).startswith("-group.") and self._group(str(k)[7:]) is None:
                return self.errors("error/group/not_found", f"no such group {str(k)[7:]}")
        result = {"rows": len(users["rows"]), "added": 0, "removed": 0, "errors": []}
        for i, row in enumerate(users["rows"]):
            if not isinstance(row, list) or len(row) != len(keys):
                result["errors"].append({"row": i, "id": "error/import/row", "explain": "row length differs from caption"})
                continue
            values = dict(zip(keys, row))
            err = self._write(values.pop("member.email"), addr_type, values, int(body.get("newbie.confirm") or 0), result)
            if err:
                result["errors"].append({"row": i, **err})
        return {"track.id": self._track(result)}

    def member_set(self, body: dict) -> dict | Response:
        addr_type = body.get("addr_type", "email")
        pairs = body.get("datakey") or []
        if addr_type not in ADDR_TYPES or not isinstance(pairs, list) or any(
                not isinstance(p, list) or len(p) != 3 or p[1] != "set" for p in pairs):
            return self.errors("error/param/invalid", "datakey is a list of [key, \"set\", value]")
        values = {str(k): v for k, _, v in pairs}
        for k in values:
            if k.startswith("-group.") and self._group(k[7:]) is None:
                return self.errors("error/group/not_found", f"no such group {k[7:]}")
        err = self._write(body.get("email"), addr_type, values, int(body.get("newbie.confirm") or 0),
                          {"added": 0, "removed": 0})
        if err:
            return self.errors(err["id"], err["explain"])
        pos = self._find(_address(body.get("email"), addr_type))
        member = self._rows([pos])[0] if pos is not None else None
        return {"member": json.loads(json.dumps(member)) if member else None}

    def _write(self, raw: Any, addr_type: str, values: dict[str, Any], confirm: int, counts: dict) -> dict | None:
        """Apply one member's datakeys; an error dict (id, explain: no address) or None."""
        address = _address(raw, addr_type)
        if not address:
            return {"id": "error/member/invalid", "explain": f"not a valid {addr_type} address"}
        joins = {k[7:] for k, v in values.items() if k.startswith("-group.") and str(v) == "1"}
        leaves = {k[7:] for k, v in values.items() if k.startswith("-group.") and str(v) != "1"}
        for gid in joins:
            if self._group(gid)["addr_type"] != addr_type:
                return {"id": "error/group/addr_type", "explain": f"group {gid} holds {self._group(gid)['addr_type']} addresses"}
        pos = self._find(address)
        if pos is not None and joins:
            if self._shown(pos, "member.haslock"):
                return {"id": "error/member/locked", "explain": "on the stop-list: unsubscribed from all"}
            if address in self.blocked_manually:
                return {"id": "error/member/locked", "explain": "on the stop-list: blocked manually"}
        if pos is None and address in self.blocked_manually and joins:
            return {"id": "error/member/locked", "explain": "on the stop-list: blocked manually"}
        if pos is None:
            if not joins and not any(not k.startswith("-group.") for k in values):
                return None  # leaving a group one is not in: nothing to do, nobody created
            self._last_id += 1
            member = {"member.id": self._last_id,
                      "member.email": address, "member.addr_type": addr_type,
                      "member.createdate": time.strftime("%Y-%m-%d %H:%M:%S"), "member.haslock": 0,
                      "member.lockdate": None, "-group": {}}
            pos = self._count()
            self._added.append(member)
            self._added_at[address] = pos
            if confirm:
                self.confirmations.append({"member.id": member["member.id"], "groups": sorted(joins)})
        for gid in joins:
            if not self._in(pos, gid):
                self._put(pos, gid, True)
                counts["added"] += 1
        for gid in leaves:
            if self._in(pos, gid):
                self._put(pos, gid, False)
                counts["removed"] += 1
        self._set(pos, {k: v for k, v in values.items() if not k.startswith("-group.")})
        return None

    def control(self, req: Request) -> Response | None:
        m = re.match(r"^/_emulator/groups/([^/]+)/(members|clean)$", req.path)
        with self._state_lock:
            if m and self._group(m.group(1)) is None:
                return Response.json(404, {"error": f"no group {m.group(1)}"})
            if m and m.group(2) == "members":
                held = sorted(x["member.email"] for x in self._rows(self._group_members(m.group(1))))
                return Response.json(200, {"group": m.group(1), "members": held})
            if m and req.method == "POST":
                return Response.json(200, {"group": m.group(1), "removed": self._clean(m.group(1))})
            if req.path == "/_emulator/stoplist" and req.method == "POST":
                knobs = json.loads(req.body or b"{}")
                address = _address(knobs.get("address"), knobs.get("addr_type", "email"))
                if knobs.get("list") == "manual":
                    self.blocked_manually.add(address)
                elif (pos := self._find(address)) is not None:
                    self._set(pos, {"member.haslock": 1, "member.lockdate": time.strftime("%Y-%m-%d %H:%M:%S")})
                else:
                    return Response.json(404, {"error": "no such member"})
                return Response.json(200, {"ok": True})
            if req.path == "/_emulator/confirmations":
                return Response.json(200, {"count": len(self.confirmations)})
        return None

    # --- stat.uni -----------------------------------------------------------------------------
    def _query(self, query: dict) -> list[pa.Array]:
        """One query's result as columns, in `select` order."""
        select = query.get("select")
        if not isinstance(select, list) or not select:
            raise StatError("error/stat/uni/select", "select is required")
        parsed = [_parse(e) for e in select]
        filters = [(_parse(f.get("a", "")), f.get("op"), f.get("v")) for f in query.get("filter") or []]
        areas = {p[1] for p in parsed if p[1]} | {f[0][1] for f in filters}
        if len(areas) != 1:
            raise StatError("error/stat/uni/areas", "one query reads one area; use join to combine areas")
        name = areas.pop()
        area = self._areas[name]
        at = None
        for (_, _, field, fmt), op, value in filters:
            # an issue's rows straight from the index (the filter itself still runs below)
            if op == "==" and fmt is None and field == ("id" if name == "issue" else "issue.id"):
                try:
                    at = area.of_issue(int(value))
                except (TypeError, ValueError, OverflowError):
                    at = NOWHERE
                break
        if at is None:
            at = np.arange(area.size)
        for (_, _, field, fmt), op, value in filters:
            if op not in OPS:
                raise StatError("error/stat/uni/filter", f"unsupported op {op!r}")
            if len(at):  # fields are checked on rows, so a filter that leaves none checks no more
                at = at[_matches(area.column(name, field, fmt, at), op, value)]
        if not len(at):
            return [pa.nulls(0)] * len(parsed)
        plain = {i: area.column(name, p[2], p[3], at) for i, p in enumerate(parsed) if p[0] is None}
        if len(plain) == len(parsed):
            return list(plain.values())
        return _aggregate(parsed, plain, lambda p: area.column(name, p[2], p[3], at), len(at))

    def _join(self, queries: list[dict], joinby: int) -> list[pa.Array]:
        """One row per key (the first `joinby` columns) in order of first appearance; each query's
        columns come from its first row for the key that has any value."""
        results, widths = [], []
        for q in queries:
            results.append(self._query(q))
            widths.append(len(q["select"]) - joinby)
        if joinby < 0 or min(widths, default=0) < 0:
            raise StatError("error/stat/uni/join", "joinby is more than a query selects")
        filled = [r for r in results if _height(r)]
        if not filled:
            return [pa.nulls(0)] * (joinby + sum(widths))
        keys = []
        for j in range(joinby):
            parts = [r[j].cast(pa.int64()) if pa.types.is_integer(r[j].type) else r[j] for r in filled]
            if len({p.type for p in parts}) > 1:
                raise StatError("error/stat/uni/join", "the queries' key columns differ in type")
            keys.append(pa.concat_arrays(parts))
        group = _group_ids(keys, sum(_height(r) for r in filled))
        firsts = np.unique(group, return_index=True)[1]
        out = [k.take(pa.array(firsts)) for k in keys]
        offset = 0
        for result in results:
            height, values = _height(result), result[joinby:]
            if not height:
                out += [pa.nulls(len(firsts))] * len(values)
                continue
            mine, offset = group[offset:offset + height], offset + height
            valued = np.zeros(height, bool)
            for v in values:
                valued |= pc.is_valid(v).to_numpy(zero_copy_only=False)
            chosen = np.full(len(firsts), -1)
            found, first = np.unique(mine[valued], return_index=True)
            chosen[found] = np.flatnonzero(valued)[first]
            take = pa.array(chosen, mask=chosen < 0)
            out += [v.take(take) for v in values]
        return out


class _Members(Sequence):
    def __init__(self, emulator: SendsayEmulator):
        self._e = emulator

    def __len__(self) -> int:
        return self._e._count()

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return self._e._rows(range(len(self))[i])
        return self._e._rows([range(len(self))[i]])[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, len(self), 1000):
            yield from self._e._rows(range(start, min(start + 1000, len(self))))


class _Area:
    """One stat.uni area as columns: `fields` give the values at given area rows; an issue's rows
    are found by offsets, as the per-issue joins ask for them."""

    def __init__(self, fields: dict[str, Callable[[np.ndarray], pa.Array]], issue_ids: np.ndarray):
        self.fields, self.size = fields, len(issue_ids)
        order = np.argsort(issue_ids, kind="stable")
        self._issues, starts = np.unique(issue_ids[order], return_index=True)
        self._bounds = np.append(starts, len(order))
        self._order = None if np.array_equal(order, np.arange(len(order))) else order.astype(np.int32)

    def of_issue(self, issue_id: int) -> np.ndarray:
        i = int(np.searchsorted(self._issues, issue_id))
        if i == len(self._issues) or self._issues[i] != issue_id:
            return NOWHERE
        lo, hi = self._bounds[i], self._bounds[i + 1]
        return np.arange(lo, hi) if self._order is None else self._order[lo:hi].astype(np.int64)

    def column(self, area: str, field: str, fmt: str | None, at: np.ndarray) -> pa.Array:
        if field not in self.fields:
            raise StatError("error/stat/uni/field", f"unknown field {area}.{field}")
        values = self.fields[field](at)
        return pc.utf8_slice_codeunits(values, 0, FORMATS[fmt]) if fmt and pa.types.is_string(values.type) else values


def _moment(text: str) -> datetime:
    """The generator's `YYYY-MM-DD hh:mm:ss`; other spellings through pandas, as before."""
    try:
        return datetime.strptime(text, DT_FORMAT)
    except ValueError:
        return pd.Timestamp(text).to_pydatetime()


def _stamps(texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The texts as timestamps (null where unreadable) and whether each is spelled exactly as its
    timestamp prints (`YYYY-MM-DD hh:mm:ss`; pc.strftime is 20 times slower than the cast)."""
    stamps = pc.strptime(texts, format=DT_FORMAT, unit="s", error_is_null=True)
    return stamps, pc.fill_null(pc.equal(stamps.cast(pa.string()), texts), False)


def _seconds(texts: pa.Array, wanted: np.ndarray) -> np.ndarray:
    """Seconds since 1970 of each wanted date text, read as `_moment` reads it (wall time)."""
    stamps, same = _stamps(texts)
    same = same.to_numpy(zero_copy_only=False)
    seconds = pc.fill_null(stamps.cast(pa.int64()), 0).to_numpy(zero_copy_only=False, writable=True)
    for i in np.flatnonzero(wanted & ~same).tolist():
        seconds[i] = (_moment(texts[i].as_py()).replace(tzinfo=None) - EPOCH) // timedelta(seconds=1)
    return seconds


def _compact(texts: pa.Array) -> pa.Array:
    """Date texts as timestamps when every one is spelled `YYYY-MM-DD hh:mm:ss` (8 bytes instead of
    23); any other spelling keeps the texts, which the API hands back as they came."""
    stamps, same = _stamps(texts)
    return stamps if pc.all(pc.or_(pc.is_null(texts), same)).as_py() else texts


def _text(values: pa.Array) -> pa.Array:
    return values.cast(pa.string()) if pa.types.is_timestamp(values.type) else values


def _truthy(texts: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.greater(pc.utf8_length(texts), 0), False).to_numpy(zero_copy_only=False)


def _flags(values: pa.ChunkedArray) -> np.ndarray:
    """Booleans as the dict rows read them: a missing value (NaN) counted as true."""
    return pc.fill_null(values, True).to_numpy(zero_copy_only=False).astype(bool)


def _ints(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, 0).to_numpy(zero_copy_only=False)


def _narrow(values: np.ndarray) -> np.ndarray:
    """The smallest integer type that holds the values (answers are Python ints either way)."""
    for kind in (np.int8, np.int16, np.int32):
        if len(values) and np.iinfo(kind).min <= values.min() and values.max() <= np.iinfo(kind).max:
            return values.astype(kind)
    return values


def _copy(member: dict[str, Any]) -> dict[str, Any]:
    return {**member, "-group": dict(member["-group"])} if isinstance(member.get("-group"), dict) else dict(member)


def _height(columns: list[pa.Array]) -> int:
    return len(columns[0]) if columns else 0


def _matches(values: pa.Array, op: str, right: Any) -> np.ndarray:
    """Row by row as before: an empty value never matches; numbers compare with `right` as an
    integer (no match if it is none), text with `right` as text."""
    if pa.types.is_integer(values.type):
        try:
            right = int(right)
        except (TypeError, ValueError):
            return np.zeros(len(values), bool)
        if not -2**63 <= right < 2**63:
            return np.full(len(values), PY_OPS[op](0, right))
    elif pa.types.is_string(values.type):
        right = str(right)
    elif pa.types.is_null(values.type):
        return np.zeros(len(values), bool)
    return pc.fill_null(OPS[op](values, right), False).to_numpy(zero_copy_only=False)


def _group_ids(keys: list[pa.Array], n: int) -> np.ndarray:
    """Number the distinct key tuples in order of first appearance, as a dict keyed by them would."""
    group = np.zeros(n, np.int64)
    for key in keys:
        codes = pc.dictionary_encode(key, null_encoding="encode").indices.to_numpy().astype(np.int64)
        group = pd.factorize(group * (int(codes.max(initial=-1)) + 1) + codes)[0]
    return group


def _aggregate(parsed: list[tuple], keys: dict[int, pa.Array], column: Callable[[tuple], pa.Array],
               n: int) -> list[pa.Array]:
    """Group rows by their plain values (groups in order of first appearance) and fold each group."""
    group = _group_ids(list(keys.values()), n)
    firsts = np.unique(group, return_index=True)[1]
    table, specs = {"g": pa.array(group)}, []
    for i, (agg, _, _, _) in enumerate(parsed):
        if agg in ("min", "max", "sum"):
            values = column(parsed[i])
            if agg == "sum" and not pa.types.is_integer(values.type) and values.null_count < len(values):
                raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
            table[f"v{i}"] = values
            specs.append((f"v{i}", agg))
    folded = pa.table(table).group_by("g").aggregate(specs) if specs else None
    if folded is not None:
        folded = folded.take(pc.sort_indices(folded["g"]))
    out = []
    for i, (agg, _, _, _) in enumerate(parsed):
        if agg is None:
            out.append(keys[i].take(pa.array(firsts)))
        elif agg == "count":
            out.append(pa.array(np.bincount(group)))
        else:
            out.append(folded[f"v{i}_{agg}"].combine_chunks())
    return out


def _address(raw: Any, addr_type: str) -> str:
    """The form Sendsay keys a member by: e-mails lower-cased, phones as digits; '' if unusable."""
    text = str(raw or "").strip()
    if addr_type == "msisdn":
        digits = re.sub(r"\D", "", text)
        return digits if 10 <= len(digits) <= 15 else ""
    return text.lower() if EMAIL.fullmatch(text) else ""


def _header_key(header: str) -> str | None:
    m = re.match(r"^\s*sendsay\s+apikey=(\S+)\s*$", header)
    return m.group(1) if m else None


def _parse(expr: str) -> tuple[str | None, str | None, str, str | None]:
    """`min(read.dt)` -> ("min", "read", "dt", None); `issue.dt:Ys` -> (None, "issue", "dt", "Ys")."""
    m = EXPR.match(str(expr).strip())
    if not m:
        raise StatError("error/stat/uni/field", f"cannot parse {expr!r}")
    agg, ref = m.group("agg"), m.group("inner") if m.group("agg") else m.group("plain")
    if agg == "count" and ref.strip() == "*":
        return agg, None, "*", None
    ref, _, fmt = ref.strip().partition(":")
    area, _, field = ref.partition(".")
    if area not in AREAS or not field:
        raise StatError("error/stat/uni/field", f"unknown field {expr!r}")
    if fmt and fmt not in FORMATS:
        raise StatError("error/stat/uni/field", f"unknown date format {fmt!r}")
    return agg, area, field, fmt or None


def _order(columns: list[pa.Array], order: list, select: list) -> list[pa.Array]:
    """Stable sorts, last key first; empty values after the rest (before them when descending)."""
    for key in reversed(order):
        desc = str(key).startswith("-")
        name = str(key).lstrip("-+")
        if name in select:
            i = select.index(name)
            if pa.types.is_null(columns[i].type):
                continue
            how = ("descending", "at_start") if desc else ("ascending", "at_end")
            index = pc.sort_indices(pa.table({"k": columns[i]}), sort_keys=[("k", *how)])
            columns = [c.take(index) for c in columns]
    return columns


def main() -> None:
    cli(lambda a: SendsayEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8306)


if __name__ == "__main__":
    main()
