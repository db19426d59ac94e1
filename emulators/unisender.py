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

Memory: at a million people the seed is millions of rows, so it stays in Arrow columns (contacts
with a sorted key array for look-ups, deliveries and links sliced per campaign) and a page's rows
are built, as JSON text, only when the page is asked for. A contact the API touches or creates
becomes a `Contact` object (few, compared with the seed). Tests change campaign statistics through
`add_campaign` and `put_deliveries` and read them back with `campaign_deliveries`.

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

import bisect
import csv
import html
import io
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from emulators.base import SECRET_PARAMS, Emulator, RateLimiter, Request, Response, cli, dumps

ROLE_LOCALPARTS = {"info", "sales", "admin", "support", "no-reply", "noreply", "office", "abuse", "postmaster"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?\d{10,15}$")
MAX_IMPORT_ROWS = 500
EXPORT_FIELDS = ["email", "email_status", "email_availability", "email_add_time", "email_list_ids",
                 "email_unsubscribed_list_ids", "email_excluded_list_ids", "Name"]
PHONE_EXPORT_FIELDS = ["phone", "phone_status", "phone_list_ids", "phone_unsubscribed_list_ids", "phone_excluded_list_ids"]
# Where each export field sits in `Contact.record()` (and the seed's rows), per kind of contact.
RECORD_INDEX = {"email": {f: i for i, f in enumerate(EXPORT_FIELDS)},
                "phone": dict(zip(PHONE_EXPORT_FIELDS, (0, 1, 4, 5, 6)))}
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
DELIVERY_FIELDS = ["email", "send_result", "last_update"]
LINK_FIELDS = ["email", "url", "request_time", "ip", "count"]
DELIVERY_SCHEMA = pa.schema([(name, pa.string()) for name in DELIVERY_FIELDS])
LINK_SCHEMA = pa.schema([*((name, pa.string()) for name in LINK_FIELDS[:4]), ("count", pa.int64())])
ESCAPED_BYTES = np.zeros(256, bool)  # bytes JSON text cannot hold as they are
ESCAPED_BYTES[[*range(32), ord('"'), ord("\\")]] = True
EXPORT_CHUNK = 50_000  # seeded contacts turned into Python values at a time while writing an export


@dataclass(slots=True)
class Contact:
    email: str
    status: str = "new"  # new | active | inactive | unsubscribed
    add_time: str = ""
    lists: set[int] = field(default_factory=set)
    unsubscribed_lists: set[int] = field(default_factory=set)
    excluded_lists: set[int] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    def record(self) -> tuple:
        """The contact as an export row, laid out as `EXPORT_FIELDS`."""
        return (self.email, self.status, "available", self.add_time, _joined(self.lists),
                _joined(self.unsubscribed_lists), _joined(self.excluded_lists), self.fields.get("Name", ""))

    def knows(self, list_id: int) -> bool:
        return list_id in self.lists or list_id in self.unsubscribed_lists or list_id in self.excluded_lists


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _ids(text: str) -> set[int]:
    return {int(x) for x in text.split(",") if x}


def _joined(ids: set[int]) -> str:
    return ",".join(map(str, sorted(ids)))


def _plain(column: pa.Array) -> pa.Array:
    return column.dictionary_decode() if pa.types.is_dictionary(column.type) else column


def _is_in(column: pa.Array, values: set[str]) -> pa.Array:
    return pc.is_in(column, value_set=pa.array(sorted(values), pa.string()))


def _count(mask: pa.Array) -> int:
    return pc.sum(mask).as_py() or 0


def _where(column: pa.DictionaryArray, test: Callable[[str], bool]) -> np.ndarray:
    """Rows whose value passes `test`, judged once per distinct value."""
    hits = [i for i, value in enumerate(column.dictionary.to_pylist()) if test(value)]
    return np.isin(column.indices.to_numpy(), hits)


def _at_or_after(column: pa.Array, since: str) -> pa.Array:
    """`column >= since`. A dictionary-encoded column here is a seeded one, whose dictionary is
    sorted: an incremental run asks this of every campaign, and indices compare faster than text."""
    if pa.types.is_dictionary(column.type):
        first = bisect.bisect_left(column.dictionary, since, key=lambda value: value.as_py())
        return pc.fill_null(pc.greater_equal(column.indices, first), False)
    return pc.fill_null(pc.greater_equal(column, since), False)


def _fixed_width(column: pa.Array) -> np.ndarray:
    """The values as a NumPy bytes array (NUL-padded to the longest), which `np.searchsorted`
    can search without a Python object per row."""
    raw = pc.cast(column, pa.binary())
    lengths = pc.binary_length(raw)
    width = max(pc.max(lengths).as_py() or 1, 1)
    padded = pc.binary_join_element_wise(raw, pc.binary_repeat(pa.scalar(b"\0"), pc.subtract(width, lengths)), b"")
    return np.frombuffer(padded.buffers()[2], dtype=f"S{width}", count=len(padded))


def _json_parts(column: pa.Array) -> list:
    """Pieces that, joined, write each value as orjson would: plain text is only wrapped in quotes;
    a column with nulls or text that needs escaping goes value by value, the odd ones through orjson."""
    column = _plain(column)
    if pa.types.is_integer(column.type):
        return [pc.fill_null(pc.cast(column, pa.string()), "null")]
    text = pc.cast(column, pa.string())
    data = text.buffers()[2]
    if not text.null_count and (data is None or not ESCAPED_BYTES[np.frombuffer(data, np.uint8)].any()):
        return ['"', text, '"']
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    odd = pc.fill_null(pc.match_substring_regex(text, r'["\\\x00-\x1f]'), False)
    if pc.any(odd).as_py():
        escaped = [orjson.dumps(v).decode() for v in text.filter(odd).to_pylist()]
        quoted = pc.replace_with_mask(quoted, odd, pa.array(escaped, pa.string()))
    return [pc.fill_null(quoted, "null")]


def _table_result(fields: list[str], columns: list[pa.Array]) -> Response:
    """`{"result": {"fields": ..., "data": [[...], ...]}}` as `Response.json` would write it, built in
    Arrow: a campaign's page can be half a million rows, too many to turn into Python lists."""
    data: bytes | memoryview = b""
    if len(columns[0]):
        pieces = ["["]
        for column in columns:
            pieces += [*_json_parts(column), ","]
        pieces[-1] = "]"
        rows = pc.binary_join_element_wise(*pieces, "")
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows), ",")
        data = memoryview(joined[0].as_buffer())
    return Response(200, b"".join((b'{"result":{"fields":', dumps(fields), b',"data":[', data, b"]}}")))


