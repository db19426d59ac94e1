{#- fct_email_events, and campaign_performance made from it, are kept between builds (ten million
    rows at a million people, 40 s to write again). What can change an event row, and how a build
    takes it in:
    - a platform's events or campaigns changed (its raw tables did): that platform's rows are
      deleted and selected again, as the union tables do (union_slices.sql);
    - an address now belongs to another customer, or to none, after identity moved: the rows of
      those addresses get the new customer_id in place;
    - anything else changed, or no list of changed raw tables (a plain `dbt build`): every row is
      deleted and selected again, which is the table the model would be.
    campaign_performance counts addresses, not customers: only the first case moves it. -#}

{#- Platforms whose rows are written again this build; none means all of them. -#}
{% macro email_event_platforms_stale() -%}
    {%- set events = union_stale_systems('message_events') -%}
    {%- set campaigns = union_stale_systems('campaigns') -%}
    {%- if events is none or campaigns is none -%}{{ return(none) }}{%- endif -%}
    {{ return((events + campaigns) | unique | list) }}
{%- endmacro %}

{#- Pre-hook of a mart kept per platform (fct_email_events, campaign_performance): clears the rows
    of the platforms written again. -#}
{% macro email_platforms_clear_stale() -%}
    {%- if execute and is_incremental() -%}
        {%- set stale = email_event_platforms_stale() -%}
        {%- if stale is none -%}
            delete from {{ this }}
        {%- elif stale -%}
            delete from {{ this }} where {{ union_slice_predicate(stale, 'platform') }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The rows kept from the last build take their address's current owner. -#}
{% macro email_events_reattribute() -%}
    {%- if execute and is_incremental() and email_event_platforms_stale() is not none -%}
        update {{ this }} as events
        set customer_id = now.customer_id
        from (
            select kept.email, owners.customer_id
            from (select distinct email from {{ this }} where email is not null) as kept
            left join {{ ref('int_identifier_owners') }} as owners
                on owners.identifier_type = 'email' and owners.identifier_value = kept.email
        ) as now
        where events.email = now.email and events.customer_id is distinct from now.customer_id
    {%- endif -%}
{%- endmacro %}
