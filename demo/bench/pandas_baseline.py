"""What an analyst would write instead: the floor's identity and RFM rules in plain pandas
(string methods, groupby, merges, and an iterative min-label propagation for the components), on
the same staging records, read into DataFrames through DuckDB. The benchmark runs it in a child
process with a time limit, so a run at 1 M that takes too long is reported as capped, not hung.

    python -m demo.bench.pandas_baseline --warehouse data/bench/100k/warehouse.duckdb [--max-rows N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from demo.bench.floor import IDENTIFIER_COLUMNS, MAX_RECORDS, ORDER_COLUMNS, RECORD_COLUMNS, staging_union


def normalise_phone(raw: pd.Series) -> pd.Series:
    digits = raw.astype("string").str.replace(r"\D", "", regex=True)
    out = pd.Series(pd.NA, index=raw.index, dtype="string")
    eleven = (digits.str.len() == 11) & digits.str[0].isin(["7", "8"])
    out[eleven] = "+7" + digits[eleven].str[1:]
    ten = digits.str.len() == 10
    out[ten] = "+7" + digits[ten]
    return out


def normalise_email(raw: pd.Series) -> pd.Series:
    email = raw.astype("string").str.strip().str.lower()
    return email.where(email.str.contains(r".@.", regex=True, na=False))


def identity(records: pd.DataFrame, identifiers: pd.DataFrame, max_records: int = MAX_RECORDS) -> tuple[pd.DataFrame, int]:
    """(record_key, component) for every record, and the number of propagation rounds."""
    keys = (records["source_system"] + ":" + records["source_record_id"].astype(str)).drop_duplicates().sort_values()
    rid = pd.Series(np.arange(len(keys)), index=keys.values)
    ids = identifiers[identifiers["identifier_type"].isin(["phone", "email"])].copy()
    ids["record_key"] = ids["source_system"] + ":" + ids["source_record_id"].astype(str)
    ids["value"] = np.where(ids["identifier_type"] == "phone", normalise_phone(ids["identifier_raw"]),
                            normalise_email(ids["identifier_raw"]))
    ids = ids.dropna(subset=["value"])
    ids = ids[ids["record_key"].isin(rid.index)].drop_duplicates(["record_key", "identifier_type", "value"])
    holders = ids.groupby(["identifier_type", "value"])["record_key"].transform("size")
    edges = ids[(holders >= 2) & (holders <= max_records)]
    edges = pd.DataFrame({"rid": rid.loc[edges["record_key"]].to_numpy(),
                          "iid": edges.groupby(["identifier_type", "value"]).ngroup().to_numpy()})
    labels = np.arange(len(keys))
    rounds = 0
    while True:
        rounds += 1
        per_identifier = edges.assign(label=labels[edges["rid"]]).groupby("iid")["label"].min()
        per_record = edges.assign(label=per_identifier.loc[edges["iid"]].to_numpy()).groupby("rid")["label"].min()
        new = labels.copy()
        new[per_record.index.to_numpy()] = np.minimum(labels[per_record.index.to_numpy()], per_record.to_numpy())
        if (new == labels).all():
            break
        labels = new
    return pd.DataFrame({"record_key": keys.to_numpy(), "component": keys.to_numpy()[labels]}), rounds


def rfm(orders: pd.DataFrame, identity_map: pd.DataFrame, identifiers: pd.DataFrame) -> pd.DataFrame:
    done = orders[orders["status_group"] == "completed"].copy()
    system = done["customer_source_system"].fillna(done["source_system"])
    done["record_key"] = (system + ":" + done["customer_record_id"].astype("string")).astype("object")
    done["phone"] = normalise_phone(done["customer_phone_raw"])
    done["email"] = normalise_email(done["customer_email_raw"])
    ids = identifiers[identifiers["identifier_type"].isin(["phone", "email"])].copy()
    ids["record_key"] = ids["source_system"] + ":" + ids["source_record_id"].astype(str)
    ids["value"] = np.where(ids["identifier_type"] == "phone", normalise_phone(ids["identifier_raw"]),
                            normalise_email(ids["identifier_raw"]))
    owners = (ids.dropna(subset=["value"]).merge(identity_map, on="record_key")
              .groupby(["identifier_type", "value"])["component"].min())
    component = done["record_key"].map(identity_map.set_index("record_key")["component"])
    by_phone = done["phone"].map(owners.get("phone", pd.Series(dtype=object)))
    by_email = done["email"].map(owners.get("email", pd.Series(dtype=object)))
    done["customer"] = component.fillna(by_phone).fillna(by_email).fillna(done["record_key"])
    done = done.dropna(subset=["customer"])
    done["net_amount"] = done["net_amount"].fillna(0).astype(float)
    as_of = pd.to_datetime(done["ordered_date"]).max()
    per = done.groupby("customer").agg(last=("ordered_date", "max"), frequency=("ordered_date", "size"),
                                       monetary=("net_amount", "sum"))
    per["recency_days"] = (as_of - pd.to_datetime(per["last"])).dt.days
    n = len(per)
    per["r_score"] = np.ceil(5 * (-per["recency_days"]).rank(method="max") / n).astype(int)
    per["f_score"] = np.ceil(5 * per["frequency"].rank(method="max") / n).astype(int)
    per["m_score"] = np.ceil(5 * per["monetary"].rank(method="max") / n).astype(int)
    return per.reset_index()


def run(warehouse: str, max_records: int = MAX_RECORDS, max_rows: int | None = None) -> dict:
    import duckdb

    started = time.perf_counter()
    with duckdb.connect(warehouse, read_only=True) as con:
        ids_sql = staging_union(con, "identifiers", IDENTIFIER_COLUMNS)
        rows = con.execute(f"select count(*) from ({ids_sql})").fetchall()[0][0]
        if max_rows is not None and rows > max_rows:
            return {"capped": True, "reason": f"{rows:,} identifier rows > --pandas-max-rows {max_rows:,}"}
        records = con.execute(staging_union(con, "person_records", RECORD_COLUMNS)).df()
        identifiers = con.execute(ids_sql).df()
        orders = con.execute(staging_union(con, "orders", ORDER_COLUMNS)).df()
    read = time.perf_counter() - started
    started = time.perf_counter()
    identity_map, rounds = identity(records, identifiers, max_records)
    ident = time.perf_counter() - started
    started = time.perf_counter()
    scores = rfm(orders, identity_map, identifiers)
    return {"capped": False, "read_seconds": round(read, 3),
            "identity": {"seconds": round(ident, 3), "records": len(identity_map),
                         "components": int(identity_map["component"].nunique()), "iterations": rounds},
            "rfm": {"seconds": round(time.perf_counter() - started, 3), "customers": len(scores)}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--max-records", type=int, default=MAX_RECORDS)
    ap.add_argument("--max-rows", type=int, default=None, help="refuse above this many identifier rows")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    result = run(args.warehouse, args.max_records, args.max_rows)
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
