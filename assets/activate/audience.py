"""The audience a destination would receive: segment members reached through an address that has
valid consent for the destination's channel. Consent is held per address (marts.consent_current),
so a customer is sent at an address only if that very address has consent: a grant on one of the
customer's e-mails never covers another, and a revoked address is never used.

`members_without_consent` is the blocking gate before any sync. It does not read the consent
marts that built the audience: it re-derives, from the consent events as the sources stated them
(intermediate.int_consent_events_raw) and the record's raw contacts (read through the parse tables
of phone and e-mail spellings only), whether each outgoing address
has a dated grant later than every revocation of it and no standing revocation. A fault in the
marts then stops the sync instead of passing through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

CONSENT_TABLE = "marts.consent_current"
RAW_EVENTS = "intermediate.int_consent_events_raw"
RAW_IDENTIFIERS = "intermediate.int_identifiers_raw"
PHONES = "intermediate.int_phone_numbers_parsed"
EMAILS = "intermediate.int_email_addresses_parsed"

# How each identifier a destination takes is made from the consented address.
_IDENTIFIER_SQL = {
    "email": ("email", "a.address"),
    "email_sha256": ("email", "sha256(lower(a.address))"),
    "phone": ("phone", "a.address"),
    "phone_sha256": ("phone", "sha256(ltrim(a.address, '+'))"),
}


@dataclass(frozen=True)
class Destination:
    segment: str  # dbt model name, e.g. seg_reactivation
    type: str  # unisender | s3_file
    channel: str  # consent channel that applies, e.g. email
    identifier: str  # column sent as the contact identifier, e.g. email
    description: str = ""
    options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def audience_table(self) -> str:
        return f"activation.audience__{self.type}__{self.segment}"

    @property
    def address_type(self) -> str:
        if self.identifier not in _IDENTIFIER_SQL:
            raise ValueError(f"{self.segment}: identifier {self.identifier!r} is not one of {sorted(_IDENTIFIER_SQL)}")
        return _IDENTIFIER_SQL[self.identifier][0]


def build(con: duckdb.DuckDBPyConnection, dest: Destination) -> dict[str, int]:
    """One row per member reachable at a consented address: the segment's own address when it has
    consent, else the customer's earliest-listed consented address of the same kind."""
    address_type, identifier_sql = _IDENTIFIER_SQL[dest.identifier][0], _IDENTIFIER_SQL[dest.identifier][1]
    preferred = "email" if address_type == "email" else "phone"
    con.execute("create schema if not exists activation")
    con.execute(
        f"""
        create or replace table {dest.audience_table} as
        with consented as (
            select customer_id, address, granting_event_id
            from {CONSENT_TABLE}
            where channel = $channel and address_type = $address_type and has_consent and customer_id is not null
        ),
        chosen as (
            select distinct on (s.customer_id) s.customer_id, s.given_name, c.address, c.granting_event_id
            from segments.{dest.segment} s
            join consented c on c.customer_id = s.customer_id
            order by s.customer_id, (c.address = s.{preferred}) desc nulls last, c.address
        )
        select a.customer_id, {identifier_sql} as identifier, a.given_name, a.granting_event_id as consent_event_id,
               a.address
        from chosen a
        """,
        {"channel": dest.channel, "address_type": address_type},
    )
    members, sendable = con.execute(
        f"select (select count(*) from segments.{dest.segment}), (select count(*) from {dest.audience_table})"
    ).fetchone()
    with_address = con.execute(
        f"select count(*) from segments.{dest.segment} s where exists (select 1 from {CONSENT_TABLE} c "
        f"where c.customer_id = s.customer_id and c.address_type = ?)", [address_type]).fetchone()[0]
    return {
        "segment_members": members,
        "without_address": members - with_address,
        "without_consent": with_address - sendable,
        "audience": sendable,
    }


def members_without_consent(con: duckdb.DuckDBPyConnection, dest: Destination) -> int:
    """Outgoing addresses without consent by the events themselves (see the module docstring)."""
    address_type = dest.address_type
    ads = "or e.channel = 'ads'" if dest.channel == "ads" else ""
    return con.execute(
        f"""
        with events as (
            select e.record_key, e.channel, e.address_raw, e.event_at, e.event_kind, e.is_standing_revocation
            from {RAW_EVENTS} e
            where e.channel = $channel {ads}
        ),
        addressed as (
            -- The address an event names; or, if it names none, every address of its own record.
            select coalesce(
                       case when $address_type = 'email' then (select m.email from {EMAILS} m where m.email_raw = e.address_raw)
                            else (select p.phone from {PHONES} p where p.phone_raw = e.address_raw) end,
                       case when $address_type = 'email' then (select m.email from {EMAILS} m where m.email_raw = i.identifier_raw)
                            else (select p.phone from {PHONES} p where p.phone_raw = i.identifier_raw) end
                   ) as address,
                   e.event_at, e.event_kind, e.is_standing_revocation
            from events e
            left join {RAW_IDENTIFIERS} i
              on e.address_raw is null and i.record_key = e.record_key and i.identifier_type = $address_type
            where e.address_raw is null or contains(e.address_raw, '@') = ($address_type = 'email')
        ),
        verdict as (
            select address,
                   bool_or(event_kind = 'revoked' and is_standing_revocation) as standing,
                   max(event_at) filter (where event_kind in ('granted', 'double_opt_in_confirmed')) as granted_at,
                   max(coalesce(event_at, 'infinity'::timestamp)) filter (where event_kind = 'revoked') as revoked_at
            from addressed
            where address is not null
            group by 1
        )
        select count(*)
        from {dest.audience_table} a
        left join verdict v on v.address = a.address
        where a.address is null
           or v.address is null
           or v.standing
           or v.granted_at is null
           or (v.revoked_at is not null and v.revoked_at >= v.granted_at)
        """,
        {"channel": dest.channel, "address_type": address_type},
    ).fetchone()[0]
