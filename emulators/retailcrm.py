"""RetailCRM API v5 emulator, seeded from the demo generator.

Faithful to the documented and recorded behaviour (../shared/specs/sources.md §1 and the PHP/Go
client fixtures): `X-API-KEY` header or `apiKey` parameter; `page` (1-based) and `limit` of
20/50/100 (anything else is a validation error); bracket filters such as `filter[ids][]=1`; the
`{"success":true,"pagination":{...},"customers":[...]}` envelope; `{"success":false,"errorMsg":...}`
errors; 10 requests per second per key, answered 429 with `Retry-After` beyond that; `payments`
keyed by id on orders and `{}` when empty (a list inside history snapshots); `customFields` as `[]`
when empty.

Served:
  GET  /api/v5/customers | /orders | /customers-corporate   lists (filter[ids][], lastWebVisitFrom/To, ...)
  GET  /api/v5/{customers,orders,customers-corporate}/{uid}   one record (`by=id` for the internal id)
  GET  /api/v5/{customers,orders,customers-corporate}/history change journal (sinceId, startDate, endDate)
  GET  /api/v5/customers-corporate/{uid}/contacts              contact persons (individual customers)
  POST /api/v5/customers/create, /customers/{uid}/edit, /orders/{uid}/edit,
       /customers-corporate/{uid}/edit                         writes that land in the history
  GET  /api/v5/customer-interaction/{site}/cart/{customerId}   a customer's current cart
  POST /api/v5/customer-interaction/{site}/cart/set | /clear   what the shop's site sends
Control (not RetailCRM): POST /_emulator/delete {"entity": "customers", "id": 1001} deletes a
record as a manager would in the UI (a `deleted` history item with the last snapshot).

Seeded records stay in columns sorted by id (Arrow text, categoricals, NumPy; see `_Records`) and a
page's records are built only when the page is asked for; writes through the API sit in small
overlays over the columns. At a million people that holds ~0.8 GB where rows as Python objects held 4.

Run it alone:  python -m emulators.retailcrm --data data/demo --port 8301
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from emulators.base import Emulator, RateLimiter, Request, Response, cli, dumps
from emulators.retailcrm_history import ChangeLog, Clock, SeedItem, SeedPart

ALLOWED_LIMITS = (20, 50, 100)
SITE = "linzy-shop"
SUBSCRIPTION = {"id": 2, "channel": "email", "name": "Без тематики", "code": "default_marketing",
                "active": True, "autoSubscribe": True, "ordering": 1}
SMS_SUBSCRIPTION = {"id": 3, "channel": "sms", "name": "SMS-рассылка", "code": "sms_marketing",
                    "active": True, "autoSubscribe": False, "ordering": 2}
PAID_STATUSES = ("complete", "return")
# customer JSON key -> (flat column, history field name); field names as the CMS modules map them
CUSTOMER_FIELDS = {"firstName": ("firstName", "first_name"), "lastName": ("lastName", "last_name"),
                   "patronymic": ("patronymic", "patronymic"), "email": ("email", "email"),
                   "birthday": ("birthday", "birthday"), "externalId": ("externalId", "external_id")}
ONE = re.compile(r"^/api/v5/(customers|orders|customers-corporate)/([^/]+)$")
EDIT = re.compile(r"^/api/v5/(customers|orders|customers-corporate)/([^/]+)/edit$")
CONTACTS = re.compile(r"^/api/v5/customers-corporate/([^/]+)/contacts$")
CART = re.compile(r"^/api/v5/customer-interaction/([^/]+)/cart/([^/]+)$")
INTEGER = re.compile(r"-?[0-9]+")
FEW_VALUES = 8  # a text column with at most 1/8 as many distinct values as rows is held as a categorical
SAMPLE = 50_000  # rows looked at first to tell
_NO_CHANGE: Any = object()


def _error(status: int, message: str, errors: Any = None) -> Response:
    body: dict[str, Any] = {"success": False, "errorMsg": message}
    if errors is not None:
        body["errors"] = errors
    return Response.json(status, body)


def _integer(text: str) -> int | None:
    """The id a text names when compared with an integer column as text ("7", not "07" or "7.0")."""
    if not INTEGER.fullmatch(text) or str(int(text)) != text:
        return None
    number = int(text)
    return number if np.iinfo(np.int64).min <= number <= np.iinfo(np.int64).max else None


def _span(sorted_ids: np.ndarray, ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `ids` starts and ends in `sorted_ids` (an empty run for one not there). The
    ids are cast to the column's type first: searching a narrower column with wider values would
    copy the whole column per search."""
    ids = np.asarray(ids, dtype=np.int64)
    if sorted_ids.dtype != ids.dtype:
        bounds = np.iinfo(sorted_ids.dtype)
        narrow = np.clip(ids, bounds.min, bounds.max).astype(sorted_ids.dtype)
        lo, hi = np.searchsorted(sorted_ids, narrow, "left"), np.searchsorted(sorted_ids, narrow, "right")
        return lo, np.where(narrow == ids, hi, lo)
    return np.searchsorted(sorted_ids, ids, "left"), np.searchsorted(sorted_ids, ids, "right")


def _locate(sorted_ids: np.ndarray, ids: Any) -> np.ndarray:
    """Positions of `ids` in `sorted_ids` (the first of equal ones), -1 for those missing."""
    lo, hi = _span(sorted_ids, ids)
    return np.where(hi > lo, lo, -1)


def _json_text(value: Any) -> bytes:
    """Compact JSON text to keep. Not orjson: its bytes objects hold ~8 KiB of spare room each."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _mask(values: pd.Series) -> np.ndarray:
    """A comparison's result as a NumPy mask; a missing value compares false."""
    return values.to_numpy(dtype=bool, na_value=False)


def _column(col: pa.ChunkedArray, narrow: bool = False) -> pd.Series:
    """A parquet column in the form a page is cheapest to cut from: text in one Arrow chunk (few
    distinct values, such as a status or a first name, as a categorical: a small code a row),
    booleans with gaps in Arrow, the rest in NumPy (whole numbers in the narrowest type that holds
    them when `narrow`: for tables no row is ever added to)."""
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        arr = col.combine_chunks().cast(pa.string())
        sample = arr.slice(0, SAMPLE)
        if pc.count_distinct(sample).as_py() * FEW_VALUES <= len(sample):  # skips hashing a column of unique values
            encoded = arr.dictionary_encode()
            if len(encoded.dictionary) * FEW_VALUES <= len(arr):
                codes = encoded.indices.fill_null(-1).to_numpy()
                return pd.Series(pd.Categorical.from_codes(codes, pd.Index(encoded.dictionary.to_pylist(), dtype=object)))
        return pd.Series(pd.arrays.ArrowExtensionArray(arr))
    if pa.types.is_boolean(col.type) and col.null_count:
        return pd.Series(pd.arrays.ArrowExtensionArray(col.combine_chunks()))
    if narrow and pa.types.is_integer(col.type) and not col.null_count and len(col):
        low, high = pc.min_max(col).values()
        kind = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                    if np.iinfo(t).min <= low.as_py() and high.as_py() <= np.iinfo(t).max)
        return pd.Series(col.to_numpy().astype(kind, copy=False))
    return col.to_pandas()


