"""What the destination already holds of a table, for sources that can only tell what changed by
comparing with it: 1C's `DataVersion` per record, the row digests of a whole-list read
(connectors/common/unchanged.py); and whether a table is there at all, so an empty table is
declared only until it exists.

Read back from the table itself, not kept in dlt's state. A load changes the table only when it
succeeds, so the two cannot disagree, and the state stays small: dlt decodes it several times a
run and writes it into the warehouse with every load that changes it, and a million keys there
cost seconds per run (1C's catalog versions: 3 s of a 7.6 s run with nothing new at 1 M people).
Call it inside a resource: the active pipeline is then the one running it.
"""

from __future__ import annotations

from typing import Any, Sequence

import dlt
from dlt.pipeline.exceptions import PipelineConfigMissing


def _columns(sql: Any, table_name: str) -> set[str]:
    """The columns the destination's table has: none when it does not exist."""
    return {c for (c,) in sql.execute_sql(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        sql.dataset_name, table_name) or ()}


def loaded_rows(table: str, columns: Sequence[str], since: tuple[str, Any] | None = None,
                among: tuple[str, Sequence[Any]] | None = None) -> list[tuple]:
    """The rows of `columns` in the destination's `table` (names as the source gives them; the
    source schema's naming turns them into the table's); with `since = (column, value)` only
    those where the column is at least the value, with `among = (column, values)` only those
    where it is one of the values. Empty when nothing was loaded yet, when the table has no such
    column yet (it was loaded before the column existed), or when the pipeline has no destination
    (an extract alone): the caller then loads everything, which is never wrong."""
    if among is not None and not among[1]:
        return []
    naming = dlt.current.source_schema().naming
    table_name = naming.normalize_table_identifier(table)
    names = [naming.normalize_identifier(c) for c in columns]
    since_column = None if since is None else naming.normalize_identifier(since[0])
    among_column = None if among is None else naming.normalize_identifier(among[0])
    try:
        with dlt.current.pipeline().sql_client() as sql:
            present = _columns(sql, table_name)
            if not {*names, *filter(None, (since_column, among_column))} <= present:
                return []
            conditions, params = [], []
            if since is not None:
                conditions.append(f"{sql.escape_column_name(since_column)} >= %s")
                params.append(since[1])
            if among is not None:
                conditions.append(f"{sql.escape_column_name(among_column)} in ({', '.join(['%s'] * len(among[1]))})")
                params.extend(among[1])
            query = (f"select {', '.join(sql.escape_column_name(n) for n in names)} "
                     f"from {sql.make_qualified_table_name(table_name)}")
            if conditions:
                query += " where " + " and ".join(conditions)
            return list(sql.execute_sql(query, *params) or ())
    except PipelineConfigMissing:
        return []


def has_table(table: str, columns: Sequence[str]) -> bool:
    """Whether the destination's `table` exists with at least `columns`. A resource that yields
    `dlt.mark.materialize_table_schema()` so its table exists before its first row asks this first:
    the marker is an empty load job, and for a merge table dlt then runs its whole merge (a staging
    table, a delete and an insert) for no rows on every run. False without a destination."""
    naming = dlt.current.source_schema().naming
    table_name = naming.normalize_table_identifier(table)
    names = {naming.normalize_identifier(c) for c in columns}
    try:
        with dlt.current.pipeline().sql_client() as sql:
            present = _columns(sql, table_name)
    except PipelineConfigMissing:
        return False
    return bool(present) and names <= present
