{#- One definition of the e-mail funnel, for every mart that reports it (campaign_performance,
    campaign_metrics): distinct addresses per event type, and rates over delivered letters
    (bounce rate over sent).

    Two steps, because six `count(distinct ...) filter (...)` in one aggregate make DuckDB build six
    hash tables over every event (at 100,000 people 2.2 M events, about 3 s each): first
    `email_funnel_addresses` counts distinct addresses per group and event type (one hash table),
    then `email_funnel_counts` turns the event types into columns over those few rows. The figures
    are the same: a group with no event of a type counts 0. -#}
{% macro email_funnel_addresses(address='email') -%}
        count(distinct {{ address }}) as funnel_addresses
{%- endmacro %}

{% macro email_funnel_counts() -%}
        coalesce(max(funnel_addresses) filter (where event_type = 'sent'), 0) as sent,
        coalesce(max(funnel_addresses) filter (where event_type = 'delivered'), 0) as delivered,
        coalesce(max(funnel_addresses) filter (where event_type = 'opened'), 0) as opened,
        coalesce(max(funnel_addresses) filter (where event_type = 'clicked'), 0) as clicked,
        coalesce(max(funnel_addresses) filter (where event_type = 'unsubscribed'), 0) as unsubscribed,
        coalesce(max(funnel_addresses) filter (where event_type = 'bounced'), 0) as bounced
{%- endmacro %}

{% macro email_rates() -%}
        opened / nullif(delivered, 0) as open_rate,
        clicked / nullif(delivered, 0) as ctr,
        clicked / nullif(opened, 0) as click_to_open,
        unsubscribed / nullif(delivered, 0) as unsubscribe_rate,
        bounced / nullif(sent, 0) as bounce_rate
{%- endmacro %}
