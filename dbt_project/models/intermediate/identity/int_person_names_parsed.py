"""Every distinct one-field full name, split once into surname, given name and patronymic.

Only names a source keeps in one field get here (separate columns are taken as given); the order
is decided word by word with a Russian morphological dictionary (cdp/names.py), once per distinct
spelling, into a table.

Incremental: the table is a cache keyed by spelling, so a run splits only names it has not seen,
and everything again when the rules change (parser_version; cdp/parse_cache.py).
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="incremental", on_schema_change="append_new_columns")
    from cdp.names import name_parser_version, split_full_names
    from cdp.parse_cache import parse_in_batches, stamped, unparsed

    version = name_parser_version()
    seen = dbt.ref("int_person_records_raw").filter("full_name is not null").select("full_name").distinct()
    values = unparsed(dbt, session, seen, ["full_name"], version).to_arrow_table().column("full_name")

    def parse(batch: list) -> pa.Table:
        parsed = split_full_names(batch)
        return pa.table({
            "full_name": pa.array(batch, pa.string()),
            "surname": pa.array([p.surname for p in parsed], pa.string()),
            "given_name": pa.array([p.given_name for p in parsed], pa.string()),
            "patronymic": pa.array([p.patronymic for p in parsed], pa.string()),
        })

    table = parse_in_batches(values, parse)
    return stamped(table, version)
