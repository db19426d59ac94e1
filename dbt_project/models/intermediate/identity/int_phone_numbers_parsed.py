"""Every distinct phone spelling seen anywhere, parsed once with libphonenumber's rules.

Staging passes phones through as written; parsing them here, once per distinct value into a table,
keeps Python out of the views (a UDF in a view is paid again by every model that reads it, and a
plain DuckDB connection cannot read such a view). The common Russian spellings are decided in
bulk with rules drawn from libphonenumber's own metadata and the rest by libphonenumber itself,
with the same answers (cdp.normalize.parse_phones_arrow). A value that cannot be parsed gets a null
number and a reason: one bad phone never fails the run.

Incremental: the table is a cache keyed by spelling, so a run parses only spellings it has not
seen, and everything again when the rules change (parser_version; cdp/parse_cache.py).
"""


def model(dbt, session):
    dbt.config(materialized="incremental", on_schema_change="append_new_columns")
    from cdp.normalize import parse_phones_arrow, phone_parser_version
    from cdp.parse_cache import stamped, unparsed

    version = phone_parser_version()
    identifiers = dbt.ref("int_identifiers_raw").filter("identifier_type = 'phone'").select("identifier_raw as phone_raw")
    orders = dbt.ref("int_orders_unioned").filter("customer_phone_raw is not null").select("customer_phone_raw as phone_raw")
    consent = dbt.ref("int_consent_events_raw").filter("address_raw is not null and not contains(address_raw, '@')").select("address_raw as phone_raw")
    seen = identifiers.union(orders).union(consent).distinct().filter("phone_raw is not null")
    values = unparsed(dbt, session, seen, ["phone_raw"], version).to_arrow_table().column("phone_raw")
    parsed = parse_phones_arrow(values)
    return stamped(parsed, version)
