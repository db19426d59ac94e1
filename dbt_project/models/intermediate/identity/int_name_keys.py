"""Matching keys for every distinct surname, given name and patronymic, computed once per word.

Why a table of words: comparing names across systems needs Python (transliteration, gender
endings, diminutives; cdp/names.py), and a record has only a few words drawn from a small
vocabulary, so keys are computed per distinct word (tens of thousands at a million people) and
joined back set-based, never per record.

Incremental: the table is a cache keyed by (part, word), so a run computes keys only for words it
has not seen, and everything again when the rules change (parser_version; cdp/parse_cache.py).
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="incremental", on_schema_change="append_new_columns")
    from cdp.names import given_name_keys, latin_skeleton, name_parser_version, surname_key
    from cdp.parse_cache import stamped, unparsed

    version = name_parser_version()
    records = dbt.ref("int_source_records_unioned")
    seen = (records.filter("surname is not null").select("'surname' as name_part, surname as word")
            .union(records.filter("given_name is not null").select("'given_name' as name_part, given_name as word"))
            .union(records.filter("patronymic is not null").select("'patronymic' as name_part, patronymic as word"))
            .distinct())
    table = unparsed(dbt, session, seen, ["name_part", "word"], version).to_arrow_table()
    part_col, word_col, key_col, keys_col = [], [], [], []
    for part, word in zip(table.column("name_part").to_pylist(), table.column("word").to_pylist()):
        if part == "surname":
            # A lone word in the surname column may be a given name ("Julia", "Sergey").
            key, keys = surname_key(word), list(given_name_keys(word))
        elif part == "given_name":
            keys = list(given_name_keys(word))
            key = latin_skeleton(word.strip().split()[0]) if word.strip() else None
        else:
            key, keys = latin_skeleton(word), None
        part_col.append(part)
        word_col.append(word)
        key_col.append(key)
        keys_col.append(keys)
    return stamped(pa.table({
        "name_part": pa.array(part_col, pa.string()),
        "word": pa.array(word_col, pa.string()),
        "name_key": pa.array(key_col, pa.string()),
        "given_keys": pa.array(keys_col, pa.list_(pa.string())),
    }), version)
