-- Grain: one row per activated segment and activation run (a send). Everyone the activation engine
-- assigned (activation.segment_assignments: members with their is_control flag; control members
-- are never synced) is followed for `lift_window_days` days after assigned_at; treated and control
-- are compared as assigned (intention to treat: a treated member the consent gate kept back still
-- counts as treated, as control members without consent count as control).
--   conversion: share with a completed order in the window; difference treated - control with
--     Newcombe's hybrid score interval (method 10, from the two Wilson intervals).
--   revenue per person: net revenue in the window (zero for non-buyers); difference with a normal
--     interval on the Welch standard error (welch_df reported: below ~30 the interval is optimistic).
--   incremental revenue: the difference per person times the treated group's size.
-- verdict says in words whether a difference is there, or why it cannot be told (groups smaller
-- than `lift_min_group_size`, or the window still open).
{%- set z = var('lift_z', 1.959964) %}
{%- set window = var('lift_window_days', 30) %}
{%- set minimum = var('lift_min_group_size', 100) %}
with assignments as (
    select * from {{ activation_table('segment_assignments') }}
),

sync_log as (
    select * from {{ activation_table('sync_log') }}
),

as_of as (
    select {{ as_of_date() }} as as_of_date
),

sends as (
    select run_id, segment, min(assigned_at) as assigned_at
    from assignments
    group by 1, 2
),

members as (
    select assignments.run_id, assignments.segment, assignments.customer_id,
           bool_or(assignments.is_control) as is_control, any_value(sends.assigned_at) as assigned_at
    from assignments
    join sends using (run_id, segment)
    group by 1, 2, 3
),

orders as (
    select customer_id, ordered_date, ordered_at, net_revenue
    from {{ ref('fct_orders') }}
    where is_completed and customer_id is not null
),

outcomes as (
    select
        members.run_id, members.segment, members.customer_id, members.is_control,
        count(orders.customer_id) > 0 as converted,
        cast(coalesce(sum(orders.net_revenue), 0) as double) as revenue
    from members
    left join orders
        on orders.customer_id = members.customer_id
        and orders.ordered_date >= {{ business_date('members.assigned_at') }}
        and orders.ordered_date < {{ business_date('members.assigned_at') }} + to_days({{ window }})
        and (orders.ordered_at is null or orders.ordered_at >= members.assigned_at)
    group by 1, 2, 3, 4
),

synced as (
    select sync_log.run_id, sync_log.segment,
           count(distinct sync_log.customer_id) as treated_synced,
           count(distinct sync_log.customer_id) filter (where members.is_control) as control_synced
    from sync_log
    left join members using (run_id, segment, customer_id)
    where sync_log.action = 'sent' and sync_log.status = 'sent'
    group by 1, 2
),

groups as (
    select
        run_id, segment,
        count(*) filter (where not is_control) as treated,
        count(*) filter (where is_control) as control,
        count(*) filter (where not is_control and converted) as treated_converted,
        count(*) filter (where is_control and converted) as control_converted,
        coalesce(avg(revenue) filter (where not is_control), 0) as treated_revenue_per_person,
        coalesce(avg(revenue) filter (where is_control), 0) as control_revenue_per_person,
        coalesce(var_samp(revenue) filter (where not is_control), 0) as treated_revenue_variance,
        coalesce(var_samp(revenue) filter (where is_control), 0) as control_revenue_variance,
        sum(revenue) filter (where not is_control) as treated_revenue
    from outcomes
    group by 1, 2
),

measured as (
    select
        groups.*,
        sends.assigned_at,
        cast({{ business_date('sends.assigned_at') }} + to_days({{ window }}) as date) as window_end_date,
        as_of.as_of_date >= {{ business_date('sends.assigned_at') }} + to_days({{ window }}) as is_window_complete,
        coalesce(synced.treated_synced, 0) - coalesce(synced.control_synced, 0) as treated_synced,
        coalesce(synced.control_synced, 0) as control_synced,
        cast(treated_converted as double) / nullif(treated, 0) as treated_conversion,
        cast(control_converted as double) / nullif(control, 0) as control_conversion,
        case when treated > 0 then {{ wilson_bound('cast(treated_converted as double)', 'treated', z, 'lower') }} end as treated_lower,
        case when treated > 0 then {{ wilson_bound('cast(treated_converted as double)', 'treated', z, 'upper') }} end as treated_upper,
        case when control > 0 then {{ wilson_bound('cast(control_converted as double)', 'control', z, 'lower') }} end as control_lower,
        case when control > 0 then {{ wilson_bound('cast(control_converted as double)', 'control', z, 'upper') }} end as control_upper,
        case when treated > 1 and control > 1
             then sqrt(treated_revenue_variance / treated + control_revenue_variance / control) end as revenue_standard_error
    from groups
    join sends using (run_id, segment)
    left join synced using (run_id, segment)
    cross join as_of
),

