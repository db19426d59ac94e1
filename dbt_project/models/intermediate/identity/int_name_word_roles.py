"""Every distinct word exported in a surname or given-name column, with what the dictionary says it
is: a given name, or a surname and not a given name. int_source_records_unioned swaps a record's
two boxes back when they were plainly filled the other way round ("Анатолий" in the surname column,
"Михеев" in the given name's): a CRM card typed in haste is a common source of swapped names, and
a swapped pair compares as two different people.

Per distinct word (tens of thousands at a million people; per distinct pair it was 2.75 s at
100,000 people), with the same dictionary as one-field names (cdp/names.py); an incremental cache
keyed by the word, re-decided when the rules change (cdp/parse_cache.py).
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="incremental", on_schema_change="append_new_columns")
    from cdp.names import name_parser_version, word_roles
    from cdp.parse_cache import stamped, unparsed

    version = name_parser_version()
    records = dbt.ref("int_person_records_raw").filter("surname is not null and given_name is not null")
    seen = records.select("surname as word").union(records.select("given_name as word")).distinct()
    words = unparsed(dbt, session, seen, ["word"], version).to_arrow_table().column("word").to_pylist()
    roles = [word_roles(w) for w in words]
    return stamped(pa.table({
        "word": pa.array(words, pa.string()),
        "is_given_name": pa.array([r[0] for r in roles], pa.bool_()),
        "is_only_surname": pa.array([r[1] for r in roles], pa.bool_()),
    }), version)
