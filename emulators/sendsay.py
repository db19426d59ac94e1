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

Run it alone:  python -m emulators.sendsay --data data/demo --port 8306
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import orjson
import pandas as pd

from emulators.base import Emulator, RateLimiter, Request, Response, cli, parse_pairs

DEFAULT_LOGIN = "linzy-shop"
CLUSTER = "clu180"
MAX_PAGESIZE = 1000
API_PATH = re.compile(r"^(?:/(?P<cluster>[a-z0-9]+))?/general/api/v100/json/(?P<account>[^/]+)/?$")
EXPR = re.compile(r"^(?:(?P<agg>count|min|max|sum)\((?P<inner>[^)]*)\)|(?P<plain>[a-z_.]+(?::[A-Za-z]+)?))$")
AREAS = ("issue", "deliv", "read", "click", "unsub")
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
}
ADDR_TYPES = ("email", "msisdn")  # the address types list groups are modelled for
FORMATS = {"Ys": 19, "Ym": 16, "YH": 13, "YD": 10, "YM": 7, "YY": 4}


class StatError(ValueError):
    def __init__(self, error_id: str, explain: str):
        super().__init__(explain)
        self.error_id, self.explain = error_id, explain


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


class SendsayEmulator(Emulator):
    name = "sendsay"

    def __init__(self, data_dir: str | Path | None, api_key: str = "demo-key", login: str = DEFAULT_LOGIN,
                 requests_per_second: int = 80, redirect: bool = True):
        super().__init__()
        self.api_key, self.login, self.redirect = api_key, login, redirect
        self.limiter = RateLimiter(requests_per_second, 1.0)
        self.members: list[dict[str, Any]] = []
        self.groups: list[dict[str, str]] = []
        self.areas: dict[str, list[dict[str, Any]]] = {a: [] for a in AREAS}
        self._by_issue: dict[str, dict[int, list[dict[str, Any]]]] = {a: {} for a in AREAS}
        self._stat_memo: dict[bytes, list[list]] = {}
        self._state_lock = threading.Lock()
        self.blocked_manually: set[str] = set()
        self.tracks: dict[int, dict[str, Any]] = {}
        self.confirmations: list[dict[str, Any]] = []
        self.fail_tracks_next = 0  # the next N tracks end with status -2 (error) instead of -1
        if data_dir is not None:
            self._seed(Path(data_dir) / "sendsay")
        self._last_id = max((m["member.id"] for m in self.members), default=0)
        self._by_address: dict[str, dict[str, Any]] = {}
        for m in self.members:
            self._by_address.setdefault(_address(m["member.email"], m["member.addr_type"]), m)

    @property
    def cluster_path(self) -> str:
        return f"/{CLUSTER}/general/api/v100/json/{self.login}"

    # --- data ---------------------------------------------------------------------------------
    def _seed(self, folder: Path) -> None:
        self.groups = json.loads((folder / "groups.json").read_text(encoding="utf-8"))
        by_type = {g["addr_type"]: g["id"] for g in self.groups}
        for r in pd.read_parquet(folder / "members.parquet").to_dict("records"):
            groups = {}
            if r["in_email_group"]:
                groups[by_type["email"]] = "1"
            if r["in_sms_group"]:
                groups[by_type["msisdn"]] = "1"
            member = {
                "member.id": int(r["member_id"]), "member.email": r["email"], "member.addr_type": "email",
                "member.createdate": r["created"], "member.haslock": int(bool(r["locked"])),
                "member.lockdate": _none(r["lockdate"]), "-group": groups,
            }
            answers = {"base.firstName": r["first_name"], "base.lastName": r["last_name"],
                       "custom.phone": _none(r["phone"]), "custom.sms_consent_dt": _none(r["sms_consent_dt"])}
            member.update({k: v for k, v in answers.items() if v not in (None, "")})  # unanswered questions are absent
            self.members.append(member)
        self.members.sort(key=lambda m: m["member.id"])
        issues = pd.read_parquet(folder / "issues.parquet")
        stats = pd.read_parquet(folder / "issue_member_stats.parquet")
        self.load_stats(issues.to_dict("records"), stats.to_dict("records"))

    def load_stats(self, issues: list[dict], stats: list[dict]) -> None:
        """(Re)build the stat.uni areas from issue rows and per-member issue rows (the generator's
        shape); tests call it again to add an issue between runs."""
        dt = {int(i["id"]): i["dt"] for i in issues}
        areas: dict[str, list[dict]] = {a: [] for a in AREAS}
        counters: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for s in stats:
            iid, mid, email = int(s["issue_id"]), int(s["member_id"]), s["email"]
            base = {"member.id": mid, "member.email": email, "issue.id": iid, "issue.dt": dt[iid]}
            areas["deliv"].append({**base, "status": int(s["deliv_status"]), "dt": s["deliv_dt"]})
            c = counters[iid]
            c["members"] += 1
            c["deliv_ok" if int(s["deliv_status"]) == 0 else "deliv_bad"] += 1
            for area, first, count in (("read", "first_read_dt", "reads"), ("click", "first_click_dt", "clicks")):
                start = _none(s[first])
                if start:
                    # datetime, not pandas, per row: pd.Timestamp here made start-up take minutes at 100k people
                    at = _moment(start)
                    areas[area] += [{**base, "dt": (at + timedelta(hours=7 * k)).strftime("%Y-%m-%d %H:%M:%S")}
                                    for k in range(int(s[count]))]
                    c["readed" if area == "read" else "clicked"] += int(s[count])
                    c["u_readed" if area == "read" else "u_clicked"] += 1
            if _none(s["unsub_dt"]):
                areas["unsub"].append({**base, "dt": s["unsub_dt"]})
                c["unsubed"] += 1
        for i in issues:
            c = counters[int(i["id"])]
            areas["issue"].append({
                "id": int(i["id"]), "name": i["name"], "subject": i["subject"], "dt": i["dt"], "format": i["format"],
                "group.gid": i["group"], **{k: c[k] for k in ("members", "deliv_ok", "deliv_bad", "readed", "u_readed",
                                                               "clicked", "u_clicked", "unsubed")},
            })
        by_issue: dict[str, dict[int, list[dict]]] = {}
        for area, rows in areas.items():
            index: dict[int, list[dict]] = {}
            key = "id" if area == "issue" else "issue.id"
            for r in rows:
                index.setdefault(r[key], []).append(r)
            by_issue[area] = index
        with self._state_lock:
            self.areas = areas
            self._by_issue = by_issue
            self._stat_memo: dict[bytes, list[list]] = {}
            self._issue_ids = {int(i["id"]) for i in issues}

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
        members = self.members
        if body.get("group"):
            members = [m for m in members if body["group"] in m.get("-group", {})]
        chunk = members[(page - 1) * size: page * size]
        # a copy (the answer is written after the lock is let go); members are flat but for -group
        return {"list": [{**m, "-group": dict(m["-group"])} if isinstance(m.get("-group"), dict) else dict(m) for m in chunk],
                "page": page, "pagesize": size,
                "pages": -(-len(members) // size), "count": len(members)}

    def member_get(self, body: dict) -> dict | Response:
        wanted = str(body.get("email", "")).strip().lower()
        for m in self.members:
            if str(m.get("member.email", "")).strip().lower() == wanted:
                return {"member": json.loads(json.dumps(m))}
        return self.errors("error/member/not_found", wanted and "member not found")

    def issue_list(self, body: dict) -> dict:
        start, end = body.get("from"), body.get("upto")
        rows = [i for i in self.areas["issue"] if (not start or i["dt"][:10] >= start) and (not end or i["dt"][:10] <= end)]
        return {"list": [{"id": i["id"], "gid": i["group.gid"], "date": i["dt"]} for i in rows]}

    def stat_uni(self, body: dict) -> dict | Response:
        """An ordered query's rows are kept (a few queries at a time) for its next `skip`/`first`
        pages: a per-issue join pages 1,000 rows at a time, and working it out again for every
        page made reading an issue quadratic in its size."""
        memo_key = self._memo_key(body) if body.get("order") else None
        rows = self._stat_memo.get(memo_key) if memo_key is not None else None
        if rows is None:
            try:
                if "join" in body:
                    rows = self._join(body["join"], int(body.get("joinby", 1)))
                else:
                    rows = self._query(body)
            except StatError as exc:
                return self.errors(exc.error_id, exc.explain)
            names = body.get("select") or (body.get("join") or [{}])[0].get("select") or []
            if body.get("order"):
                rows = _order(rows, body["order"], names)
            else:  # "without order the rows come unsorted, differently each time": paging needs an order
                random.shuffle(rows)
            if memo_key is not None:
                if len(self._stat_memo) >= 8:
                    self._stat_memo.pop(next(iter(self._stat_memo)))
                self._stat_memo[memo_key] = rows
        skip, first = int(body.get("skip", 0)), body.get("first")
        rows = rows[skip:] if first is None else rows[skip: skip + int(first)]
        return {"list": rows}

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
        removed = 0
        for m in self.members:
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
        member = self._by_address.get(_address(body.get("email"), addr_type))
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
        member = self._by_address.get(address)
        if member is not None and joins:
            if member.get("member.haslock"):
                return {"id": "error/member/locked", "explain": "on the stop-list: unsubscribed from all"}
            if address in self.blocked_manually:
                return {"id": "error/member/locked", "explain": "on the stop-list: blocked manually"}
        if member is None and address in self.blocked_manually and joins:
            return {"id": "error/member/locked", "explain": "on the stop-list: blocked manually"}
        if member is None:
            if not joins and not any(not k.startswith("-group.") for k in values):
                return None  # leaving a group one is not in: nothing to do, nobody created
            self._last_id += 1
            member = {"member.id": self._last_id,
                      "member.email": address, "member.addr_type": addr_type,
                      "member.createdate": time.strftime("%Y-%m-%d %H:%M:%S"), "member.haslock": 0,
                      "member.lockdate": None, "-group": {}}
            self.members.append(member)
            self._by_address[address] = member
            if confirm:
                self.confirmations.append({"member.id": member["member.id"], "groups": sorted(joins)})
        groups = member.setdefault("-group", {})
        for gid in joins:
            if gid not in groups:
                groups[gid] = "1"
                counts["added"] += 1
        for gid in leaves:
            if groups.pop(gid, None) is not None:
                counts["removed"] += 1
        for k, v in values.items():
            if not k.startswith("-group."):
                member[k] = v
        return None

    def control(self, req: Request) -> Response | None:
        m = re.match(r"^/_emulator/groups/([^/]+)/(members|clean)$", req.path)
        with self._state_lock:
            if m and self._group(m.group(1)) is None:
                return Response.json(404, {"error": f"no group {m.group(1)}"})
            if m and m.group(2) == "members":
                held = sorted(x["member.email"] for x in self.members if m.group(1) in x.get("-group", {}))
                return Response.json(200, {"group": m.group(1), "members": held})
            if m and req.method == "POST":
                return Response.json(200, {"group": m.group(1), "removed": self._clean(m.group(1))})
            if req.path == "/_emulator/stoplist" and req.method == "POST":
                knobs = json.loads(req.body or b"{}")
                address = _address(knobs.get("address"), knobs.get("addr_type", "email"))
                if knobs.get("list") == "manual":
                    self.blocked_manually.add(address)
                elif address in self._by_address:
                    self._by_address[address].update({"member.haslock": 1,
                                                       "member.lockdate": time.strftime("%Y-%m-%d %H:%M:%S")})
                else:
                    return Response.json(404, {"error": "no such member"})
                return Response.json(200, {"ok": True})
            if req.path == "/_emulator/confirmations":
                return Response.json(200, {"count": len(self.confirmations)})
        return None

    # --- stat.uni -----------------------------------------------------------------------------
    def _query(self, query: dict) -> list[list]:
        select = query.get("select")
        if not isinstance(select, list) or not select:
            raise StatError("error/stat/uni/select", "select is required")
        parsed = [_parse(e) for e in select]
        filters = [(_parse(f.get("a", "")), f.get("op"), f.get("v")) for f in query.get("filter") or []]
        areas = {p[1] for p in parsed if p[1]} | {f[0][1] for f in filters}
        if len(areas) != 1:
            raise StatError("error/stat/uni/areas", "one query reads one area; use join to combine areas")
        area = areas.pop()
        rows = self.areas[area]
        for (_, _, field, fmt), op, value in filters:
            # an issue's rows straight from the index (the filter itself still runs below)
            if op == "==" and fmt is None and field == ("id" if area == "issue" else "issue.id"):
                try:
                    rows = self._by_issue[area].get(int(value), [])
                except (TypeError, ValueError):
                    rows = []
                break
        for (_, _, field, fmt), op, value in filters:
            if op not in OPS:
                raise StatError("error/stat/uni/filter", f"unsupported op {op!r}")
            rows = [r for r in rows if _cmp(OPS[op], _value(r, field, fmt, area), value)]
        plain = [i for i, p in enumerate(parsed) if p[0] is None]
        if len(plain) == len(parsed):
            return [[_value(r, p[2], p[3], area) for p in parsed] for r in rows]
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault(tuple(_value(r, parsed[i][2], parsed[i][3], area) for i in plain), []).append(r)
        out = []
        for key, members in groups.items():
            values = iter(key)
            out.append([next(values) if p[0] is None else _aggregate(p, members, area) for p in parsed])
        return out

    def _join(self, queries: list[dict], joinby: int) -> list[list]:
        merged: dict[tuple, list] = {}
        widths = []
        for q in queries:
            rows = self._query(q)
            width = len(q["select"]) - joinby
            offset = sum(widths)
            widths.append(width)
            for r in rows:
                key = tuple(r[:joinby])
                slot = merged.setdefault(key, [])
                slot.extend([None] * (offset + width - len(slot)))
                if all(v is None for v in slot[offset:offset + width]):  # only the first row per key counts
                    slot[offset:offset + width] = r[joinby:]
        total = sum(widths)
        return [list(k) + v + [None] * (total - len(v)) for k, v in merged.items()]


def _moment(text: str) -> datetime:
    """The generator's `YYYY-MM-DD hh:mm:ss`; other spellings through pandas, as before."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return pd.Timestamp(text).to_pydatetime()


def _address(raw: Any, addr_type: str) -> str:
    """The form Sendsay keys a member by: e-mails lower-cased, phones as digits; '' if unusable."""
    text = str(raw or "").strip()
    if addr_type == "msisdn":
        digits = re.sub(r"\D", "", text)
        return digits if 10 <= len(digits) <= 15 else ""
    return text.lower() if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) else ""


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


def _value(row: dict, field: str, fmt: str | None, area: str) -> Any:
    if field not in row:
        raise StatError("error/stat/uni/field", f"unknown field {area}.{field}")
    value = row[field]
    return value[:FORMATS[fmt]] if fmt and isinstance(value, str) else value


def _cmp(op: Callable, left: Any, right: Any) -> bool:
    if left is None:
        return False
    if isinstance(left, int):
        try:
            right = int(right)
        except (TypeError, ValueError):
            return False
    return op(left, str(right) if isinstance(left, str) else right)


def _aggregate(p: tuple, rows: list[dict], area: str) -> Any:
    agg, _, field, fmt = p
    if agg == "count":
        return len(rows)
    values = [v for v in (_value(r, field, fmt, area) for r in rows) if v is not None]
    if not values:
        return None
    return {"min": min, "max": max, "sum": sum}[agg](values)


def _order(rows: list[list], order: list, select: list) -> list[list]:
    for key in reversed(order):
        desc = str(key).startswith("-")
        name = str(key).lstrip("-+")
        if name in select:
            i = select.index(name)
            rows = sorted(rows, key=lambda r: (r[i] is None, r[i]), reverse=desc)
    return rows


def main() -> None:
    cli(lambda a: SendsayEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8306)


if __name__ == "__main__":
    main()
