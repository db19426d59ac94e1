{#- No row repeats the combination of these columns (the grain of a multi-column table).
    Local because dbt packages come from hub.getdbt.com, which the build machines cannot reach. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
