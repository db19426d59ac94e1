{#
  The independent consent gate: every outgoing address checked against the verdict of the consent
  events as the sources stated them (intermediate.int_consent_gate_verdicts, built from
  int_consent_events_raw and each record's raw contacts, read through the parse tables of phone and
  e-mail spellings only; a table so that the 36 reads of a run do not redo it). It does not read
  marts.consent_events / consent_current, which built the audiences: a fault there stops the sync
  instead of passing through it. Rules as in consent_current (DECISIONS.md, Consent): a standing
  revocation wins; otherwise a dated grant later than every revocation of the address; an undated
  revocation is later than everything; an address no event names has no consent.

  One row per offending address, named by a hash (never in clear), with the reason.
  The identifier actually sent is recomputed from the checked address (its platform form), so an
  audience that sends something other than the address it names cannot pass either.
  `audiences`: (model, destination, segment, channel, address_type, identifier form) per audience.
#}
{% macro consent_gate_offenders(audiences) %}
with outgoing as (
    {%- for a in audiences %}
    select '{{ a.destination }}' as destination, '{{ a.segment }}' as segment, '{{ a.channel }}' as channel,
           '{{ a.address_type }}' as address_type, address,
           -- what is sent must be made from the address checked, or the check proves nothing
           identifier is distinct from {{ identifier_form(a.identifier, 'address') }} as identifier_not_from_address
    from {{ ref(a.model) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

verdict as (
    select * from {{ ref('int_consent_gate_verdicts') }}
),

final as (
    select
        outgoing.destination,
        outgoing.segment,
        outgoing.channel,
        left(sha256(coalesce(outgoing.address, '')), 16) as address_hash,
        case
            when outgoing.address is null then 'no address'
            when outgoing.identifier_not_from_address then 'the identifier sent is not made from this address'
            when verdict.address is null then 'no consent event names this address'
            when verdict.has_standing_revocation then 'revoked (standing unsubscribe)'
            when verdict.granted_at is null then 'no dated grant'
            else 'revoked after the last grant'
        end as reason
    from outgoing
    left join verdict using (channel, address_type, address)
    where outgoing.address is null
       or outgoing.identifier_not_from_address
       or verdict.address is null
       or verdict.has_standing_revocation
       or verdict.granted_at is null
       or (verdict.revoked_at is not null and verdict.revoked_at >= verdict.granted_at)
)

select * from final
{% endmacro %}
