"""Every distinct one-field full name, split once into surname, given name and patronymic.

Only names a source keeps in one field get here (separate columns are taken as given); the order
is decided word by word with a Russian morphological dictionary (cdp/names.py), once per distinct
spelling, into a table.
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.names import split_full_names

    raw = dbt.ref("int_person_records_raw").filter("full_name is not null").select("full_name").distinct().to_arrow_table()
    values = raw.column("full_name").to_pylist() if raw.num_rows else []
    parsed = split_full_names(values)
    return pa.table({
        "full_name": pa.array(values, pa.string()),
        "surname": pa.array([p.surname for p in parsed], pa.string()),
        "given_name": pa.array([p.given_name for p in parsed], pa.string()),
        "patronymic": pa.array([p.patronymic for p in parsed], pa.string()),
    })
