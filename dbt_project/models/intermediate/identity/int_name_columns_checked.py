"""Every distinct (surname, given name) a source exported in separate columns, with whether the
two boxes were filled the other way round ("Анатолий" in the surname column, "Михеев" in the given
name's): a CRM card typed in haste is a common source of swapped names, and a swapped pair
compares as two different people.

Decided once per distinct pair with the same dictionary as one-field names (cdp/names.py); an
incremental cache keyed by the pair, re-decided when the rules change (cdp/parse_cache.py).
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="incremental", on_schema_change="append_new_columns")
    from cdp.names import name_columns_swapped, name_parser_version
    from cdp.parse_cache import VERSION_COLUMN, unparsed

    version = name_parser_version()
    seen = (dbt.ref("int_person_records_raw")
            .filter("surname is not null and given_name is not null")
            .select("surname, given_name").distinct())
    table = unparsed(dbt, session, seen, ["surname", "given_name"], version).to_arrow_table()
    surnames, givens = table.column("surname").to_pylist(), table.column("given_name").to_pylist()
    return pa.table({
        "surname": pa.array(surnames, pa.string()),
        "given_name": pa.array(givens, pa.string()),
        "is_swapped": pa.array([name_columns_swapped(s, g) for s, g in zip(surnames, givens)], pa.bool_()),
        VERSION_COLUMN: pa.array([version] * len(surnames), pa.string()),
    })
