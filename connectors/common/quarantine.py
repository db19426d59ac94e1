"""Rows we could not use go to a `quarantine` table in the source's own raw dataset.

Each row says where it came from (`source`, `position`: file and line, or endpoint and page),
why it was refused (`reason`) and keeps the original payload, so nothing is silently dropped and
someone can fix it at the source. Runs report the count; the payload never goes to a log. A row keyed by a hash of where and what,
so re-reading the same broken input does not pile up copies.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import dlt

from connectors.common.loaded import has_table

QUARANTINE_TABLE = "quarantine"


QUARANTINE_HINTS = dict(write_disposition="merge", primary_key="quarantine_id")
QUARANTINE_COLUMNS = {
    "quarantine_id": {"data_type": "text", "nullable": False},
    "source": {"data_type": "text"},
    "position": {"data_type": "text"},
    "reason": {"data_type": "text"},
    "payload": {"data_type": "text"},
    "quarantined_at": {"data_type": "timestamp"},
}


def quarantine_resource():
    """Declares the quarantine table as a resource of its own so it exists (and shows as an asset)
    even on a run that refused nothing; the rows themselves arrive from the other resources."""

    @dlt.resource(name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **QUARANTINE_HINTS)
    def quarantine():
        # An empty table still gets created (dlt creates none for a resource that yields nothing),
        # once: the marker costs a merge of no rows on every run.
        if not has_table(QUARANTINE_TABLE, QUARANTINE_COLUMNS):
            yield dlt.mark.materialize_table_schema()

    return quarantine


def quarantined(source: str, position: str, reason: str, payload: Any) -> Any:
    """Wrap a refused item so a resource can yield it beside its good rows."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "backslashreplace")
    if not isinstance(payload, str):
        payload = json.dumps(payload, ensure_ascii=False, default=str)
    key = hashlib.sha256(f"{source}\x1f{position}\x1f{reason}\x1f{payload}".encode()).hexdigest()[:32]
    row = {
        "quarantine_id": key,
        "source": source,
        "position": position,
        "reason": reason,
        "payload": payload,
        "quarantined_at": datetime.now(timezone.utc),
    }
    return dlt.mark.with_hints(
        row,
        dlt.mark.make_hints(table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, merge_key=[], **QUARANTINE_HINTS),
        create_table_variant=True,
    )
