"""Parse tables as caches keyed by spelling, for the dbt Python models that parse distinct values
(phones, e-mails, one-field names, name words).

Most values repeat across systems and runs, so an incremental run parses only the spellings its
table does not hold yet: a run after a 1 % change parses about 1 % of the values. Every row is
stamped with the version of the rules that parsed it (a digest of the parsing module's source and
the versions of the libraries and data it reads); rows stamped with another version are deleted
first, so a rule change re-parses everything and never leaves a stale answer beside a fresh one.
A spelling that no longer occurs in any source stays in the table: it is a lookup keyed by the
spelling, and every model reading it joins from the records' own values, never counts its rows.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import pyarrow as pa

VERSION_COLUMN = "parser_version"
# Spellings parsed per batch, so the Python objects of one batch live at a time and the model's
# memory does not grow with the number of new spellings. At a million people (1,036,438 e-mail
# spellings) the e-mail model alone peaked at 1.73 GiB against 1.79 GiB all at once: DuckDB's
# reading of the spellings is most of it.
BATCH = 100_000


@lru_cache(maxsize=None)
def rules_version(module: str, *distributions: str) -> str:
    """`<package version>...; <sha256 of the module's source, 12 hex>`: changes when the rules can."""
    spec = importlib.util.find_spec(module)
    digest = hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()[:12] if spec and spec.origin else "?"
    versions = []
    for name in distributions:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} ?")
    return "; ".join([*versions, digest])


def unparsed(dbt, session, values, keys: list[str], version: str):
    """The rows of `values` (a DuckDB relation of distinct keys) this model's table lacks.

    On a full build, all of them. On an incremental run, rows parsed by another version of the
    rules are deleted from the table first (a table from before the version column loses all its
    rows), then the keys still present are left out. The delete commits on the model's own
    connection before dbt appends what the model returns: if the run fails in between, the next
    run finds fewer rows and parses more, never a wrong answer."""
    if not dbt.is_incremental:
        return values
    this = str(dbt.this)
    if VERSION_COLUMN in session.sql(f"select * from {this} limit 0").columns:
        session.execute(f"delete from {this} where {VERSION_COLUMN} is distinct from $version", {"version": version})
    else:
        session.execute(f"delete from {this}")
    done = session.sql(f"select {', '.join(keys)} from {this}")
    return values.join(done, ", ".join(keys), how="anti")


def stamped(table: pa.Table, version: str) -> pa.Table:
    """`table` with the rules' version as its last column, on every row (what `unparsed` reads)."""
    import pyarrow as pa

    return table.append_column(VERSION_COLUMN, pa.repeat(version, table.num_rows).cast(pa.string()))


def parse_in_batches(values, parse: Callable[[list], pa.Table], size: int = BATCH) -> pa.Table:
    """`parse` (a list of spellings → an Arrow table, one row per spelling in order) over `values`
    (an Arrow array) a batch at a time, into one table; the freed batches go back to the system."""
    import pyarrow as pa

    from cdp.memory import release_freed_memory

    tables = [parse(values.slice(start, size).to_pylist()) for start in range(0, len(values), size)]
    table = pa.concat_tables(tables) if tables else parse([])
    release_freed_memory()
    return table