def _encoded(column: pa.Array, ordered: bool = False) -> pa.DictionaryArray:
    """Dictionary-encoded, with one-byte indices when the values are few; `ordered` sorts the
    dictionary, so that comparing indices compares values."""
    encoded = pc.dictionary_encode(column)
    if ordered:
        order = pc.array_sort_indices(encoded.dictionary)
        rank = np.empty(len(order), np.int32)
        rank[order.to_numpy()] = np.arange(len(order), dtype=np.int32)
        return pa.DictionaryArray.from_arrays(pc.take(pa.array(rank), encoded.indices), encoded.dictionary.take(order))
    if len(encoded.dictionary) > 127:
        return encoded
    return pa.DictionaryArray.from_arrays(encoded.indices.cast(pa.int8()), encoded.dictionary)


def _csv_bytes(header: list[str], rows: Iterator[list]) -> bytes:
    """What `csv.writer` writes, encoded a slice at a time: a whole million-contact export as text
    would sit in memory three times over (the text, its copy, the bytes)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    parts = []
    while True:
        writer.writerows(itertools.islice(rows, EXPORT_CHUNK))
        if not buf.tell():
            return b"".join(parts)
        parts.append(buf.getvalue().encode("utf-8"))
        buf.seek(0)
        buf.truncate()


def _per_campaign(path: Path, names: list[str], encoded: tuple[str, ...],
                  ordered: tuple[str, ...] = ()) -> dict[int, pa.Table]:
    """The file's rows as one table per campaign (zero-copy slices, rows in the file's order). Read
    a column at a time, the repetitive ones dictionary-encoded, so seeding never holds the whole
    file as plain text."""
    columns = {}
    for name in ["campaign_id", *names]:
        column = pq.read_table(path, columns=[name])[name].combine_chunks()
        if pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        columns[name] = _encoded(column, name in ordered) if name in encoded else column
    ids = columns["campaign_id"].to_numpy()
    if len(ids) and (np.diff(ids) < 0).any():
        order = pc.sort_indices(columns["campaign_id"])  # stable
        columns = {name: column.take(order) for name, column in columns.items()}
        ids = ids[order.to_numpy()]
    table = pa.table({name: columns[name] for name in names})
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], int)
    stops = np.r_[starts[1:], len(ids)]
    return {int(ids[a]): table.slice(a, b - a) for a, b in zip(starts, stops)}


class ContactBook:
    """Contacts of one kind (e-mail or phone), keyed by the lower-cased address.

    The seeded contacts stay in columns in the file's order, found through a sorted key array. The
    handlers edit contacts in place, so one the API reaches becomes a `Contact` object from then on
    (`get`), as does one the API creates; a seeded one deleted is only marked. Export order is the
    order the account gained the contacts, as Unisender lists them."""

    def __init__(self, seed: dict[str, pa.Array] | None = None):
        self._seed = seed or {}
        self._size = len(self._seed["email"]) if seed else 0
        self._keys = np.array([], "S1")
        self._rows = np.array([], np.int64)
        self._dropped = np.zeros(self._size, bool)
        self._edited: dict[int, Contact] = {}
        self._added: dict[str, Contact] = {}
        if self._size:
            self._index()

    @classmethod
    def from_parquet(cls, path: Path) -> ContactBook:
        frame = pq.read_table(path)
        text = {name: pc.fill_null(frame[name].combine_chunks().cast(pa.string()), "") for name in frame.column_names}
        del frame
        lists = {name: _encoded(text[name]) for name in ("email_list_ids", "email_unsubscribed_list_ids")}
        return cls({
            "email": pc.utf8_lower(pc.utf8_trim_whitespace(text["email"])),
            "status": _encoded(text["email_status"]),
            "add_time": text["email_add_time"],
            **{name: pa.DictionaryArray.from_arrays(
                column.indices, pa.array([_joined(_ids(s)) for s in column.dictionary.to_pylist()], pa.string()))
               for name, column in zip(("lists", "unsubscribed_lists"), lists.values())},
            "name": _encoded(text["Name"]),
        })

    def _index(self) -> None:
        """Sorted keys and the row of each. An address the file holds twice keeps its first place
        and its last values, as a dict filled row by row would."""
        keys = _fixed_width(self._seed["email"])
        self._keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        last = np.zeros(len(self._keys), np.int64)
        np.maximum.at(last, inverse, np.arange(len(keys)))
        by_first = np.argsort(first)
        if len(self._keys) < len(keys):
            self._seed = {name: column.take(pa.array(last[by_first])) for name, column in self._seed.items()}
            self._size = len(self._keys)
            self._dropped = np.zeros(self._size, bool)
        self._rows = np.empty(len(by_first), np.int64)
        self._rows[by_first] = np.arange(len(by_first))

    def _row(self, key: str) -> int | None:
        """The live seeded row of an address."""
        raw = key.encode()
        if not self._size or not raw or len(raw) > self._keys.itemsize or b"\0" in raw:
            return None
        at = int(np.searchsorted(self._keys, raw))
        if at == len(self._keys) or self._keys[at] != raw:
            return None
        row = int(self._rows[at])
        return None if self._dropped[row] else row

    def get(self, key: str) -> Contact | None:
        """The contact, as an object the caller may edit in place."""
        if key in self._added:
            return self._added[key]
        row = self._row(key)
        if row is None:
            return None
        if row not in self._edited:
            s = {name: column[row].as_py() for name, column in self._seed.items()}
            self._edited[row] = Contact(s["email"], s["status"], s["add_time"], _ids(s["lists"]),
                                        _ids(s["unsubscribed_lists"]), set(), {"Name": s["name"]})
        return self._edited[row]

    def add(self, contact: Contact) -> None:
        self._added[contact.email] = contact

    def pop(self, key: str) -> bool:
        if self._added.pop(key, None):
            return True
        row = self._row(key)
        if row is None:
            return False
        self._dropped[row] = True
        self._edited.pop(row, None)
        return True

    def objects(self) -> list[Contact]:
        return [*self._edited.values(), *self._added.values()]

    def _untouched(self) -> np.ndarray:
        """Seeded rows still described by the columns alone."""
        mask = ~self._dropped
        mask[list(self._edited)] = False
        return mask

    def discard_list(self, list_id: int) -> None:
        for contact in self.objects():
            contact.lists.discard(list_id)
        if self._size:
            lists = self._seed["lists"]
            dictionary = [_joined(_ids(s) - {list_id}) for s in lists.dictionary.to_pylist()]
            self._seed["lists"] = pa.DictionaryArray.from_arrays(lists.indices, pa.array(dictionary, pa.string()))

    def active_counts(self) -> dict[int, int]:
        """Members not unsubscribed, per list."""
        counts: dict[int, int] = {}
        if self._size:
            lists = self._seed["lists"]
            active = self._untouched() & _where(self._seed["status"], lambda s: s != "unsubscribed")
            per_value = np.bincount(lists.indices.to_numpy()[active], minlength=len(lists.dictionary))
            for text, n in zip(lists.dictionary.to_pylist(), per_value.tolist()):
                for lid in _ids(text):
                    counts[lid] = counts.get(lid, 0) + n
        for c in self.objects():
            if c.status != "unsubscribed":
                for lid in c.lists:
                    counts[lid] = counts.get(lid, 0) + 1
        return counts

    def active_members(self, list_id: int) -> list[str]:
        members = [c.email for c in self.objects() if list_id in c.lists and c.status != "unsubscribed"]
        if self._size:
            chosen = (self._untouched() & _where(self._seed["lists"], lambda s: list_id in _ids(s))
                      & _where(self._seed["status"], lambda s: s != "unsubscribed"))
            members += self._seed["email"].filter(pa.array(chosen)).to_pylist()
        return members

    def records(self, list_id: str | None) -> Iterator[tuple]:
        """Every contact as an export row (see `Contact.record`), in the account's order; with
        `list_id`, only those the list knows in any way."""
        if self._size:
            keep = ~self._dropped
            if list_id:
                wanted = int(list_id)
                keep &= (_where(self._seed["lists"], lambda s: wanted in _ids(s))
                         | _where(self._seed["unsubscribed_lists"], lambda s: wanted in _ids(s)))
                keep[list(self._edited)] = True  # judged below, as objects
            rows = np.flatnonzero(keep)
            names = ("email", "status", "add_time", "lists", "unsubscribed_lists", "name")
            for start in range(0, len(rows), EXPORT_CHUNK):
                part = rows[start:start + EXPORT_CHUNK]
                taken = pa.array(part)
                values = (_plain(self._seed[n].take(taken)).to_pylist() for n in names)
                email, status, added, lists, unsubscribed, name = values
                for i, row in enumerate(part.tolist()):
                    contact = self._edited.get(row)
                    if contact is None:
                        yield email[i], status[i], "available", added[i], lists[i], unsubscribed[i], "", name[i]
                    elif not list_id or contact.knows(int(list_id)):
                        yield contact.record()
        for contact in self._added.values():
            if not list_id or contact.knows(int(list_id)):
                yield contact.record()


class UnisenderEmulator(Emulator):
    name = "unisender"

    def __init__(self, data_dir: str | Path | None, api_key: str = "demo-key", calls_per_minute: int = 1200):
        super().__init__()
        self.api_key = api_key
        self.limiter = RateLimiter(calls_per_minute, 60.0)
        self.contacts = ContactBook()
        self.phones = ContactBook()  # SMS contacts, keyed by the phone as sent
        self.lists: dict[int, str] = {}
        self.tasks: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.campaigns: list[dict] = []  # sorted by start_time, then id
        self._deliveries: dict[int, pa.Table] = {}  # campaign id -> DELIVERY_FIELDS
        self._links: dict[int, pa.Table] = {}  # campaign id -> LINK_FIELDS
        self._state_lock = threading.Lock()
        if data_dir is not None:
            self._seed(Path(data_dir) / "unisender")

    def _seed(self, folder: Path) -> None:
        for item in json.loads((folder / "lists.json").read_text(encoding="utf-8")):
            self.lists[int(item["id"])] = item["title"]
        self.contacts = ContactBook.from_parquet(folder / "contacts.parquet")
        if (folder / "campaigns.parquet").exists():
            self._seed_campaigns(folder)
        pa.default_memory_pool().release_unused()  # the allocator would otherwise keep seeding's scratch space

    def _seed_campaigns(self, folder: Path) -> None:
        host = "https://cp.unisender.com/ru/v5/campaigns/"
        campaigns = pq.read_table(folder / "campaigns.parquet").to_pylist()
        self.campaigns = sorted(({**c, "stats_url": f"{host}{c['id']}/stats"} for c in campaigns),
                                key=lambda c: (c["start_time"], c["id"]))
        self._deliveries = _per_campaign(folder / "campaign_deliveries.parquet", DELIVERY_FIELDS,
                                         tuple(DELIVERY_FIELDS), ordered=("last_update",))
        self._links = _per_campaign(folder / "visited_links.parquet", LINK_FIELDS, ("email", "url"))

    # --- campaign statistics changed by tests ---------------------------------------------------
    def campaign_deliveries(self, campaign_id: int) -> list[list]:
        """A campaign's rows as getCampaignDeliveryStats serves them, for tests to pick recipients from."""
        with self._state_lock:
            return self._delivery_rows(campaign_id)

    def _delivery_rows(self, campaign_id: int) -> list[list]:
        table = self._deliveries.get(campaign_id)
        if table is None:
            return []
        return [list(r) for r in zip(*(_plain(c.combine_chunks()).to_pylist() for c in table.columns))]

    def put_deliveries(self, campaign_id: int, rows: list[list]) -> None:
        """Results that arrive after the seed (a late open, a new campaign's sends): a row for an
        address the campaign has replaces it in place, others are appended. Rows are kept as given,
        malformed ones too, so tests can see the connector refuse them."""
        with self._state_lock:
            current = self._delivery_rows(campaign_id)
            at = {r[0]: i for i, r in enumerate(current)}
            for row in rows:
                if row[0] in at:
                    current[at[row[0]]] = list(row)
                else:
                    at[row[0]] = len(current)
                    current.append(list(row))
            self._deliveries[campaign_id] = pa.table([pa.array([r[i] for r in current], pa.string()) for i in range(3)],
                                                     names=DELIVERY_FIELDS)

    def add_campaign(self, campaign: dict, deliveries: list[list]) -> None:
        """A campaign started after the seed, with its per-address results."""
        with self._state_lock:
            bisect.insort(self.campaigns, campaign, key=lambda c: (c["start_time"], c["id"]))
        self.put_deliveries(campaign["id"], deliveries)

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
            resp = handler(req)
        pa.default_memory_pool().release_unused()  # else the allocator keeps the scratch space of the last page
        return resp

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

    def _book(self, kind: str) -> ContactBook:
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
                if book.pop(key):
                    result["deleted"] += 1
                continue
            excluded = {int(x) for x in (row.get(f"{kind}_excluded_list_ids") or "").split(",") if x.strip()}
            list_ids = {int(x) for x in (row.get(f"{kind}_list_ids") or "").split(",") if x.strip()}
            contact = book.get(key)
            if contact is None and excluded and not list_ids:
                continue  # an exclusion of someone the account does not hold: nothing to do
            if contact is None:
                contact = Contact(key, "new", _now())
                book.add(contact)
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
        kind = "phone" if "phone" in fields and "email" not in fields else "email" if "email" in fields else None
        records = self._book(kind).records(list_id) if kind else ()
        where = [RECORD_INDEX[kind].get(f) if kind else None for f in fields]
        task = str(uuid.uuid4())
        self.files[task + ".csv"] = _csv_bytes(fields, ([r[i] if i is not None else "" for i in where] for r in records))
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
        deliveries = self._deliveries.get(cid) or DELIVERY_SCHEMA.empty_table()
        links = self._links.get(cid) or LINK_SCHEMA.empty_table()
        results = _plain(deliveries["send_result"].combine_chunks())
        readers = _plain(deliveries["email"].combine_chunks()).filter(_is_in(results, READ))
        clickers = pc.unique(_plain(links["email"].combine_chunks()))
        clicks = pc.sum(links["count"]).as_py() or 0
        read_unique = _count(_is_in(results, READ)) + _count(pc.invert(pc.is_in(clickers, value_set=readers)))
        return self.ok({
            "total": len(results), "sent": _count(_is_in(results, SENT)), "delivered": _count(_is_in(results, DELIVERED)),
            "read_unique": read_unique, "read_all": read_unique + clicks - len(links), "clicked_unique": len(clickers),
            "clicked_all": clicks, "unsubscribed": _count(_is_in(results, {"ok_unsubscribed"})),
            "spam": _count(_is_in(results, {"ok_fbl"})),
        })

    def get_campaign_delivery_stats(self, req: Request) -> Response:
        cid, bad = self._campaign(req)
        if bad:
            return bad
        since, bad = self._time_arg(req, "changed_since")
        if bad:
            return bad
        table = self._deliveries.get(cid) or DELIVERY_SCHEMA.empty_table()
        if since is not None:
            table = table.filter(_at_or_after(table["last_update"].combine_chunks(), since))
        return _table_result(DELIVERY_FIELDS, [table[name].combine_chunks() for name in DELIVERY_FIELDS])

    def get_visited_links(self, req: Request) -> Response:
        cid, bad = self._campaign(req)
        if bad:
            return bad
        table = self._links.get(cid) or LINK_SCHEMA.empty_table()
        columns = [table[name].combine_chunks() for name in LINK_FIELDS]
        if str(req.param("group", "0")) == "1":
            return _table_result(LINK_FIELDS, columns)
        # Ungrouped: one row per visit, the repeats a little later than the first.
        counts = np.clip(columns[4].to_numpy(zero_copy_only=False), 0, None)
        visit = pa.array(np.repeat(np.arange(len(counts)), counts))
        nth = np.arange(len(visit)) - np.repeat(np.cumsum(counts) - counts, counts)
        first = pc.strptime(_plain(columns[2]), format=TIME_FORMAT, unit="s").take(visit)
        times = pc.strftime(pc.add(first, pa.array(nth * 420, pa.duration("s"))), format=TIME_FORMAT)
        email, url, _, ip, _ = (column.take(visit) for column in columns)
        return _table_result(LINK_FIELDS[:4], [email, url, times, ip])

    # --- read back ----------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        if req.path == "/_emulator/lists":
            with self._state_lock:
                counts = {lid: 0 for lid in self.lists}
                for book in (self.contacts, self.phones):
                    for lid, n in book.active_counts().items():
                        counts[lid] = counts.get(lid, 0) + n
                return Response.json(200, [{"id": i, "title": t, "active_members": counts.get(i, 0)} for i, t in sorted(self.lists.items())])
        m = re.fullmatch(r"/_emulator/lists/(\d+)/members", req.path)
        if m:
            lid = int(m.group(1))
            with self._state_lock:
                members = sorted(self.contacts.active_members(lid) + self.phones.active_members(lid))
            return Response.json(200, members)
        m = re.fullmatch(r"/_emulator/lists/(\d+)/(empty|delete)", req.path)
        if m and req.method == "POST":  # a list emptied or deleted outside the CDP, by hand in the UI
            lid = int(m.group(1))
            with self._state_lock:
                self.contacts.discard_list(lid)
                self.phones.discard_list(lid)
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
