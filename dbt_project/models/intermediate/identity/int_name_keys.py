"""Matching keys for every distinct surname, given name and patronymic, computed once per word.

Why a table of words: comparing names across systems needs Python (transliteration, gender
endings, diminutives; cdp/names.py), and a record has only a few words drawn from a small
vocabulary, so keys are computed per distinct word (tens of thousands at a million people) and
joined back set-based, never per record.
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.names import given_name_keys, latin_skeleton, surname_key

    records = dbt.ref("int_source_records_unioned")
    parts = {
        "surname": records.filter("surname is not null").select("surname as word").distinct(),
        "given_name": records.filter("given_name is not null").select("given_name as word").distinct(),
        "patronymic": records.filter("patronymic is not null").select("patronymic as word").distinct(),
    }
    part_col, word_col, key_col, keys_col = [], [], [], []
    for part, relation in parts.items():
        table = relation.to_arrow_table()
        words = table.column("word").to_pylist() if table.num_rows else []
        for word in words:
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
    return pa.table({
        "name_part": pa.array(part_col, pa.string()),
        "word": pa.array(word_col, pa.string()),
        "name_key": pa.array(key_col, pa.string()),
        "given_keys": pa.array(keys_col, pa.list_(pa.string())),
    })
