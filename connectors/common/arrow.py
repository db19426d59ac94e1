"""Large flat pages as Arrow tables, so dlt takes its Arrow path and skips the row-by-row item
normaliser (most of a statistics run's time: Unisender at 20,000 people spent 35 of 59 s there).

A page becomes one table only when every column holds one scalar Python type (int, float, bool,
str or an aware datetime) or None, so the column types dlt creates are the ones it infers from the
same rows as dicts (int -> bigint, str -> text, aware datetime -> timestamp with time zone). A
column that is None on the whole page is left out, as dlt does for dict rows; a later page or an
earlier load supplies it. Anything else (mixed types, nested values, an int beyond 64 bits) comes
back as the dict rows, and dlt treats it as before.

dlt adds `_dlt_load_id` and `_dlt_id` to dict rows but to Arrow tables only when the parquet
normaliser is told to; `keep_dlt_columns()` tells it, so the raw tables keep both columns
(orchestration/build_inputs.py fingerprints them by max(_dlt_load_id)).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dlt

_PARQUET_NORMALIZER = "normalize.parquet_normalizer"


def keep_dlt_columns() -> None:
    """Have dlt add `_dlt_load_id` and `_dlt_id` to Arrow items, as it does to dict rows. Set in the
    running process's dlt config (the CLI and Dagster both build the source in the process that
    runs the pipeline), so no user setting is needed."""
    dlt.config[f"{_PARQUET_NORMALIZER}.add_dlt_load_id"] = True
    dlt.config[f"{_PARQUET_NORMALIZER}.add_dlt_id"] = True


def _arrow_type(pa: Any, values: list[Any]) -> Any:
    """The Arrow type for one column's values; None when the column is all None; raises TypeError
    for a column dlt would not type the same way as dict rows."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return None
    if len(kinds) > 1:
        raise TypeError("mixed types")
    kind = kinds.pop()
    if kind is str:
        return pa.string()
    if kind is int:
        return pa.int64()
    if kind is float:
        return pa.float64()
    if kind is bool:
        return pa.bool_()
    if kind is datetime:
        # Arrow stores aware datetimes as UTC instants, as dlt does; a naive one dlt would keep naive.
        if None in {v.tzinfo for v in values if v is not None}:
            raise TypeError("naive datetime")
        return pa.timestamp("us", tz="UTC")
    raise TypeError(f"{kind.__name__} values")


def rows_as_arrow(rows: list[dict[str, Any]]) -> Any:
    """`rows` as one `pyarrow.Table` (columns in first-seen order), or `rows` unchanged when a
    column does not hold one scalar type."""
    if not rows:
        return rows
    import pyarrow as pa

    names = list(dict.fromkeys(name for row in rows for name in row))
    arrays, fields = [], []
    try:
        for name in names:
            values = [row.get(name) for row in rows]
            kind = _arrow_type(pa, values)
            if kind is None:
                continue
            arrays.append(pa.array(values, type=kind))
            fields.append(pa.field(name, kind))
    except (TypeError, OverflowError, pa.ArrowException):
        return rows
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


__all__ = ["keep_dlt_columns", "rows_as_arrow"]
