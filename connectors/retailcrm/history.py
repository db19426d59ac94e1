"""What a RetailCRM history item means for the raw tables; pure functions, tested on the recorded
fixtures (shared/fixtures/retailcrm/*history*.json).

A history item is a field-level diff: `{id, createdAt, source, field, oldValue, newValue,
customer|order: {...}}`, with `created: true` carrying the full snapshot of a new record and
`deleted: true` (field `id`, newValue null) the last snapshot of a removed one. The connector
does not rebuild records from diffs (field names are snake_case paths such as `address.city`,
`order_product.status`, `payments.status`, and the mapping back to the list shape is long and
undocumented); it re-reads the records the journal names from the list endpoint and keeps the
journal itself raw. Only deletions need the journal's snapshot: the list no longer has them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Touched:
    """Records a stretch of journal names: changed ones (to re-read) and deleted ones (with the
    last snapshot and when), in journal order."""

    changed: dict[int, None] = field(default_factory=dict)  # an ordered set
    deleted: dict[int, tuple[dict[str, Any], str | None]] = field(default_factory=dict)

    def add(self, item: dict[str, Any], ref_key: str) -> None:
        ref = item[ref_key]
        entity_id = ref["id"]
        if item.get("deleted"):
            self.deleted[entity_id] = (ref, item.get("createdAt"))
            self.changed.pop(entity_id, None)
        elif entity_id not in self.deleted:
            self.changed[entity_id] = None

    @property
    def to_reread(self) -> list[int]:
        return list(self.changed)


def invalid_item(item: Any, ref_key: str) -> str | None:
    """Why a history item cannot be used, or None."""
    if not isinstance(item, dict):
        return "history item is not an object"
    if not isinstance(item.get("id"), int):
        return "history item has no integer id"
    ref = item.get(ref_key)
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), int):
        return f"history item names no {ref_key} id"
    return None


def history_row(item: dict[str, Any]) -> dict[str, Any]:
    """The item as received, except `oldValue`/`newValue`, kept as their JSON text: they are a
    string in one item, a number or `{"code": ...}` in the next, and one typed column cannot hold
    them all (dlt would split them into `__v_*` variant columns)."""
    row = dict(item)
    for key in ("oldValue", "newValue"):
        row[key] = None if item.get(key) is None else json.dumps(item[key], ensure_ascii=False)
    return row


def tombstone(snapshot: dict[str, Any], deleted_at: str | None) -> dict[str, Any]:
    """A deleted record as the raw table keeps it: its last snapshot, flagged."""
    return {**snapshot, "is_deleted": True, "deleted_at": deleted_at}


def live(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "is_deleted": False, "deleted_at": None}


def payments_list(payments: Any) -> list[dict[str, Any]]:
    """Payments as a list whichever way they came: `/orders` keys them by payment id (`{}` when
    there are none), history snapshots list them, and a history item about one payment carries it
    alone under `payment`."""
    if isinstance(payments, dict):
        if payments and not all(str(k).isdigit() for k in payments):
            return [payments]  # a single payment object, not a map keyed by payment id
        return [p for p in payments.values() if isinstance(p, dict)]
    if isinstance(payments, list):
        return [p for p in payments if isinstance(p, dict)]
    return []