def _in_order(keys: list[np.ndarray]) -> bool:
    """Whether the rows already follow `keys` (most significant first): the generator writes them
    so, and sorting would copy every column once more."""
    tied = np.ones(max(len(keys[0]) - 1, 0), dtype=bool)
    for key in keys:
        if (key[1:][tied] < key[:-1][tied]).any():
            return False
        tied &= key[1:] == key[:-1]
    return True


def _read(paths: list[Path], order: list[str], narrow: bool = False) -> pd.DataFrame | None:
    """The files' rows, one frame sorted by `order`. Converted a column at a time, each dropped
    from the Arrow table once converted, so the load holds little beyond the result."""
    tables = [pq.read_table(p) for p in paths if p.exists()]
    if not tables:
        return None
    tables = [t.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in t.schema]))
              for t in tables]
    table = pa.concat_tables(tables, promote_options="permissive")
    del tables
    positions = None if _in_order([table[c].to_numpy() for c in order]) else pc.sort_indices(table, [(c, "ascending") for c in order])
    columns = {}
    for name in table.column_names:
        col = table[name] if positions is None else table[name].take(positions)
        table = table.drop_columns([name])
        columns[name] = _column(col, narrow)
    return pd.DataFrame(columns)


def _as_text(values: pd.Series) -> pd.Series:
    """A text column that compares by order (a categorical does not)."""
    return values.astype(pd.ArrowDtype(pa.string())) if isinstance(values.dtype, pd.CategoricalDtype) else values


