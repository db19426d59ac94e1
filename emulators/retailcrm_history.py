"""The RetailCRM emulator's change journal: what `/customers/history`, `/orders/history` and
`/customers-corporate/history` page through.

RetailCRM numbers history items per entity type with an increasing `id`; `filter[sinceId]=N`
returns the items after N in id order, `filter[startDate]`/`filter[endDate]` bound `createdAt`
(account-local 'Y-m-d H:i:s'), and pages are `page`/`limit` like every list (spec §1).

A demo account starts with years of history (one `created` item per customer and order, status
changes, unsubscribes). Keeping millions of rendered dicts would cost gigabytes, so the seeded part
is a few NumPy columns rendered only when a page asks for them; items appended later (API writes
and control calls during a test) are stored whole, as the API would have recorded them then.
Seeded `created` snapshots are rendered from the entity's current state: a simplification, the
real journal freezes the snapshot at creation.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable

import numpy as np
import pandas as pd

# kind, entity_id, created_at, old, new, item id -> rendered history item
SeedRenderer = Callable[[str, int, str, Any, Any, int], dict[str, Any]]


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


class ChangeLog:
    """One entity type's journal: seeded columns first, appended items after (ids keep rising)."""

    def __init__(self, seed: pd.DataFrame, render_seed: SeedRenderer):
        seed = seed.sort_values("created_at", kind="stable", ignore_index=True)
        n = len(seed)
        self._ids = np.arange(1, n + 1, dtype=np.int64)
        self._created = seed["created_at"].to_numpy(dtype="U19") if n else np.array([], dtype="U19")
        self._entity = seed["entity_id"].to_numpy(dtype=np.int64) if n else np.array([], dtype=np.int64)
        self._kind = seed["kind"].to_numpy(dtype=object)
        self._old = seed["old"].to_numpy(dtype=object)
        self._new = seed["new"].to_numpy(dtype=object)
        self._render_seed = render_seed
        self._items: list[dict[str, Any]] = []
        self._next_id = n + 1
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
        mask = np.ones(len(self._ids), dtype=bool)
        if since_id is not None:
            mask &= self._ids > since_id
        if start:
            mask &= self._created >= start
        if end:
            mask &= self._created <= end
        if entity_id is not None:
            mask &= self._entity == entity_id
        seeded = np.flatnonzero(mask)
        appended = [
            item for item in self._items
            if (since_id is None or item["id"] > since_id)
            and (not start or item["createdAt"] >= start)
            and (not end or item["createdAt"] <= end)
            and (entity_id is None or item["_entity_id"] == entity_id)
        ]
        total = len(seeded) + len(appended)
        lo, hi = (page - 1) * limit, page * limit
        out = [self._render(int(i)) for i in seeded[lo:hi]]
        rest_lo, rest_hi = max(0, lo - len(seeded)), max(0, hi - len(seeded))
        out += [{k: v for k, v in item.items() if k != "_entity_id"} for item in appended[rest_lo:rest_hi]]
        return total, out

    def _render(self, i: int) -> dict[str, Any]:
        return self._render_seed(self._kind[i], int(self._entity[i]), str(self._created[i]), self._old[i],
                                 self._new[i], int(self._ids[i]))
