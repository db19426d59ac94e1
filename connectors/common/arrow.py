"""Large flat pages as Arrow tables, so dlt takes its Arrow path and skips the row-by-row item
normaliser (most of a statistics run's time: Unisender at 20,000 people spent 35 of 59 s there).

A page becomes one table only when every column holds one scalar Python type (int, float, bool,
str or an aware datetime) or None, so the column types dlt creates are the ones it infers from the
same rows as dicts (int -> bigint, str -> text, aware datetime -> timestamp with time zone). A
column that is None on the whole page is left out, as dlt does for dict rows; a later page or an
earlier load supplies it. Anything else (mixed types, nested values, an int beyond 64 bits) comes
back as the dict rows, and dlt treats it as before.

A resource that declares its column types can pass them (`hints`, keyed by dlt's snake_case names)
and have pages with nested values converted too: a column declared `json` carries each object or
list as its JSON text (dlt keeps the declared type and DuckDB casts the text on load; a RetailCRM
full read spent most of its time in dlt's normaliser otherwise), a `double` column takes ints as
floats, as dlt coerces them. A scalar in a `json` column, or a nested value in an undeclared one,
still returns the dict rows.

dlt adds `_dlt_load_id` and `_dlt_id` to dict rows but to Arrow tables only when the parquet
normaliser is told to; `keep_dlt_columns()` tells it, so the raw tables keep both columns
(orchestration/build_inputs.py fingerprints them by max(_dlt_load_id)).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Sequence

import dlt
import orjson

_PARQUET_NORMALIZER = "normalize.parquet_normalizer"
# dlt warns on every Arrow page whose column type differs from the declared one, which is what a
# JSON column sent as text does by design; the filter below drops only that message.
_HINTS_DIFFER = "when merging arrow schema with dlt schema, several column hints were different"


class _JsonAsText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _HINTS_DIFFER not in record.getMessage()


_JSON_AS_TEXT = _JsonAsText()


def keep_dlt_columns() -> None:
    """Have dlt add `_dlt_load_id` and `_dlt_id` to Arrow items, as it does to dict rows. Set in the
    running process's dlt config (the CLI and Dagster both build the source in the process that
    runs the pipeline), so no user setting is needed."""
    dlt.config[f"{_PARQUET_NORMALIZER}.add_dlt_load_id"] = True
    dlt.config[f"{_PARQUET_NORMALIZER}.add_dlt_id"] = True
    logger = logging.getLogger("dlt")
    if _JSON_AS_TEXT not in logger.filters:
        logger.addFilter(_JSON_AS_TEXT)


@lru_cache(maxsize=4096)
def _snake(name: str) -> str:
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_identifier(name)


_NONE = type(None)


def _hinted(pa: Any, values: Sequence[Any], data_type: str | None) -> tuple[Any, Sequence[Any]]:
    """(Arrow type, values) for a column the resource declared; raises TypeError when a value
    would not be what dlt makes of it as a dict row. The common case is told by the set of the
    values' exact types (one C-level pass); only a column that fails it is looked at value by
    value, so subclasses of dict, list, int and float are still taken."""
    if data_type == "json":
        if not set(map(type, values)) <= {dict, list, _NONE} \
                and any(v is not None and not isinstance(v, (dict, list)) for v in values):
            raise TypeError("scalar in a json column")
        # orjson's bytes go to Arrow as they are: Arrow checks them as UTF-8, no str made per value
        return pa.string(), [None if v is None else orjson.dumps(v) for v in values]
    if data_type == "double":
        if set(map(type, values)) <= {int, float, _NONE}:
            return pa.float64(), values  # Arrow makes the ints floats, as float() would
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))) for v in values):
            raise TypeError("not a number")
        return pa.float64(), [None if v is None else float(v) for v in values]
    kind = _arrow_type(pa, values)
    expected = {"text": pa.string(), "bigint": pa.int64(), "bool": pa.bool_()}.get(data_type or "")
    if kind is not None and expected is not None and kind != expected:
        raise TypeError(f"{kind} in a {data_type} column")
    return kind, values


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


def rows_as_arrow(rows: list[dict[str, Any]], hints: dict[str, dict[str, Any]] | None = None,
                  hint_name: Callable[[str], str] | None = None) -> Any:
    """`rows` as one `pyarrow.Table` (columns in first-seen order), or `rows` unchanged when a
    column does not hold one scalar type (or, with `hints`, what its declared type takes).
    `hint_name` maps a row's key to its key in `hints` (default: dlt's snake_case; a source with
    dlt's `direct` naming, as 1C's, passes `str`)."""
    hint_name = hint_name or _snake
    if not rows:
        return rows
    import pyarrow as pa

    names, columns = _columns(rows)
    arrays, fields = [], []
    try:
        for name, values in zip(names, columns):
            if hints is None:
                kind = _arrow_type(pa, values)
            else:
                kind, values = _hinted(pa, values, (hints.get(hint_name(name)) or {}).get("data_type"))
            if kind is None:
                continue
            arrays.append(pa.array(values, type=kind))
            fields.append(pa.field(name, kind))
    except (TypeError, OverflowError, pa.ArrowException):
        return rows
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _columns(rows: list[dict[str, Any]]) -> tuple[Sequence[str], list[Sequence[Any]]]:
    """Column names in first-seen order and each column's values (None where a row lacks the key).
    An API's page usually has the same keys in the same order in every record: then the values
    are transposed in one C-level `zip` instead of a lookup per row and column."""
    first = tuple(rows[0])
    if all(tuple(row) == first for row in rows):
        return first, list(zip(*[row.values() for row in rows]))
    names = list(dict.fromkeys(name for row in rows for name in row))
    return names, [[row.get(name) for row in rows] for name in names]


class ArrowBatches:
    """Pages gathered into larger Arrow tables before dlt sees them. dlt validates the resource's
    table schema for every item it is given (RetailCRM's 100-record pages spent ~14 ms each there,
    more than parsing them), so a full read hands it one table per `rows` records instead; pages
    that stayed dict rows pass straight through."""

    def __init__(self, rows: int = 10_000):
        self.rows, self._tables, self._held = rows, [], 0

    def add(self, page: Any) -> list[Any]:
        if isinstance(page, list):
            return [page] if page else []
        self._tables.append(page)
        self._held += page.num_rows
        return self.flush() if self._held >= self.rows else []

    def flush(self) -> list[Any]:
        if not self._tables:
            return []
        import pyarrow as pa

        tables, self._tables, self._held = self._tables, [], 0
        try:
            # a column one page left out (all None there) comes back as nulls
            return [pa.concat_tables(tables, promote_options="default")]
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return tables  # pages that typed a column differently go on as they came, one by one


def arrow_pages(items: Iterable[Any], hints: dict[str, dict[str, Any]] | None = None,
                hint_name: Callable[[str], str] | None = None) -> Iterator[Any]:
    """A resource's output with its lists of dict rows as Arrow tables (`rows_as_arrow`, gathered
    by `ArrowBatches`); anything else it yields (quarantine items, single rows) passes as it is.
    For sources that page through JSON lists of records: at a million people dlt's handling of dict
    rows (written out as JSON lines, read back and normalised row by row) was most of amoCRM's and
    Bitrix24's load. The connector's CPU per full read against the emulators, before and after
    (docs/benchmarks/notes.md): amoCRM 24.4-26.5 s and 12.8-14.1 s, Bitrix24 33.1-37.5 s and
    16.5-21.4 s, with the same raw tables."""
    tables = ArrowBatches()
    for item in items:
        if isinstance(item, list) and item and all(isinstance(row, dict) for row in item):
            yield from tables.add(rows_as_arrow(item, hints, hint_name))
        else:
            yield item
    yield from tables.flush()


__all__ = ["ArrowBatches", "arrow_pages", "keep_dlt_columns", "rows_as_arrow"]