def _cutter(values: pd.Series) -> Callable[[slice | np.ndarray], list]:
    """How to read some positions of a column as Python values, None where missing."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes)
        names = [*values.cat.categories.tolist(), None]  # code -1 reads the last
        return lambda sel: [names[c] for c in codes[sel].tolist()]
    if isinstance(values.array, pd.arrays.ArrowExtensionArray):
        arr = pa.array(values.array)  # one chunk (see `_Records._set`): the column's own buffers
        return lambda sel: (arr.slice(sel.start, sel.stop - sel.start) if isinstance(sel, slice) else arr.take(sel)).to_pylist()
    array = values.to_numpy()
    if array.dtype.kind == "f":
        return lambda sel: [None if v != v else v for v in array[sel].tolist()]
    if array.dtype.kind == "O":
        return lambda sel: [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in array[sel].tolist()]
    return lambda sel: array[sel].tolist()


class _Records:
    """One kind of seeded record held as columns sorted by `key`, with the API's edits beside them.

    A page's rows are cut from the columns when it is asked for, so nothing per record lives in
    Python objects: lists of every column and dicts of every id (what the read paths used before)
    cost as much memory again as the data. Edits (record id -> changed fields) are a small overlay
    read over the columns because Arrow columns cannot change in place: rewriting one per edit would
    make the benchmark's thousands of edits a column copy each. Rows created or deleted through the
    API rebuild the columns (rare: tests and control calls).
    """

    def __init__(self, frame: pd.DataFrame, key: str = "id"):
        self.key = key
        self.edits: dict[int, dict[str, Any]] = {}
        self._set(frame)

    def _set(self, frame: pd.DataFrame) -> None:
        frame = frame.reset_index(drop=True)
        for col in frame.columns:
            if isinstance(frame[col].array, pd.arrays.ArrowExtensionArray):
                arr = pa.array(frame[col].array)
                if isinstance(arr, pa.ChunkedArray):  # rows added: one chunk again, shared with the cutter
                    frame[col] = pd.arrays.ArrowExtensionArray(arr.combine_chunks())
        self.frame = frame
        self.ids = self.frame[self.key].to_numpy()
        self._cut = {c: _cutter(self.frame[c]) for c in self.frame.columns}

    def __len__(self) -> int:
        return len(self.ids)

    def locate(self, ids: Any) -> np.ndarray:
        return _locate(self.ids, ids)

    def pos(self, rid: int) -> int | None:
        pos = int(self.locate([rid])[0])
        return None if pos < 0 else pos

    def find(self, col: str, text: str) -> int | None:
        """The first position whose `col` reads as `text`: how `by=id|externalId` picks a record."""
        if col == self.key:
            rid = _integer(text)
            return None if rid is None else self.pos(rid)
        hits = np.flatnonzero(_mask(self.column(col) == text))
        return int(hits[0]) if len(hits) else None

    def rows(self, positions: Any) -> list[dict[str, Any]]:
        sel = self._selector(positions)
        cols = {c: cut(sel) for c, cut in self._cut.items()}
        rows = [dict(zip(cols, values)) for values in zip(*cols.values())]
        if self.edits:
            for row in rows:
                if changed := self.edits.get(row[self.key]):
                    row.update(changed)
        return rows

    def values(self, col: str, positions: Any) -> list[Any]:
        sel = self._selector(positions)
        values = self._cut[col](sel)
        if self.edits:
            for i, rid in enumerate(self.ids[sel].tolist()):
                changed = self.edits.get(rid)
                if changed and col in changed:
                    values[i] = changed[col]
        return values

    def value(self, pos: int, col: str) -> Any:
        return self.values(col, [pos])[0]

    def set(self, pos: int, col: str, value: Any) -> None:
        self.edits.setdefault(int(self.ids[pos]), {})[col] = value

    def column(self, col: str) -> pd.Series:
        """The column as it reads now: the seeded values with the edits over them."""
        values = self.frame[col]
        edited = [(rid, changed[col]) for rid, changed in self.edits.items() if col in changed]
        if not edited:
            return values
        current = pd.Series(self._cut[col](slice(0, len(self))), dtype=object)
        current.iloc[self.locate([rid for rid, _ in edited])] = pd.Series([v for _, v in edited], dtype=object).to_numpy()
        return current

    def current(self) -> pd.DataFrame:
        edited = {col for changed in self.edits.values() for col in changed}
        return self.frame.assign(**{col: self.column(col) for col in edited}) if edited else self.frame

    def append(self, row: dict[str, Any]) -> None:
        frame = self.frame
        for col in frame.columns:
            value = row.get(col)
            if isinstance(frame[col].dtype, pd.CategoricalDtype) and value is not None and value not in frame[col].cat.categories:
                frame = frame.assign(**{col: frame[col].cat.add_categories([value])})
        added = pd.DataFrame([row]).astype(frame.dtypes.to_dict(), errors="ignore")
        self._set(pd.concat([frame, added], ignore_index=True))

    def drop(self, rid: int) -> None:
        self.edits.pop(rid, None)
        self._set(self.frame[self.ids != rid])

    def _selector(self, positions: Any) -> slice | np.ndarray:
        """A slice for a run of positions (a page of an unfiltered list), else the positions."""
        if isinstance(positions, slice):
            return positions
        pos = np.asarray(positions, dtype=np.int64)
        if len(pos) and pos[-1] - pos[0] == len(pos) - 1 and (len(pos) == 1 or (np.diff(pos) == 1).all()):
            return slice(int(pos[0]), int(pos[-1]) + 1)
        return pos


class RetailCRMEmulator(Emulator):
    name = "retailcrm"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", rate_per_second: int = 10):
        super().__init__()
        root = Path(data_dir)
        data_dir = root / "retailcrm"
        self.api_key = api_key
        self.limiter = RateLimiter(rate_per_second, 1.0)
        self.clock = Clock(self._as_of(root))
        self._data_lock = threading.RLock()
        self._customers = _Records(_read([data_dir / "customers.parquet"], ["id"]))
        self._orders = _Records(_read([data_dir / "orders.parquet", data_dir / "cart_orders.parquet"], ["id"], narrow=True))
        self._items = _Records(_read([data_dir / "order_items.parquet", data_dir / "cart_order_items.parquet"],
                                     ["order_id", "item_id"], narrow=True), key="order_id")
        self._filtered: dict[tuple, np.ndarray] = {}  # a filtered list's positions, for its next pages
        corporate_file = data_dir / "customers_corporate.json"
        corporate = json.loads(corporate_file.read_text(encoding="utf-8")) if corporate_file.exists() else []
        # id -> the record as JSON text, parsed when asked for (a few thousand nested records)
        self._corporate: dict[int, bytes] = {c["id"]: _json_text(c) for c in corporate}
        carts = _read([data_dir / "carts.parquet"], ["customer_id"])
        if carts is None:
            carts = pd.DataFrame({"customer_id": pd.Series([], dtype=np.int64)})
        self._carts = _Records(carts.drop_duplicates("customer_id", keep="last"), key="customer_id")
        self._cart_writes: dict[int, dict[str, Any]] = {}  # customer id -> the cart the site last sent
        self._cart_count = len(self._carts)
        visits = _read([data_dir / "web_visits.parquet"], ["customer_id"])
        self.web_visits: dict[int, str] = {} if visits is None else dict(zip(visits["customer_id"].astype(int).tolist(),
                                                                              _cutter(visits["last_visit_at"])(slice(0, len(visits)))))
        self.deleted: dict[str, dict[int, dict[str, Any]]] = {"customers": {}, "orders": {}, "customers_corporate": {}}
        self._refresh_stats()
        self.history = {
            "customers": ChangeLog(self._seed_customers(), self._render_seed_customers),
            "orders": ChangeLog(self._seed_orders(), self._render_seed_orders),
            "customers_corporate": ChangeLog(self._seed_corporate(corporate), self._render_seed_corporate),
        }
        pa.default_memory_pool().release_unused()  # the load's Arrow buffers, which the pool would keep

    @property
    def customers(self) -> pd.DataFrame:
        """The customers as they are now (seeded, created and edited through the API)."""
        return self._customers.current()

    @property
    def orders(self) -> pd.DataFrame:
        return self._orders.current()

    @property
    def items(self) -> pd.DataFrame:
        return self._items.frame

    @staticmethod
    def _as_of(root: Path) -> datetime:
        meta = root / "ground_truth" / "meta.json"
        if meta.exists():
            return datetime.strptime(json.loads(meta.read_text())["as_of"], "%Y-%m-%d %H:%M:%S")
        return datetime.now().replace(microsecond=0)

    def _refresh_stats(self) -> None:
        """Orders count and total per customer (orders not cancelled), by customer id."""
        orders = self._orders
        live = ~_mask(orders.column("status") == "cancel-other")
        frame = pd.DataFrame({"customer_id": orders.frame["customer_id"].to_numpy()[live],
                              "totalSumm": orders.frame["totalSumm"].to_numpy()[live]})
        stats = frame.groupby("customer_id")["totalSumm"].agg(["count", "sum"])
        self._stat_ids = stats.index.to_numpy()
        self._stat_count = stats["count"].to_numpy()
        self._stat_sum = stats["sum"].to_numpy()

    def _invalidate(self) -> None:
        """Drop the filtered lists kept for their next pages; every write calls it before and after."""
        self._filtered = {}

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        if req.path == "/api/api-versions":
            return Response.json(200, {"success": True, "versions": ["3.0", "4.0", "5.0"]})
        key = req.headers.get("x-api-key") or req.param("apiKey")
        if not key:
            return _error(403, '"apiKey" is missing.')
        if key != self.api_key:
            return _error(403, 'Wrong "apiKey" value.')
        if not self.limiter.allow(key):
            return self.rate_limited(req)
        if req.path == "/api/credentials":
            return Response.json(200, {"success": True, "scopes": ["customer_read", "order_read", "customer_write", "order_write"],
                                       "siteAccess": "access_full", "sitesAvailable": [SITE]})
        with self._data_lock:
            if req.method == "POST":
                self._invalidate()
                try:
                    return self._post(req)
                finally:
                    self._invalidate()
            if req.method != "GET":
                return _error(405, "Method not allowed")
            return self._get(req)

    def _get(self, req: Request) -> Response:
        path = req.path
        lists = {"/api/v5/customers": ("customers", lambda: len(self._customers), self._filter_customers, self._customer_page),
                 "/api/v5/orders": ("orders", lambda: len(self._orders), self._filter_orders, self._order_page),
                 "/api/v5/customers-corporate": ("customersCorporate", lambda: len(self._corporate),
                                                 lambda r: self._filter_ids(r, self._corporate_ids()), self._corporate_page)}
        if path in lists:
            return self._list(req, *lists[path])
        history = {"/api/v5/customers/history": ("customers", "customerId"), "/api/v5/orders/history": ("orders", "orderId"),
                   "/api/v5/customers-corporate/history": ("customers_corporate", "customerId")}
        if path in history:
            return self._history(req, *history[path])
        if m := CONTACTS.match(path):
            return self._contacts(req, m.group(1))
        if m := CART.match(path):
            return self._cart_get(req, m.group(1), m.group(2))
        if m := ONE.match(path):
            return self._get_one(req, *m.groups())
        return _error(404, "API method not found")

    def _post(self, req: Request) -> Response:
        path = req.path
        if path == "/api/v5/customers/create":
            return self._customer_create(req)
        if m := EDIT.match(path):
            entity, uid = m.groups()
            return {"customers": self._customer_edit, "orders": self._order_edit,
                    "customers-corporate": self._corporate_edit}[entity](req, uid)
        if m := re.match(r"^/api/v5/customer-interaction/([^/]+)/cart/(set|clear)$", path):
            return self._cart_write(req, m.group(1), m.group(2))
        return _error(404, "API method not found")

    def rate_limited(self, req: Request) -> Response:
        return Response.json(429, {"success": False, "errorMsg": "Too Many Requests"},
                             **{"Retry-After": str(self.faults.retry_after)})

    # --- reading ------------------------------------------------------------------------------
    def _paging(self, req: Request) -> tuple[int, int] | Response:
        try:
            page = int(req.param("page", 1))
            limit = int(req.param("limit", 20))
        except ValueError:
            return _error(400, "Errors in the input parameters", {"page": "This value should be of type integer."})
        if limit not in ALLOWED_LIMITS:
            return _error(400, "Errors in the input parameters",
                          {"limit": f"The value you selected is not a valid choice. Allowed: {', '.join(map(str, ALLOWED_LIMITS))}."})
        if page < 1:
            return _error(400, "Errors in the input parameters", {"page": "This value should be greater than or equal to 1."})
        return page, limit

    @staticmethod
    def _envelope(page: int, limit: int, total: int) -> dict[str, Any]:
        return {"limit": limit, "totalCount": total, "currentPage": page,
                "totalPageCount": max(1, math.ceil(total / limit)) if total else 0}

    def _list(self, req: Request, key: str, count: Callable[[], int], select: Callable[[Request], np.ndarray],
              render: Callable[[np.ndarray], list[dict[str, Any]]]) -> Response:
        """A page of a list: a filter's positions are kept for the next pages of the same filter
        (visitors since a date, say), the page's records are cut from the columns and rendered
        together, then the page is written as one piece of JSON."""
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        first, last = (page - 1) * limit, page * limit
        asked = tuple(sorted((k, str(v)) for k, v in req.query.items() if k.startswith("filter[")))
        if asked:
            memo = (req.path, asked)
            if memo not in self._filtered:
                if len(self._filtered) >= 16:
                    self._filtered.pop(next(iter(self._filtered)))
                self._filtered[memo] = select(req)
            chosen = self._filtered[memo]
            total, positions = len(chosen), chosen[first:last]
        else:
            total = count()
            positions = np.arange(min(first, total), min(last, total))
        records = render(positions) if len(positions) else []
        head = dumps({"success": True, "pagination": self._envelope(page, limit, total)})
        return Response(200, head[:-1] + b',"' + key.encode() + b'":[' + b",".join(dumps(r) for r in records) + b"]}")

    def _customer_page(self, positions: np.ndarray) -> list[dict[str, Any]]:
        return self._render_customers(self._customers.rows(positions))

    def _order_page(self, positions: np.ndarray) -> list[dict[str, Any]]:
        return self._render_orders(self._orders.rows(positions))

    def _corporate_page(self, positions: np.ndarray) -> list[dict[str, Any]]:
        ids = self._corporate_ids()
        return [self._render_corporate(int(ids[p])) for p in positions]

    def _history(self, req: Request, entity: str, id_filter: str) -> Response:
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        try:
            since = req.query.get("filter[sinceId]")
            since_id = int(since) if since not in (None, "") else None
            eid = req.query.get(f"filter[{id_filter}]")
            entity_id = int(eid) if eid not in (None, "") else None
        except ValueError:
            return _error(400, "Errors in the input parameters", {"filter[sinceId]": "This value should be of type integer."})
        start, end = req.query.get("filter[startDate]"), req.query.get("filter[endDate]")
        for name, value in (("startDate", start), ("endDate", end)):
            if value and not re.match(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$", value):
                return _error(400, "Errors in the input parameters", {f"filter[{name}]": "This value is not a valid datetime."})
        total, items = self.history[entity].query(since_id=since_id, start=start, end=end, entity_id=entity_id,
                                                  page=page, limit=limit)
        return Response.json(200, {"success": True, "generatedAt": self.clock.text(), "history": items,
                                   "pagination": self._envelope(page, limit, total)})

    def _get_one(self, req: Request, entity: str, uid: str) -> Response:
        by_id = req.param("by", "externalId") == "id"
        if entity == "customers":
            pos = self._customers.find("id" if by_id else "externalId", uid)
            record = None if pos is None else self._customer_page([pos])[0]
            key = "customer"
        elif entity == "orders":
            pos = self._orders.find("id" if by_id else "externalId", uid)
            record = None if pos is None else self._order_page([pos])[0]
            key = "order"
        else:
            cid = _integer(uid) if by_id else min(self._corporate_by_external_id(uid), default=None)
            record = self._render_corporate(cid) if cid in self._corporate else None
            key = "customerCorporate"
        if record is None:
            return _error(404, "Not found")
        return Response.json(200, {"success": True, key: record})

    @staticmethod
    def _ids(req: Request, name: str) -> list[str] | None:
        return req.query.get(f"filter[{name}][]")

    def _filter_ids(self, req: Request, ids: np.ndarray) -> np.ndarray:
        """Positions in the sorted `ids` the filter keeps (all without `filter[ids][]`)."""
        if wanted := self._ids(req, "ids"):
            # the ids as integers where the text is one (what comparing the id column as text matched)
            numbers = [n for n in map(_integer, wanted) if n is not None]
            found = _locate(ids, numbers)
            return np.unique(found[found >= 0])
        return np.arange(len(ids))

    def _filter_customers(self, req: Request) -> np.ndarray:
        records = self._customers
        pos = self._filter_ids(req, records.ids)

        def keep(mask: np.ndarray) -> np.ndarray:
            return pos[mask[pos]]

        if ext := self._ids(req, "externalIds"):
            pos = keep(_mask(records.column("externalId").isin(ext)))
        if sites := self._ids(req, "sites"):
            pos = keep(_mask(records.column("site").isin(sites)))
        if email := req.query.get("filter[email]"):
            pos = keep(_mask(records.column("email").str.strip().str.lower() == email.strip().lower()))
        if date_from := req.query.get("filter[dateFrom]"):
            pos = keep(_mask(_as_text(records.column("createdAt")) >= date_from))
        visit_from, visit_to = req.query.get("filter[lastWebVisitFrom]"), req.query.get("filter[lastWebVisitTo]")
        if visit_from or visit_to:
            visitors = [cid for cid, at in self.web_visits.items() if isinstance(at, str)
                        and (not visit_from or at >= visit_from) and (not visit_to or at[:len(visit_to)] <= visit_to)]
            pos = pos[np.isin(records.ids[pos], visitors)]
        return pos

    def _filter_orders(self, req: Request) -> np.ndarray:
        records = self._orders
        pos = self._filter_ids(req, records.ids)
        if cid := req.query.get("filter[customerId]"):
            number = _integer(cid)
            pos = pos[records.frame["customer_id"].to_numpy()[pos] == number] if number is not None else pos[:0]
        if since := req.query.get("filter[createdAtFrom]"):
            pos = pos[_mask(_as_text(records.column("createdAt")) >= since)[pos]]
        return pos

    def _corporate_ids(self) -> np.ndarray:
        return np.array(sorted(self._corporate), dtype=np.int64)

    def _corporate_record(self, cid: int) -> dict[str, Any] | None:
        raw = self._corporate.get(cid)
        return None if raw is None else orjson.loads(raw)

    def _corporate_by_external_id(self, uid: str) -> list[int]:
        """Ids of the corporate customers with this external id, in the file's order (the JSON
        text is searched first, so only a likely match is parsed)."""
        needle = _json_text(uid)
        return [cid for cid, raw in self._corporate.items()
                if needle in raw and orjson.loads(raw).get("externalId") == uid]

    def _contacts(self, req: Request, uid: str) -> Response:
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        corp = self._find_corporate(uid, req.param("by", "externalId"))
        if corp is None:
            return _error(404, "Not found")
        contacts = [{"isMain": c.get("isMain", False), "id": c["id"], "customer": {**c["customer"], "site": corp["site"]},
                     "companies": []} for c in corp.get("customerContacts", [])]
        return Response.json(200, {"success": True, "contacts": contacts[(page - 1) * limit: page * limit],
                                   "pagination": self._envelope(page, limit, len(contacts))})

    def _find_corporate(self, uid: str, by: str) -> dict[str, Any] | None:
        if by == "id":
            return self._corporate_record(int(uid)) if uid.isdigit() else None
        return next((self._corporate_record(cid) for cid in self._corporate_by_external_id(uid)), None)

    # --- rendering in the API's shape -----------------------------------------------------------
    def _render_customers(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        at = _locate(self._stat_ids, [r["id"] for r in rows])
        held = at >= 0
        counts, totals = np.zeros(len(rows), dtype=np.int64), np.zeros(len(rows))
        counts[held], totals[held] = self._stat_count[at[held]], self._stat_sum[at[held]]
        return [self._render_customer(r, n, total) for r, n, total in zip(rows, counts.tolist(), totals.tolist())]

    @staticmethod
    def _render_customer(r: dict[str, Any], count: int, total: float) -> dict[str, Any]:
        phones = [{"number": p} for p in (r["phone1"], r["phone2"]) if p]
        out: dict[str, Any] = {
            "type": "customer", "id": r["id"], "externalId": r["externalId"], "isContact": False,
            "createdAt": r["createdAt"], "vip": False, "bad": False, "site": r["site"],
            "contragent": {"contragentType": "individual"}, "tags": [],
            "customFields": _custom_fields(r),
            "personalDiscount": 0, "address": {"countryIso": "RU", "city": r["city"]},
            "firstName": r["firstName"], "lastName": r["lastName"], "patronymic": r["patronymic"],
            "sex": r["sex"], "email": r["email"], "phones": phones,
            "subscribed": r["subscribed"],
            "customerSubscriptions": [{"subscription": dict(SUBSCRIPTION), "subscribed": r["subscribed"],
                                       "changedAt": r["subscriptionChangedAt"]}]
            + ([{"subscription": dict(SMS_SUBSCRIPTION), "subscribed": bool(r["smsSubscribed"]),
                 "changedAt": r.get("smsSubscriptionChangedAt")}] if r.get("smsSubscribed") is not None else []),
            "ordersCount": count, "totalSumm": total, "averageSumm": round(total / count, 2) if count else 0,
        }
        if r["externalId"] is None:
            del out["externalId"]
        if r["birthday"]:
            out["birthday"] = r["birthday"]
        if r["emailMarketingUnsubscribedAt"]:
            out["emailMarketingUnsubscribedAt"] = r["emailMarketingUnsubscribedAt"]
        return out

    def _render_orders(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Orders with their items, which sit in one run per order in the item columns."""
        items = self._items
        lo, hi = _span(items.ids, [r["id"] for r in rows])
        counts = hi - lo
        lines = items.rows(np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum()))
        external = self._external_ids([r["customer_id"] for r in rows])
        out, start = [], 0
        for r, n, ext in zip(rows, counts.tolist(), external):
            out.append(self._render_order(r, lines[start:start + n], ext))
            start += n
        return out

    def _render_order(self, r: dict[str, Any], lines: list[dict[str, Any]], ext: str | None) -> dict[str, Any]:
        items = [{
            "id": it["item_id"], "quantity": it["quantity"], "initialPrice": it["initialPrice"],
            "discountTotal": it["discountTotal"], "prices": [{"price": it["initialPrice"] - it["discountTotal"], "quantity": it["quantity"]}],
            "purchasePrice": round(it["initialPrice"] * 0.6, 2), "vatRate": "none",
            "status": "return" if r["status"] == "return" else "new",
            "offer": self._offer(it["article"], it["productName"]),
            "productName": it["productName"],
        } for it in lines]
        payments: dict[str, Any] = {}
        if r["status"] in PAID_STATUSES:
            payment = self._payment(r)
            payments = {str(payment["id"]): payment}
        cust_ref = {"type": "customer", "id": r["customer_id"], "site": SITE}
        if ext:
            cust_ref["externalId"] = ext
        return {
            "slug": r["id"], "id": r["id"], "number": r["number"], "site": SITE,
            "orderType": "eshop-individual", "orderMethod": r["orderMethod"], "countryIso": "RU",
            "createdAt": r["createdAt"], "statusUpdatedAt": r["statusUpdatedAt"], "status": r["status"],
            "summ": r["summ"], "currency": "RUB", "totalSumm": r["totalSumm"], "prepaySum": 0, "purchaseSumm": 0,
            "firstName": r["firstName"], "lastName": r["lastName"], "phone": r["phone"], "email": r["email"],
            "customer": cust_ref, "contact": cust_ref, "items": items, "payments": payments,
            "delivery": {"cost": r["deliveryCost"], "netCost": 0}, "customFields": [],
        }

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def _offer(article: str, name: str) -> dict[str, Any]:
        """Shared between the items of a product (a catalogue is small); callers must not change it."""
        return {"id": zlib.crc32(article.encode()) % 10**6, "externalId": article, "name": name, "article": article}

    @staticmethod
    def _payment(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": int(r["id"]) * 10 + 1, "type": "bank-card", "status": "paid", "amount": r["totalSumm"],
                "paidAt": r["statusUpdatedAt"] or r["createdAt"]}

    def _external_ids(self, customer_ids: list[int]) -> list[str | None]:
        """Each customer's external id now (a deleted one's from its last snapshot)."""
        pos = self._customers.locate(customer_ids)
        held = iter(self._customers.values("externalId", pos[pos >= 0]))
        out = []
        for cid, p in zip(customer_ids, pos.tolist()):
            if p >= 0:
                ext = next(held)
            else:
                snap = self.deleted["customers"].get(cid)
                ext = snap.get("externalId") if snap else None
            out.append(ext if isinstance(ext, str) and ext else None)
        return out

    def _render_corporate(self, cid: int) -> dict[str, Any]:
        """The list/get shape of the fixtures: main contact, company and address, not the full lists
        (those come from `/customers-corporate/{id}/contacts` and friends)."""
        c = self._corporate_record(cid)
        out = {k: v for k, v in c.items() if k not in ("customerContacts", "companies", "addresses") and v is not None}
        main = dict(c.get("mainCustomerContact") or {})
        if main:
            main["companies"] = [{"id": 100 + c["id"], "company": dict(c["mainCompany"])}] if c.get("mainCompany") else []
            out["mainCustomerContact"] = main
        out.update({"marginSumm": 0, "totalSumm": 0, "averageSumm": 0, "ordersCount": 0})
        return out

    def _cart_render(self, cart: dict[str, Any]) -> dict[str, Any]:
        lines = json.loads(cart["items"]) if isinstance(cart["items"], str) else cart["items"]
        out: dict[str, Any] = {
            "externalId": cart["cart_id"], "currency": cart.get("currency") or "RUB",
            "createdAt": cart["created_at"], "updatedAt": cart["updated_at"], "droppedAt": cart.get("dropped_at"),
            "link": f"https://{SITE}.ru/cart/recover?key={cart['cart_id']}",
            "customer": {"id": cart["customer_id"], "site": cart.get("site") or SITE},
            "items": [{"id": i + 1, "offer": {**self._offer(line["article"], line["name"]), "displayName": line["name"]},
                       "quantity": line["quantity"], "price": line["price"],
                       "createdAt": cart["created_at"], "updatedAt": cart["updated_at"]} for i, line in enumerate(lines)],
        }
        if cart.get("cleared_at"):
            out["clearedAt"] = cart["cleared_at"]
        order_id = cart.get("order_id")
        if order_id is not None and order_id > 0:
            out["order"] = {"id": int(order_id), "number": f"{int(order_id)}C"}
        return {k: v for k, v in out.items() if v is not None}

    # --- history seeds and rendering ----------------------------------------------------------
    def _seed_customers(self) -> list[SeedPart]:
        c = self._customers.frame
        unsub = c["emailMarketingUnsubscribedAt"].notna().to_numpy()
        # an unsubscribe item's new value is its own time, `emailMarketingUnsubscribedAt`
        return [SeedPart("created", c["createdAt"], c["id"]),
                SeedPart("email_marketing_unsubscribed_at", c["emailMarketingUnsubscribedAt"][unsub], c["id"][unsub])]

    def _seed_orders(self) -> list[SeedPart]:
        o = self._orders.frame
        moved = ~_mask(o["status"] == "new")
        # The generator dates some status changes after `as_of`; the journal cannot hold the future.
        as_of = self.clock.as_of.strftime("%Y-%m-%d %H:%M:%S")
        at = _as_text(o["statusUpdatedAt"][moved])
        return [SeedPart("created", o["createdAt"], o["id"]),
                SeedPart("status", at.where(_mask(at <= as_of), as_of), o["id"][moved], o["status"][moved])]

    @staticmethod
    def _seed_corporate(corporate: list[dict[str, Any]]) -> list[SeedPart]:
        return [SeedPart("created", pd.Series([c["createdAt"] for c in corporate], dtype=object),
                         pd.Series([c["id"] for c in corporate], dtype=np.int64))]

    def _customer_snapshots(self, cids: list[int]) -> list[dict[str, Any] | None]:
        pos = self._customers.locate(cids)
        held = iter(self._customer_page(pos[pos >= 0]))
        return [next(held) if p >= 0 else self.deleted["customers"].get(cid) for cid, p in zip(cids, pos.tolist())]

    def _customer_snapshot(self, cid: int) -> dict[str, Any] | None:
        return self._customer_snapshots([cid])[0]

    def _customer_stubs(self, cids: list[int]) -> list[dict[str, Any]]:
        return [{"id": cid, **({"externalId": ext} if ext else {}), "site": SITE}
                for cid, ext in zip(cids, self._external_ids(cids))]

    def _customer_stub(self, cid: int) -> dict[str, Any]:
        return self._customer_stubs([cid])[0]

    def _order_snapshots(self, oids: list[int]) -> list[dict[str, Any] | None]:
        pos = self._orders.locate(oids)
        held = iter(self._order_page(pos[pos >= 0]))
        out = []
        for oid, p in zip(oids, pos.tolist()):
            if p < 0:
                out.append(self.deleted["orders"].get(oid))
                continue
            snap = next(held)
            snap["payments"] = list(snap["payments"].values())  # history snapshots list payments
            out.append(snap)
        return out

    def _order_snapshot(self, oid: int) -> dict[str, Any] | None:
        return self._order_snapshots([oid])[0]

    def _order_stubs(self, oids: list[int]) -> list[dict[str, Any]]:
        pos = self._orders.locate(oids)
        held = iter(self._orders.values("status", pos[pos >= 0]))
        out = []
        for oid, p in zip(oids, pos.tolist()):
            snap = {"id": oid, "site": SITE, "status": next(held)} if p >= 0 else self.deleted["orders"].get(oid) or {"id": oid}
            out.append({k: snap[k] for k in ("id", "externalId", "site", "status") if k in snap})
        return out

    def _order_stub(self, oid: int) -> dict[str, Any]:
        return self._order_stubs([oid])[0]

    def _render_seed_customers(self, items: list[SeedItem]) -> list[dict[str, Any]]:
        created = [eid for _, _, eid, kind, _ in items if kind == "created"]
        changed = [eid for _, _, eid, kind, _ in items if kind != "created"]
        snapshots = dict(zip(created, self._customer_snapshots(created)))
        stubs = dict(zip(changed, self._customer_stubs(changed)))
        out = []
        for item_id, at, eid, kind, _ in items:
            if kind == "created":
                out.append({"id": item_id, "createdAt": at, "created": True, "source": "api", "field": "id",
                            "apiKey": {"current": False}, "oldValue": None, "newValue": eid,
                            "customer": snapshots[eid] or {"id": eid}})
            else:
                out.append({"id": item_id, "createdAt": at, "source": "user", "user": {"id": 1}, "field": kind,
                            "oldValue": None, "newValue": at, "customer": stubs[eid]})
        return out

    def _render_seed_orders(self, items: list[SeedItem]) -> list[dict[str, Any]]:
        created = [eid for _, _, eid, kind, _ in items if kind == "created"]
        changed = [eid for _, _, eid, kind, _ in items if kind != "created"]
        snapshots = dict(zip(created, self._order_snapshots(created)))
        stubs = dict(zip(changed, self._order_stubs(changed)))
        out = []
        for item_id, at, eid, kind, status in items:
            if kind == "created":
                snap = dict(snapshots[eid] or {"id": eid})
                snap.pop("status", None)  # as recorded: the created item carries the status as its diff
                out.append({"id": item_id, "createdAt": at, "created": True, "source": "api", "field": "status",
                            "apiKey": {"current": False}, "oldValue": None, "newValue": {"code": "new"}, "order": snap})
            else:
                out.append({"id": item_id, "createdAt": at, "source": "user", "user": {"id": 1}, "field": kind,
                            "oldValue": {"code": "new"}, "newValue": {"code": status}, "order": stubs[eid]})
        return out

    def _render_seed_corporate(self, items: list[SeedItem]) -> list[dict[str, Any]]:
        out = []
        for item_id, at, eid, _, _ in items:
            snap = self._corporate_record(eid) or self.deleted["customers_corporate"].get(eid) or {"id": eid}
            out.append({"id": item_id, "createdAt": at, "created": True, "source": "api", "field": "id",
                        "apiKey": {"current": False}, "oldValue": None, "newValue": eid,
                        "customer": {k: v for k, v in snap.items() if v is not None}})
        return out

    def _log(self, entity: str, eid: int, ref_key: str, ref: dict[str, Any], field: str, old: Any, new: Any,
             **extra: Any) -> None:
        source = extra.pop("source", "api")
        item = {"createdAt": self.clock.text(), **extra, "source": source, "field": field,
                "oldValue": old, "newValue": new, ref_key: ref, "_entity_id": eid}
        if source == "api":
            item["apiKey"] = {"current": True}
        self.history[entity].append(item)

    # --- writes -------------------------------------------------------------------------------
    @staticmethod
    def _entity_json(req: Request, name: str) -> dict[str, Any] | Response:
        raw = req.form.get(name)
        if raw is None:
            return _error(400, f"Parameter '{name}' is missing")
        try:
            value = json.loads(raw)
        except ValueError:
            return _error(400, "Errors in the entity format", {name: "Invalid JSON"})
        if not isinstance(value, dict):
            return _error(400, "Errors in the entity format", {name: "An object is expected"})
        return value

    def _customer_pos(self, uid: str, by: str) -> int | None:
        return self._customers.find("id" if by == "id" else "externalId", uid)

    def _customer_edit(self, req: Request, uid: str) -> Response:
        data = self._entity_json(req, "customer")
        if isinstance(data, Response):
            return data
        pos = self._customer_pos(uid, req.param("by", "externalId"))
        if pos is None:
            return _error(404, "Not found")
        cid = int(self._customers.ids[pos])
        self._apply_customer(pos, cid, data)
        return Response.json(200, {"success": True, "id": cid})

    def _customer_create(self, req: Request) -> Response:
        data = self._entity_json(req, "customer")
        if isinstance(data, Response):
            return data
        cid = max([int(self._customers.ids.max()), *self.deleted["customers"]]) + 1  # ids are never reused
        now = self.clock.text()
        row = {col: None for col in self._customers.frame.columns}
        row.update({"id": cid, "site": req.form.get("site") or SITE, "createdAt": now, "email": "",
                    "subscribed": False, "subscriptionChangedAt": now, "sex": data.get("sex"), "city": None})
        self._customers.append(row)
        self._apply_customer(len(self._customers) - 1, cid, data, log=False)
        self._log("customers", cid, "customer", self._customer_snapshot(cid), "id", None, cid, created=True)
        return Response.json(201, {"success": True, "id": cid})

    def _apply_customer(self, pos: int, cid: int, data: dict[str, Any], log: bool = True) -> None:
        records = self._customers
        changes: list[tuple[str, Any, Any]] = []
        for key, (col, field) in CUSTOMER_FIELDS.items():
            if key in data:
                old = records.value(pos, col)
                records.set(pos, col, data[key])
                changes.append((field, old, data[key]))
        if "phones" in data:
            numbers = [p.get("number") for p in data["phones"] if isinstance(p, dict)] + [None, None]
            for col, new in zip(("phone1", "phone2"), numbers[:2]):
                old = records.value(pos, col)
                if old != new:
                    records.set(pos, col, new)
                    changes.append(("phones", old, new))
        unsub = self._unsubscribe_change(data)
        if unsub is not _NO_CHANGE:
            old = records.value(pos, "emailMarketingUnsubscribedAt")
            if old != unsub:
                records.set(pos, "emailMarketingUnsubscribedAt", unsub)
                records.set(pos, "subscribed", unsub is None)
                records.set(pos, "subscriptionChangedAt", unsub or self.clock.text())
                changes.append(("email_marketing_unsubscribed_at", old, unsub))
        if log:
            for field, old, new in changes:
                if old != new:
                    self._log("customers", cid, "customer", self._customer_stub(cid), field, old, new)

    def _unsubscribe_change(self, data: dict[str, Any]) -> Any:
        """`emailMarketingUnsubscribedAt` wins and the legacy `subscribed` flag maps onto it: the new
        unsubscribe time, None for "subscribed again", or `_NO_CHANGE`."""
        if "emailMarketingUnsubscribedAt" in data:
            return data["emailMarketingUnsubscribedAt"]
        if "subscribed" in data:
            return None if data["subscribed"] else self.clock.text()
        return _NO_CHANGE

    def _order_edit(self, req: Request, uid: str) -> Response:
        data = self._entity_json(req, "order")
        if isinstance(data, Response):
            return data
        records = self._orders
        pos = records.find("id" if req.param("by", "externalId") == "id" else "number", uid)
        if pos is None:
            return _error(404, "Not found")
        oid = int(records.ids[pos])
        old = records.value(pos, "status")
        if "status" in data and data["status"] != old:
            records.set(pos, "status", data["status"])
            records.set(pos, "statusUpdatedAt", self.clock.text())
            self._log("orders", oid, "order", self._order_stub(oid), "status", {"code": old}, {"code": data["status"]})
            if data["status"] in PAID_STATUSES and old not in PAID_STATUSES:
                payment = self._payment(records.rows([pos])[0])
                self._log("orders", oid, "order", self._order_stub(oid), "payments", None,
                          {"id": payment["id"], "type": payment["type"]}, payment=payment)
            self._refresh_stats()
        return Response.json(200, {"success": True, "id": oid})

    def _corporate_edit(self, req: Request, uid: str) -> Response:
        data = self._entity_json(req, "customerCorporate")
        if isinstance(data, Response):
            return data
        corp = self._find_corporate(uid, req.param("by", "externalId"))
        if corp is None:
            return _error(404, "Not found")
        for key, field in (("nickName", "nick_name"), ("vip", "vip"), ("externalId", "external_id")):
            if key in data and data[key] != corp.get(key):
                old, corp[key] = corp.get(key), data[key]
                self._log("customers_corporate", corp["id"], "customer", {"id": corp["id"], "site": corp["site"]}, field, old, data[key])
        self._corporate[corp["id"]] = _json_text(corp)
        return Response.json(200, {"success": True, "id": corp["id"]})

    # --- carts --------------------------------------------------------------------------------
    def _cart_customer(self, uid: str, by: str) -> int | None:
        pos = self._customer_pos(uid, by)
        return None if pos is None else int(self._customers.ids[pos])

    def _cart(self, cid: int) -> dict[str, Any] | None:
        """The customer's cart: the one the site last sent, else the seeded one."""
        if cid in self._cart_writes:
            return self._cart_writes[cid]
        pos = self._carts.pos(cid)
        return None if pos is None else self._carts.rows([pos])[0]

    def _cart_get(self, req: Request, site: str, uid: str) -> Response:
        if site != SITE:
            return _error(404, "Not found", {"site": f"Site '{site}' not found"})
        cid = self._cart_customer(uid, req.param("by", "externalId"))
        if cid is None:
            return _error(404, "Not found")
        cart = self._cart(cid)
        # No cart: a bare success (the CMS modules test `cart.externalId`, not the status).
        return Response.json(200, {"success": True, "cart": self._cart_render(cart)} if cart else {"success": True})

    def _cart_write(self, req: Request, site: str, action: str) -> Response:
        if site != SITE:
            return _error(404, "Not found", {"site": f"Site '{site}' not found"})
        data = self._entity_json(req, "cart")
        if isinstance(data, Response):
            return data
        who = data.get("customer") or {}
        cid = self._cart_customer(str(who["id"]), "id") if "id" in who else (
            self._cart_customer(str(who["externalId"]), "externalId") if "externalId" in who else None)
        if cid is None:
            return _error(400, "Errors in the entity format", {"cart.customer": "Customer not found"})
        now = self.clock.text() + "+03:00"
        cart = self._cart(cid)
        if action == "set":
            current = cart if cart is not None and not cart.get("cleared_at") else None
            lines = [{"article": (i.get("offer") or {}).get("externalId", "?"), "name": (i.get("offer") or {}).get("name", "?"),
                      "quantity": i.get("quantity", 1), "price": i.get("price", 0)} for i in data.get("items", [])]
            self._cart_writes[cid] = {
                "cart_id": data.get("externalId") or (current or {}).get("cart_id") or f"cart-{cid}-{self._cart_count}",
                "customer_id": cid, "site": site, "currency": data.get("currency", "RUB"),
                "created_at": (current or {}).get("created_at") or data.get("createdAt") or now,
                "updated_at": data.get("updatedAt") or now, "dropped_at": data.get("droppedAt") or now,
                "cleared_at": None, "order_id": -1, "items": lines}
            if cart is None:
                self._cart_count += 1
            self.web_visits[cid] = self.clock.text()
        else:
            if cart is None:
                return _error(404, "Not found")
            self._cart_writes[cid] = {**cart, "cleared_at": data.get("clearedAt") or now,
                                      "order_id": int((data.get("order") or {}).get("id") or -1)}
        return Response.json(200, {"success": True})

    # --- control ------------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        if req.path != "/_emulator/delete" or req.method != "POST":
            return None
        body = json.loads(req.body or b"{}")
        entity, eid = body.get("entity"), int(body.get("id", 0))
        with self._data_lock:
            self._invalidate()
            try:
                return self._delete(entity, eid)
            finally:
                self._invalidate()

    def _delete(self, entity: str | None, eid: int) -> Response:
        if entity == "customers":
            snap = self._customer_snapshot(eid)
            if snap is None or eid in self.deleted["customers"]:
                return Response.json(404, {"error": "no such customer"})
            self.deleted["customers"][eid] = snap
            self._customers.drop(eid)
            ref_key = "customer"
        elif entity == "orders":
            snap = self._order_snapshot(eid)
            if snap is None or eid in self.deleted["orders"]:
                return Response.json(404, {"error": "no such order"})
            self.deleted["orders"][eid] = snap
            self._orders.drop(eid)
            self._refresh_stats()
            ref_key = "order"
        elif entity == "customers_corporate":
            snap = self._corporate_record(eid)
            if snap is None:
                return Response.json(404, {"error": "no such corporate customer"})
            del self._corporate[eid]
            self.deleted["customers_corporate"][eid] = snap
            ref_key = "customer"
        else:
            return Response.json(400, {"error": "entity is customers, orders or customers_corporate"})
        self._log(entity, eid, ref_key, snap, "id", eid, None, deleted=True, source="user", user={"id": 1})
        return Response.json(200, {"ok": True})


def _custom_fields(r: dict[str, Any]) -> dict[str, Any] | list:
    """User fields as the API sends them: an object keyed by field code, `[]` when none is set."""
    fields = {"loyalty_card": r.get("loyaltyCard"), "ads_consent": r.get("adsConsent"),
              "ads_consent_at": r.get("adsConsentAt")}
    fields = {k: v for k, v in fields.items() if v is not None}
    return fields or []


def main() -> None:
    cli(lambda a: RetailCRMEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8301)


if __name__ == "__main__":
    main()
