{#- Quintile scores 1-5 for per-customer recency/frequency/monetary rows, computed within each
    `partition_by` group (one as-of date). cume_dist gives equal values equal scores, so a score
    boundary never splits customers who bought identically. 5 = most recent / most / highest. -#}
{% macro rfm_scores(partition_by) -%}
    cast(ceil(5 * cume_dist() over (partition by {{ partition_by }} order by recency_days desc)) as integer) as r_score,
    cast(ceil(5 * cume_dist() over (partition by {{ partition_by }} order by frequency)) as integer) as f_score,
    cast(ceil(5 * cume_dist() over (partition by {{ partition_by }} order by monetary)) as integer) as m_score
{%- endmacro %}

{#- The segment map is keyed by r_score and the F/M average rounded half up. -#}
{% macro rfm_fm_score(f, m) -%}
    cast(floor(({{ f }} + {{ m }}) / 2.0 + 0.5) as integer)
{%- endmacro %}
