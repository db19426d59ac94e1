"""The floor: deterministic identity and RFM as plain DuckDB SQL, on the same records the dbt
models read, so the benchmark can say how far our transform is from the simplest thing that
does the core of the same work.

The inputs are the union of every enabled system's staging shapes (`stg_<system>__person_records`,
`__identifiers`, `__orders`): the views `int_person_records_raw`, `int_identifiers_raw` and
`int_orders_unioned` union too, so the floor pays for reading raw tables through the same views.
The rule: phones with Russian formats (digits only; 11 digits starting 8 or 7, or 10 digits, give
+7...), e-mails trimmed and lower-cased; identifiers held by more than `max_records` records link
nothing; connected components by changed-label propagation; a record's component is its smallest
record key. RFM: completed orders as of the latest order date, buyer by the order's record or its
phone/e-mail, quintiles by cume_dist as marts.rfm scores them.

    python -m demo.bench.floor --warehouse data/bench/100k/warehouse.duckdb [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import duckdb

MAX_RECORDS = 4  # dbt var identity_max_records_per_identifier


def phone_sql(column: str) -> str:
    digits = f"regexp_replace({column}, '[^0-9]', '', 'g')"
    return (f"case when length({digits}) = 11 and left({digits}, 1) in ('7', '8') then '+7' || substr({digits}, 2) "
            f"when length({digits}) = 10 then '+7' || {digits} end")


def email_sql(column: str) -> str:
    return f"case when lower(trim({column})) like '%_@_%' then lower(trim({column})) end"


def staging_union(con: duckdb.DuckDBPyConnection, shape: str, columns: list[str], schema: str = "staging") -> str:
    """`union all` of `<schema>.stg_<system>__<shape>` for every system whose declaration offers the
    shape (cdp/systems.py, as dbt's union_shape does) and whose view is in the warehouse."""
    from cdp.systems import SYSTEMS

    present = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}
    names = [f"stg_{name}__{shape}" for name, system in SYSTEMS.items()
             if shape in system.shapes and f"stg_{name}__{shape}" in present]
    if not names:
        raise LookupError(f"no {schema}.stg_*__{shape} relations")
    cols = ", ".join(columns)
    return "\nunion all by name\n".join(f'select {cols} from "{schema}"."{n}"' for n in names)


def identity(con: duckdb.DuckDBPyConnection, records_sql: str, identifiers_sql: str,
             max_records: int = MAX_RECORDS) -> dict:
    """Build temp table `floor_identity_map(record_key, component)`; returns counts and iterations.
    `records_sql` gives (source_system, source_record_id); `identifiers_sql` also identifier_type
    and identifier_raw."""
    con.execute(f"""
        create or replace temp table floor_records as
        select distinct source_system || ':' || source_record_id as record_key from ({records_sql})
    """)
    con.execute("create or replace temp table floor_record_ids as select record_key, row_number() over (order by record_key) as rid from floor_records")
    con.execute(f"""
        create or replace temp table floor_identifiers as
        with raw as (
            select source_system || ':' || source_record_id as record_key, identifier_type, identifier_raw
            from ({identifiers_sql}) where identifier_type in ('phone', 'email')
        ),
        normalised as (
            select distinct record_key, identifier_type,
                case identifier_type when 'phone' then {phone_sql('identifier_raw')} else {email_sql('identifier_raw')} end as value
            from raw
        )
        select r.rid, n.identifier_type, n.value from normalised n join floor_record_ids r using (record_key)
        where n.value is not null
    """)
    con.execute(f"""
        create or replace temp table floor_edges as
        with held as (
            select identifier_type, value, count(*) as holders from floor_identifiers group by all
        ),
        usable as (
            select identifier_type, value, row_number() over () as iid from held where holders between 2 and {int(max_records)}
        )
        select i.rid, u.iid from floor_identifiers i join usable u using (identifier_type, value)
    """)
    con.execute("create or replace temp table floor_labels as select rid, rid as label from floor_record_ids")
    iterations = 0
    while True:
        iterations += 1
        con.execute("""
            create or replace temp table floor_next as
            with per_identifier as (
                select e.iid, min(l.label) as label from floor_edges e join floor_labels l using (rid) group by e.iid
            )
            select e.rid, min(p.label) as label from floor_edges e join per_identifier p using (iid) group by e.rid
        """)
        changed = con.execute("""
            select count(*) from floor_next n join floor_labels l using (rid) where n.label < l.label
        """).fetchall()[0][0]
        if not changed:
            break
        con.execute("""
            create or replace temp table floor_labels as
            select l.rid, least(l.label, coalesce(n.label, l.label)) as label
            from floor_labels l left join floor_next n using (rid)
        """)
    con.execute("""
        create or replace temp table floor_identity_map as
        select r.record_key, c.record_key as component
        from floor_labels l join floor_record_ids r using (rid) join floor_record_ids c on c.rid = l.label
    """)
    records, components = con.execute(
        "select count(*), count(distinct component) from floor_identity_map").fetchall()[0]
    return {"records": records, "components": components, "iterations": iterations}


