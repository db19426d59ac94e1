"""dbt-duckdb plugin: libphonenumber and the name splitter as SQL functions for staging models.

Vectorised over Arrow batches with a cache per distinct value, so the cost is one parse per
distinct spelling. Measured by `make bench`; see benchmarks/README.md for the figures.
"""

from __future__ import annotations

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
import duckdb
from duckdb import DuckDBPyConnection

try:  # duckdb >= 1.4 moved the type constants
    from duckdb import sqltypes as dt
except ImportError:  # pragma: no cover
    from duckdb import typing as dt

from cdp.normalize import parse_phone, split_name

_NAME = duckdb.struct_type({"surname": dt.VARCHAR, "given_name": dt.VARCHAR, "patronymic": dt.VARCHAR})


def _map(values: pa.Array, fn) -> pa.Array:
    return pa.array([None if v is None else fn(v) for v in values.to_pylist()], type=pa.string())


def phone_e164(values: pa.Array) -> pa.Array:
    return _map(values, lambda v: parse_phone(v).e164)


def phone_issue(values: pa.Array) -> pa.Array:
    return _map(values, lambda v: parse_phone(v).issue)


def phone_kind(values: pa.Array) -> pa.Array:
    return _map(values, lambda v: parse_phone(v).kind)


def person_name(values: pa.Array) -> pa.Array:
    rows = [split_name(v)._asdict() if v is not None else None for v in values.to_pylist()]
    return pa.array(rows, type=pa.struct([("surname", pa.string()), ("given_name", pa.string()), ("patronymic", pa.string())]))


def register(conn: DuckDBPyConnection) -> None:
    for name, fn in (("phone_e164", phone_e164), ("phone_issue", phone_issue), ("phone_kind", phone_kind)):
        conn.create_function(name, fn, [dt.VARCHAR], dt.VARCHAR, type="arrow", null_handling="special", side_effects=False)
    conn.create_function("person_name", person_name, [dt.VARCHAR], _NAME, type="arrow", null_handling="special", side_effects=False)


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register(conn)
