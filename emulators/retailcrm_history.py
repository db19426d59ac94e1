"""The RetailCRM emulator's change journal: what `/customers/history`, `/orders/history` and
`/customers-corporate/history` page through.

RetailCRM numbers history items per entity type with an increasing `id`; `filter[sinceId]=N`
returns the items after N in id order, `filter[startDate]`/`filter[endDate]` bound `createdAt`
(account-local 'Y-m-d H:i:s'), and pages are `page`/`limit` like every list (spec §1).

A demo account starts with years of history (one `created` item per customer and order, status
changes, unsubscribes): millions of items at a million people. The seeded part is held as compact
columns in time order (the time as 19-byte text, the entity id, the kind and a detail as small
codes; an item's id is its position + 1), so `sinceId` and the date bounds are binary searches and
only a page's items are ever rendered. Items appended later (API writes and control calls during a
test) are stored whole, as the API would have recorded them then. Seeded `created` snapshots are
rendered from the entity's current state: a simplification, the real journal freezes the snapshot
at creation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# (item id, createdAt, entity id, kind, detail) of a page's seeded items -> the rendered items
SeedItem = tuple[int, str, int, str, Any]
SeedRenderer = Callable[[list[SeedItem]], list[dict[str, Any]]]
TIME_WIDTH = 19  # 'Y-m-d H:i:s'
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_SEPARATORS = [4, 7, 10, 13, 16]


class Clock:
    """The account's wall clock: the generator's `as_of` plus the time the emulator has run.

    The demo data ends at `as_of` (account-local); changes made while the emulator runs must come
    after everything seeded, whatever the host's clock says.
    """

    def __init__(self, as_of: datetime):
        self.as_of = as_of
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self.as_of + timedelta(seconds=time.monotonic() - self._started)

    def text(self) -> str:
        return self.now().strftime("%Y-%m-%d %H:%M:%S")

    def advance(self, by: timedelta) -> None:
        """Move the account's clock on, as if `by` had passed (tests of what a later run does)."""
        self.as_of += by


@dataclass
class SeedPart:
    """Seeded items of one kind: their times, entity ids and (optionally) a detail each, a value
    from a small set such as an order's status."""

    kind: str
    created_at: pd.Series
    entity_id: pd.Series
    detail: pd.Series | None = None


def _time_text(values: pd.Series) -> np.ndarray:
    """Times as 19-byte text: a fixed-size cast of the Arrow column when every value is 19 bytes
    long, through Python objects otherwise (seconds at millions of items)."""
    arr = pa.chunked_array([pa.array(values.astype(pd.ArrowDtype(pa.string())).array)]) if len(values) else None
    try:
        fixed = pc.cast(pc.cast(arr, pa.binary()), pa.binary(TIME_WIDTH)).combine_chunks() if arr is not None else None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        fixed = None
    if fixed is not None and not fixed.null_count:
        return np.frombuffer(fixed.buffers()[1], dtype=f"S{TIME_WIDTH}", count=len(fixed), offset=fixed.offset * TIME_WIDTH)
    return np.array([str(v).encode() for v in values.tolist()], dtype=f"S{TIME_WIDTH}")


def _time_order(text: np.ndarray) -> np.ndarray:
    """The stable order of 19-byte times. Sorting the text takes seconds at millions of items;
    when every value is 'YYYY-MM-DD hh:mm:ss' its digits as one integer sort the same way, fast."""
    raw = text.view(np.uint8).reshape(len(text), TIME_WIDTH)
    key = np.zeros(len(text), dtype=np.int64)
    plain = bool(len(text)) and all((raw[:, i] == raw[0, i]).all() for i in _SEPARATORS)
    for i in _DIGITS if plain else ():
        digit = raw[:, i] - np.uint8(ord("0"))
        if (digit > 9).any():
            plain = False
            break
        key = key * 10 + digit
    return np.argsort(key if plain else text, kind="stable")


class ChangeLog:
    """One entity type's journal: seeded columns first, appended items after (ids keep rising)."""

    def __init__(self, seed: list[SeedPart], render_seed: SeedRenderer):
        created = np.concatenate([_time_text(p.created_at) for p in seed] or [np.array([], dtype=f"S{TIME_WIDTH}")])
        order = _time_order(created)
        self._created = created[order]
        entity = np.concatenate([p.entity_id.to_numpy(dtype=np.int64) for p in seed] or [np.array([], dtype=np.int64)])[order]
        small = not len(entity) or (entity.min() >= np.iinfo(np.int32).min and entity.max() <= np.iinfo(np.int32).max)
        self._entity = entity.astype(np.int32) if small else entity
        self._kinds = [p.kind for p in seed]
        self._kind = np.concatenate([np.full(len(p.entity_id), k, dtype=np.int8) for k, p in enumerate(seed)]
                                    or [np.array([], dtype=np.int8)])[order]
        self._details: list[Any] = []
        codes = []
        for p in seed:
            if p.detail is None:
                codes.append(np.full(len(p.entity_id), -1, dtype=np.int16))
                continue
            detail = pd.Categorical(p.detail)
            codes.append(np.where(detail.codes >= 0, detail.codes + len(self._details), -1).astype(np.int16))
            self._details += detail.categories.tolist()
        self._details.append(None)  # code -1, no detail, reads the last
        self._detail = np.concatenate(codes or [np.array([], dtype=np.int16)])[order]
        self._render_seed = render_seed
        self._items: list[dict[str, Any]] = []
        self._next_id = len(self._created) + 1
        self._lock = threading.Lock()

    @property
    def last_id(self) -> int:
        return self._next_id - 1

    def append(self, item: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            item = {"id": self._next_id, **item}
            self._next_id += 1
            self._items.append(item)
        return item

    def query(self, *, since_id: int | None, start: str | None, end: str | None, entity_id: int | None,
              page: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        n = len(self._created)
        lo = 0 if since_id is None else min(max(since_id, 0), n)  # item i has id i + 1
        hi = n
        if start:
            lo = max(lo, int(np.searchsorted(self._created, start.encode(), "left")))
        if end:
            hi = min(hi, int(np.searchsorted(self._created, end.encode(), "right")))
        hi = max(lo, hi)
        seeded: range | np.ndarray = range(lo, hi)
        if entity_id is not None:
            seeded = lo + np.flatnonzero(self._entity[lo:hi] == entity_id)
        appended = [
            item for item in self._items
            if (since_id is None or item["id"] > since_id)
            and (not start or item["createdAt"] >= start)
            and (not end or item["createdAt"] <= end)
            and (entity_id is None or item["_entity_id"] == entity_id)
        ]
        total = len(seeded) + len(appended)
        first, last = (page - 1) * limit, page * limit
        out = self._render(seeded[first:last])
        rest_lo, rest_hi = max(0, first - len(seeded)), max(0, last - len(seeded))
        out += [{k: v for k, v in item.items() if k != "_entity_id"} for item in appended[rest_lo:rest_hi]]
        return total, out

    def _render(self, positions: range | np.ndarray) -> list[dict[str, Any]]:
        if not len(positions):
            return []
        idx = np.asarray(positions)
        items = zip((idx + 1).tolist(), self._created[idx].tolist(), self._entity[idx].tolist(),
                    self._kind[idx].tolist(), self._detail[idx].tolist())
        return self._render_seed([(item_id, at.decode(errors="replace"), eid, self._kinds[kind], self._details[detail])
                                  for item_id, at, eid, kind, detail in items])
