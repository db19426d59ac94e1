"""Every distinct e-mail spelling seen anywhere, checked and normalised once.

The matching form is trimmed and lower-cased with an internationalised domain in Unicode, so
`иван@пример.рф` and `иван@xn--e1afmkfd.xn--p1ai` are one address; `email_ascii` keeps the
domain in the DNS's ASCII form for destinations that need it. Parsed once per distinct value into
a table (as phones are), so no view calls Python; a value that is not an address gets a reason.

A value that looks like a slip on a well-known mail domain (`@@`, `mail.r`, `gmial.com`,
`yandex.ry`, `gmail.co`) also gets `email_repaired` and what was changed (`email_repair`): a
lower-weight candidate that identity uses only when the name agrees (see DECISIONS.md).

Incremental: the table is a cache keyed by spelling, so a run checks only spellings it has not
seen, and everything again when the rules change (parser_version; cdp/parse_cache.py).
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="incremental", on_schema_change="append_new_columns")
    from cdp.normalize import email_parser_version, parse_emails, repair_emails
    from cdp.parse_cache import parse_in_batches, stamped, unparsed

    version = email_parser_version()
    sources = [
        dbt.ref("int_identifiers_raw").filter("identifier_type = 'email'").select("identifier_raw as email_raw"),
        dbt.ref("int_orders_unioned").filter("customer_email_raw is not null").select("customer_email_raw as email_raw"),
        dbt.ref("int_consent_events_raw").filter("contains(address_raw, '@')").select("address_raw as email_raw"),
        dbt.ref("int_message_events_unioned").filter("email_raw is not null").select("email_raw"),
    ]
    raw = sources[0]
    for other in sources[1:]:
        raw = raw.union(other)
    seen = raw.distinct().filter("email_raw is not null")
    values = unparsed(dbt, session, seen, ["email_raw"], version).to_arrow_table().column("email_raw")

    def parse(batch: list) -> pa.Table:
        parsed = parse_emails(batch)
        repaired = repair_emails(batch)
        return pa.table({
            "email_raw": pa.array(batch, pa.string()),
            "email": pa.array([e.address for e in parsed], pa.string()),
            "email_ascii": pa.array([e.ascii for e in parsed], pa.string()),
            "email_issue": pa.array([e.issue for e in parsed], pa.string()),
            "email_repaired": pa.array([r.address for r in repaired], pa.string()),
            "email_repair": pa.array([r.repair for r in repaired], pa.string()),
        })

    table = parse_in_batches(values, parse)
    return stamped(table, version)
