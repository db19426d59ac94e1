"""Yandex Audience API emulator: CRM segments uploaded from files, as ../shared/specs/destinations.md
§4 and yandex.ru/dev/audience describe them.

- `Authorization: OAuth <token>`; anything else is 401 `unauthorized`.
- `POST /v1/management/segments/upload_csv_file` (multipart `file`: CSV, header row naming the
  columns, `email` and/or `phone` required) makes a draft segment (`status: uploaded`).
- `POST /v1/management/segment/{id}/confirm[?check_size=false]` with
  `{"segment": {"id", "name", "hashed", "hashing_alg", "content_type"}}` saves it. `check_size`
  (default true) refuses a segment under 100 records; MD5 is refused for new data (the docs: not
  accepted since January 2025). Hashed values must be hex digests of the named algorithm; a value
  that is not is counted in `item_quantity` but not in `valid_unique_quantity`.
- `POST /v1/management/segment/{id}/modify_data?modification_type=addition|subtraction|replace
  [&check_size=false]` (multipart `file`, same columns as the first upload). With `check_size`
  true (the default) a change that would leave fewer than 100 records is refused and changes
  nothing; with false it goes through (Direct cannot use such a segment until it has 100 again).
  Reading the docs, `check_size` is about the segment's size, so the check is on the result.
- `GET /v1/management/segments` lists segments; reads move processing on:
  `uploaded` → (confirm) `is_processed` → `processed`, or `few_data` when fewer than 100 records
  matched; a modification goes through `is_updated` the same way. `processing_reads` is how many
  reads a segment stays in processing.
- `PUT /v1/management/segment/{id}` renames; `DELETE /v1/management/segment/{id}` answers
  `{"success": true}`; a deleted or unknown segment is 404 `not_found`.
- Matching: a deterministic share of values "match" Yandex users (`match_share`, chosen by the
  value's own hash), so `matched_quantity` is stable from run to run.
- Errors: `{"errors": [{"error_type", "message", "location"}], "code", "message"}` with the
  documented types (`invalid_parameter`/`missing_parameter` 400, `unauthorized` 401, `not_found`
  404, `quota` 429, `backend_error` 503).
- Quotas (knobs): 30 requests per second per IP and 5000 per day per user; creating or changing a
  segment (upload, modify_data, rename, delete) at most 10 a minute, 100 an hour, 500 a day. A 429
  names the quota in its body.

Read back what it holds:
  GET /_emulator/segments                 every segment with its status and counts
  GET /_emulator/segments/<id>/hashes     the exact values a segment holds, sorted
  GET /_emulator/requests                 the journal (no tokens, no values)

Run it alone:  python -m emulators.yandex_audience --data data/demo --port 8310 --api-key demo-key
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulators.base import Emulator, RateLimiter, Request, Response, cli
from emulators.multipart import form_parts

PREFIX = "/v1/management"
MIN_RECORDS = 100
COLUMNS = ("email", "phone", "ext_id", "idfa_gaid", "mac", "client_id")
ID_COLUMNS = ("email", "phone")
HEX = {"SHA256": re.compile(r"^[0-9a-f]{64}$"), "MD5": re.compile(r"^[0-9a-f]{32}$")}
PLAIN = {"email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "phone": re.compile(r"^\d{10,15}$")}
PROCESSING = ("is_processed", "is_updated")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Segment:
    id: int
    name: str
    columns: list[str]
    rows: list[dict[str, str]]  # the draft's rows until confirm
    status: str = "uploaded"
    create_time: str = field(default_factory=_now)
    modified: str = field(default_factory=_now)
    hashed: bool = False
    hashing_alg: str | None = None
    content_type: str = "crm"
    values: set[str] = field(default_factory=set)  # what the segment holds: every valid value
    item_quantity: int = 0
    reads: int = 0


class YandexAudienceEmulator(Emulator):
    name = "yandex_audience"

    def __init__(self, api_key: str = "demo-key", *, match_share: float = 0.6, processing_reads: int = 1,
                 per_second: int = 30, per_day: int = 5000, changes: tuple[int, int, int] = (10, 100, 500),
                 owner: str = "cdp-lite-demo"):
        super().__init__()
        self.api_key, self.owner = api_key, owner
        self.match_share, self.processing_reads = match_share, processing_reads
        self.limiter = RateLimiter(per_second, 1.0)  # the base CLI's --rate-limit lifts this one
        self.daily = RateLimiter(per_day, 86400.0)
        self.change_limits = [("segment create/change requests per minute", RateLimiter(changes[0], 60.0), changes[0]),
                              ("segment create/change requests per hour", RateLimiter(changes[1], 3600.0), changes[1]),
                              ("segment create/change requests per day", RateLimiter(changes[2], 86400.0), changes[2])]
        self.segments: dict[int, Segment] = {}
        self._next_id = 1000
        self._state_lock = threading.Lock()

    # --- envelope ---------------------------------------------------------------------------
    @staticmethod
    def error(status: int, error_type: str, message: str, location: str = "") -> Response:
        return Response.json(status, {"errors": [{"error_type": error_type, "message": message, "location": location}],
                                      "code": status, "message": message})

    def rate_limited(self, req: Request) -> Response:
        resp = self.error(429, "quota", "Quota exceeded: requests per second from one IP (30)")
        resp.headers["Retry-After"] = str(self.faults.retry_after)
        return resp

    def server_error(self, status: int) -> Response:
        if status == 503:
            return self.error(503, "backend_error", "Service temporarily unavailable, try again later")
        return super().server_error(status)

    def matched(self, value: str) -> bool:
        return hashlib.sha1(value.encode()).digest()[0] < int(self.match_share * 256)

    def view(self, seg: Segment) -> dict[str, Any]:
        matched = sum(self.matched(v) for v in seg.values)
        valid = len(seg.values)
        total = seg.item_quantity or 1
        return {
            "type": "uploading", "id": seg.id, "name": seg.name, "status": seg.status,
            "create_time": seg.create_time, "owner": self.owner, "has_guests": False, "guest_quantity": 0,
            "can_create_dependent": seg.status == "processed", "has_derivatives": False, "derivatives": [],
            "cookies_matched_quantity": matched * 2, "hashed": seg.hashed, "used_hashing_alg": seg.hashing_alg,
            "content_type": seg.content_type, "source_id": 0, "source_name": "",
            "item_quantity": seg.item_quantity, "valid_unique_quantity": valid,
            "valid_unique_percentage": f"{100 * valid / total:.1f}", "matched_quantity": matched,
            "matched_percentage": f"{100 * matched / total:.1f}", "uploading_last_modify_time": seg.modified,
        }

    # --- routing ----------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        if not req.path.startswith(PREFIX + "/"):
            return self.error(404, "not_found", f"Unknown path {req.path}")
        if req.headers.get("authorization", "") != f"OAuth {self.api_key}":
            return self.error(401, "unauthorized", "Unauthorized: the OAuth token is missing or invalid")
        if not self.limiter.allow("ip"):
            return self.rate_limited(req)
        if not self.daily.allow("user"):
            return self.error(429, "quota", "Quota exceeded: requests per day for this user_login (5000), "
                                            "reset at midnight Moscow time")
        path = req.path[len(PREFIX):]
        with self._state_lock:
            if path == "/segments" and req.method == "GET":
                return self.list_segments(req)
            if path == "/segments/upload_csv_file" and req.method == "POST":
                return self.changing(req) or self.upload(req)
            m = re.fullmatch(r"/segment/(\d+)(/confirm|/modify_data|/reprocess)?", path)
            if not m:
                return self.error(404, "not_found", f"Unknown method {path}")
            seg = self.segments.get(int(m.group(1)))
            if seg is None:
                return self.error(404, "not_found", f"Segment {m.group(1)} not found", "segmentId")
            action = m.group(2) or ""
            if action == "/confirm" and req.method == "POST":
                return self.confirm(req, seg)
            if action == "/modify_data" and req.method == "POST":
                return self.changing(req) or self.modify(req, seg)
            if action == "" and req.method == "PUT":
                return self.changing(req) or self.rename(req, seg)
            if action == "" and req.method == "DELETE":
                return self.changing(req) or self.delete(seg)
            return self.error(405 if action in ("", "/reprocess") else 404, "invalid_parameter",
                              f"{req.method} is not supported for {path}")

    def changing(self, req: Request) -> Response | None:
        """The create/change quota; a refused request is not counted against the other windows."""
        for label, limiter, limit in self.change_limits:
            if not limiter.allow("user"):
                return self.error(429, "quota", f"Quota exceeded: {label} ({limit})")
        return None

    # --- segments ---------------------------------------------------------------------------
    def list_segments(self, req: Request) -> Response:
        for seg in self.segments.values():
            if seg.status in PROCESSING:
                seg.reads += 1
                if seg.reads > self.processing_reads:
                    matched = sum(self.matched(v) for v in seg.values)
                    seg.status = "processed" if matched >= MIN_RECORDS else "few_data"
        return Response.json(200, {"segments": [self.view(s) for s in sorted(self.segments.values(), key=lambda s: s.id)]})

    def _file(self, req: Request) -> tuple[list[str], list[dict[str, str]]] | Response:
        parts = form_parts(req)
        if not parts or "file" not in parts:
            return self.error(400, "missing_parameter", "A multipart part named file is required", "file")
        raw = parts["file"].data
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1251")  # the docs allow UTF-8 or Windows-1251
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        if not header or any(h not in COLUMNS for h in header):
            return self.error(400, "invalid_parameter", "The first row must name the columns (email, phone, ext_id, ...)", "file")
        if not any(h in ID_COLUMNS for h in header):
            return self.error(400, "invalid_parameter", "The file must have an email or a phone column", "file")
        rows = [dict(zip(header, (c.strip() for c in row))) for row in reader if any(c.strip() for c in row)]
        return header, rows

    def upload(self, req: Request) -> Response:
        parsed = self._file(req)
        if isinstance(parsed, Response):
            return parsed
        header, rows = parsed
        self._next_id += 1
        seg = Segment(self._next_id, f"segment {self._next_id}", header, rows, item_quantity=len(rows))
        self.segments[seg.id] = seg
        return Response.json(200, {"segment": self.view(seg)})

    def _valid(self, seg: Segment, rows: list[dict[str, str]]) -> set[str]:
        out = set()
        for row in rows:
            for col in ID_COLUMNS:
                value = (row.get(col) or "").strip()
                if not value:
                    continue
                pattern = HEX[seg.hashing_alg] if seg.hashed else PLAIN[col]
                if pattern.match(value.lower() if seg.hashed else value):
                    out.add(value.lower())
        return out

    def confirm(self, req: Request, seg: Segment) -> Response:
        if seg.status != "uploaded":
            return self.error(400, "invalid_parameter", f"Segment {seg.id} is already saved", "segmentId")
        try:
            body = json.loads(req.body or b"{}")["segment"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, "missing_parameter", "The body must be {\"segment\": {...}}", "segment")
        if not body.get("name"):
            return self.error(400, "missing_parameter", "segment.name is required", "segment.name")
        if body.get("content_type") not in ("crm", "idfa_gaid", "mac"):
            return self.error(400, "invalid_parameter", "segment.content_type must be crm, idfa_gaid or mac", "segment.content_type")
        hashed = bool(body.get("hashed"))
        alg = body.get("hashing_alg")
        if hashed and alg == "MD5":
            return self.error(400, "invalid_parameter", "MD5 hashes are no longer accepted for new data; use SHA256",
                              "segment.hashing_alg")
        if hashed and alg != "SHA256":
            return self.error(400, "invalid_parameter", "segment.hashing_alg must be SHA256 for hashed data", "segment.hashing_alg")
        check_size = str(req.query.get("check_size", "true")).lower() != "false"
        if check_size and seg.item_quantity < MIN_RECORDS:
            return self.error(400, "invalid_parameter", f"The segment has {seg.item_quantity} records; at least "
                                                        f"{MIN_RECORDS} are required (check_size)", "file")
        seg.name, seg.hashed, seg.hashing_alg, seg.content_type = body["name"], hashed, alg if hashed else None, body["content_type"]
        seg.values = self._valid(seg, seg.rows)
        seg.rows = []
        seg.status, seg.reads, seg.modified = "is_processed", 0, _now()
        return Response.json(200, {"segment": self.view(seg)})

    def modify(self, req: Request, seg: Segment) -> Response:
        kind = req.query.get("modification_type")
        if kind not in ("addition", "subtraction", "replace"):
            return self.error(400, "invalid_parameter", "modification_type must be addition, subtraction or replace",
                              "modification_type")
        if seg.status == "uploaded":
            return self.error(400, "invalid_parameter", f"Segment {seg.id} is not saved yet (confirm it first)", "segmentId")
        parsed = self._file(req)
        if isinstance(parsed, Response):
            return parsed
        header, rows = parsed
        if header != seg.columns:
            return self.error(400, "invalid_parameter", f"The file's columns {header} differ from the segment's "
                                                        f"first upload {seg.columns}", "file")
        incoming = self._valid(seg, rows)
        result = {"addition": seg.values | incoming, "subtraction": seg.values - incoming, "replace": incoming}[kind]
        check_size = str(req.query.get("check_size", "true")).lower() != "false"
        if check_size and len(result) < MIN_RECORDS:
            return self.error(400, "invalid_parameter", f"After {kind} the segment would have {len(result)} records; "
                                                        f"at least {MIN_RECORDS} are required (check_size)", "file")
        seg.values = result
        seg.item_quantity = len(result)
        seg.status, seg.reads, seg.modified = "is_updated", 0, _now()
        return Response.json(200, {"segment": self.view(seg)})

    def rename(self, req: Request, seg: Segment) -> Response:
        try:
            name = json.loads(req.body or b"{}")["segment"]["name"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, "missing_parameter", "segment.name is required", "segment.name")
        seg.name = name
        return Response.json(200, {"segment": self.view(seg)})

    def delete(self, seg: Segment) -> Response:
        del self.segments[seg.id]
        return Response.json(200, {"success": True})

    # --- read back --------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        with self._state_lock:
            if req.path == "/_emulator/segments":
                return Response.json(200, [self.view(s) for s in self.segments.values()])
            m = re.fullmatch(r"/_emulator/segments/(\d+)/hashes", req.path)
            if m:
                seg = self.segments.get(int(m.group(1)))
                if seg is None:
                    return Response.json(404, {"error": f"no segment {m.group(1)}"})
                return Response.json(200, sorted(seg.values))
        return None


def main() -> None:
    cli(lambda a: YandexAudienceEmulator(api_key=a.api_key), __doc__.splitlines()[0], 8310)


if __name__ == "__main__":
    main()
