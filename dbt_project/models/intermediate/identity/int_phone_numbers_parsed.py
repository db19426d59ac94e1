"""Every distinct phone spelling seen anywhere, parsed once with libphonenumber's rules.

Staging passes phones through as written; parsing them here, once per distinct value into a table,
keeps Python out of the views (a UDF in a view is paid again by every model that reads it, and a
plain DuckDB connection cannot read such a view) and pays libphonenumber once per spelling, not
once per record and read. A value that cannot be parsed gets a null number and a reason: one bad
phone never fails the run.
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.normalize import parse_phones

    identifiers = dbt.ref("int_identifiers_raw").filter("identifier_type = 'phone'").select("identifier_raw as phone_raw")
    orders = dbt.ref("int_orders_unioned").filter("customer_phone_raw is not null").select("customer_phone_raw as phone_raw")
    consent = dbt.ref("int_consent_events_raw").filter("address_raw is not null and not contains(address_raw, '@')").select("address_raw as phone_raw")
    raw = identifiers.union(orders).union(consent).distinct().filter("phone_raw is not null").to_arrow_table()
    values = raw.column("phone_raw").to_pylist() if raw.num_rows else []
    parsed = parse_phones(values)
    return pa.table({
        "phone_raw": pa.array(values, pa.string()),
        "phone": pa.array([p.e164 for p in parsed], pa.string()),
        "phone_issue": pa.array([p.issue for p in parsed], pa.string()),
        "phone_kind": pa.array([p.kind for p in parsed], pa.string()),
        "phone_region": pa.array([p.region for p in parsed], pa.string()),
    })
