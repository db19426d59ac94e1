{#- One definition of the e-mail funnel, for every mart that reports it (campaign_performance,
    campaign_metrics): distinct addresses per event type, and rates over delivered letters
    (bounce rate over sent). -#}
{% macro email_funnel_counts(address='email') -%}
        count(distinct {{ address }}) filter (where event_type = 'sent') as sent,
        count(distinct {{ address }}) filter (where event_type = 'delivered') as delivered,
        count(distinct {{ address }}) filter (where event_type = 'opened') as opened,
        count(distinct {{ address }}) filter (where event_type = 'clicked') as clicked,
        count(distinct {{ address }}) filter (where event_type = 'unsubscribed') as unsubscribed,
        count(distinct {{ address }}) filter (where event_type = 'bounced') as bounced
{%- endmacro %}

{% macro email_rates() -%}
        opened / nullif(delivered, 0) as open_rate,
        clicked / nullif(delivered, 0) as ctr,
        clicked / nullif(opened, 0) as click_to_open,
        unsubscribed / nullif(delivered, 0) as unsubscribe_rate,
        bounced / nullif(sent, 0) as bounce_rate
{%- endmacro %}