intervals as (
    select
        *,
        treated_conversion - control_conversion as conversion_lift,
        treated_conversion - control_conversion
            - sqrt((treated_conversion - treated_lower)^2 + (control_upper - control_conversion)^2) as conversion_lift_lower,
        treated_conversion - control_conversion
            + sqrt((treated_upper - treated_conversion)^2 + (control_conversion - control_lower)^2) as conversion_lift_upper,
        treated_revenue_per_person - control_revenue_per_person as revenue_lift_per_person,
        treated_revenue_per_person - control_revenue_per_person - {{ z }} * revenue_standard_error as revenue_lift_lower,
        treated_revenue_per_person - control_revenue_per_person + {{ z }} * revenue_standard_error as revenue_lift_upper,
        (treated_revenue_variance / treated + control_revenue_variance / control)^2
            / nullif((treated_revenue_variance / treated)^2 / (treated - 1) + (control_revenue_variance / control)^2 / (control - 1), 0) as welch_df
    from measured
),

final as (
    select
        run_id,
        segment,
        assigned_at,
        {{ window }} as window_days,
        window_end_date,
        is_window_complete,
        treated,
        control,
        treated_synced,
        control_synced,
        treated_converted,
        control_converted,
        treated_conversion,
        control_conversion,
        conversion_lift,
        conversion_lift_lower,
        conversion_lift_upper,
        treated_revenue_per_person,
        control_revenue_per_person,
        revenue_lift_per_person,
        revenue_lift_lower,
        revenue_lift_upper,
        welch_df,
        revenue_lift_per_person * treated as incremental_revenue,
        revenue_lift_lower * treated as incremental_revenue_lower,
        revenue_lift_upper * treated as incremental_revenue_upper,
        '{{ var("currency", "RUB") }}' as currency,
        case
            when treated < {{ minimum }} or control < {{ minimum }}
                then 'too small to tell: ' || treated || ' treated and ' || control
                     || ' in control; at least {{ minimum }} in each are needed'
            when not is_window_complete
                then 'too early to tell: the {{ window }}-day window ends on ' || strftime(window_end_date, '%Y-%m-%d')
            when revenue_lift_lower > 0
                then 'lift: ' || printf('%+.2f', revenue_lift_per_person) || ' revenue per person (' || printf('%.2f', revenue_lift_lower)
                     || ' to ' || printf('%.2f', revenue_lift_upper) || '), conversion ' || printf('%+.1f', 100 * conversion_lift) || ' pp'
            when revenue_lift_upper < 0
                then 'worse than no send: ' || printf('%+.2f', revenue_lift_per_person) || ' revenue per person ('
                     || printf('%.2f', revenue_lift_lower) || ' to ' || printf('%.2f', revenue_lift_upper) || ')'
            when conversion_lift_lower > 0
                then 'more buyers (' || printf('%+.1f', 100 * conversion_lift) || ' pp conversion), revenue difference not clear ('
                     || printf('%.2f', revenue_lift_lower) || ' to ' || printf('%.2f', revenue_lift_upper) || ' per person)'
            when conversion_lift_upper < 0
                then 'fewer buyers than in control (' || printf('%+.1f', 100 * conversion_lift) || ' pp conversion)'
            else 'no measurable difference: revenue per person ' || printf('%.2f', revenue_lift_lower) || ' to '
                 || printf('%.2f', revenue_lift_upper) || ', conversion ' || printf('%+.1f', 100 * conversion_lift_lower)
                 || ' to ' || printf('%+.1f', 100 * conversion_lift_upper) || ' pp'
        end as verdict
    from intervals
)

select * from final
