{#
  How an address becomes what a platform keys members by (../shared/specs/destinations.md §7):
  e-mail lower-cased and trimmed; phone as digits with the country code and no '+'
  (E.164 '+79161234567' -> '79161234567'); each value hashed alone, lowercase hex. Plain forms
  send the address as the warehouse holds it (e-mail normalised, phone E.164 with '+').
#}
{% macro identifier_form(form, address) -%}
  {%- set kind, _, hash = form.partition('_') -%}
  {%- set normalised = "lower(trim(" ~ address ~ "))" if kind == 'email' else "regexp_replace(" ~ address ~ ", '[^0-9]', '', 'g')" -%}
  {%- if hash == '' -%}{{ address }}
  {%- elif hash in ('sha256', 'md5') -%}{{ hash }}({{ normalised }})
  {%- else -%}{{ exceptions.raise_compiler_error("unknown identifier form " ~ form) }}
  {%- endif -%}
{%- endmacro %}


{#
  One segment's audience for one destination: the treated members (the control group is held
  back) reached at an address of the destination's kind that has consent for the destination's
  channel, per address (marts.consent_current). The segment's own address is preferred; else the
  customer's first consented address of that kind. An address shared by two members (a household
  phone) is sent once. Generated models call this (python -m cdp.audience_models).
#}
{% macro audience(segment, address_type, channel, identifier, control_share=none) %}
with members as (
    select customer_id, {{ address_type }} as own_address, given_name
    from {{ ref(segment) }}
),

consented as (
    select customer_id, address, granting_event_id
    from {{ ref('consent_current') }}
    where channel = '{{ channel }}' and address_type = '{{ address_type }}' and has_consent and customer_id is not null
),

treated as (
    select * from members
    where not {{ in_control_group('members.customer_id', segment, control_share) }}
),

-- One row per member, then per address (macros/sort_keys.sql: why arg_min, not distinct on).
chosen as (
    select customer_id, unnest(best)
    from (
        select treated.customer_id,
               arg_min({'given_name': treated.given_name, 'address': consented.address,
                        'granting_event_id': consented.granting_event_id},
                       {'own': case when consented.address = treated.own_address then 0
                                    when consented.address <> treated.own_address then 1 else 2 end,
                        'address': consented.address}) as best
        from treated
        join consented on consented.customer_id = treated.customer_id
        group by 1
    )
),

one_per_address as (
    select address, unnest(first_member)
    from (
        select address,
               arg_min({'customer_id': customer_id, 'given_name': given_name, 'granting_event_id': granting_event_id},
                       customer_id) as first_member
        from chosen
        group by 1
    )
),

final as (
    select
        cast(customer_id as varchar) as customer_id,
        '{{ address_type }}' as address_type,
        address,
        {{ identifier_form(identifier, 'address') }} as identifier,
        nullif(trim(given_name), '') as given_name,
        granting_event_id as consent_event_id
    from one_per_address
)

select * from final
{% endmacro %}


{#
  Every member of each activated segment held back as its control group (never synced; the lift
  mart compares them with the treated members).
#}
{% macro control_group_members(segments) %}
{%- for segment, share in segments %}
select '{{ segment }}' as segment, cast(customer_id as varchar) as customer_id,
       cast({{ share if share is not none else var('activation_control_share', 0.1) }} as double) as control_share
from {{ ref(segment) }}
where {{ in_control_group('customer_id', segment, share) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% endmacro %}