def rfm(con: duckdb.DuckDBPyConnection, orders_sql: str) -> dict:
    """Temp table `floor_rfm(customer, recency_days, frequency, monetary, r_score, f_score, m_score)`
    from `orders_sql` (source_system, customer_source_system, customer_record_id, customer_phone_raw,
    customer_email_raw, ordered_date, status_group, net_amount) and `floor_identity_map`."""
    con.execute(f"""
        create or replace temp table floor_rfm as
        with orders as (
            select coalesce(customer_source_system, source_system) || ':' || customer_record_id as record_key,
                   {phone_sql('customer_phone_raw')} as phone, {email_sql('customer_email_raw')} as email,
                   ordered_date, coalesce(net_amount, 0) as net_amount
            from ({orders_sql}) where status_group = 'completed'
        ),
        owners as (
            select distinct on (i.identifier_type, i.value) i.identifier_type, i.value, m.component
            from floor_identifiers i join floor_record_ids r using (rid) join floor_identity_map m using (record_key)
            order by i.identifier_type, i.value, m.component
        ),
        attached as (
            select coalesce(m.component, p.component, e.component, orders.record_key) as customer, ordered_date, net_amount
            from orders
            left join floor_identity_map m on m.record_key = orders.record_key
            left join owners p on p.identifier_type = 'phone' and p.value = orders.phone
            left join owners e on e.identifier_type = 'email' and e.value = orders.email
        ),
        as_of as (select max(ordered_date) as as_of_date from attached),
        per_customer as (
            select customer, date_diff('day', max(ordered_date), any_value(as_of_date)) as recency_days,
                   count(*) as frequency, sum(net_amount) as monetary
            from attached cross join as_of where customer is not null group by customer
        )
        select *,
            cast(ceil(5 * cume_dist() over (order by recency_days desc)) as integer) as r_score,
            cast(ceil(5 * cume_dist() over (order by frequency)) as integer) as f_score,
            cast(ceil(5 * cume_dist() over (order by monetary)) as integer) as m_score
        from per_customer
    """)
    return {"customers": con.execute("select count(*) from floor_rfm").fetchall()[0][0]}


RECORD_COLUMNS = ["source_system", "source_record_id"]
IDENTIFIER_COLUMNS = ["source_system", "source_record_id", "identifier_type", "identifier_raw"]
ORDER_COLUMNS = ["source_system", "customer_source_system", "customer_record_id", "customer_phone_raw",
                 "customer_email_raw", "ordered_date", "status_group", "net_amount"]


def run(con: duckdb.DuckDBPyConnection, max_records: int = MAX_RECORDS) -> dict:
    """Both parts on a warehouse's staging views, each timed."""
    records = staging_union(con, "person_records", RECORD_COLUMNS)
    identifiers = staging_union(con, "identifiers", IDENTIFIER_COLUMNS)
    orders = staging_union(con, "orders", ORDER_COLUMNS)
    started = time.perf_counter()
    ident = identity(con, records, identifiers, max_records)
    ident["seconds"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    scores = rfm(con, orders)
    scores["seconds"] = round(time.perf_counter() - started, 3)
    return {"identity": ident, "rfm": scores}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--max-records", type=int, default=MAX_RECORDS)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    with duckdb.connect(args.warehouse, read_only=True) as con:
        result = run(con, args.max_records)
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
