{#- No row repeats the combination of these columns (the grain of a multi-column table). A NULL
    counts as a value: two rows with the same values, NULL in the same columns, repeat it.
    Local because dbt packages come from hub.getdbt.com, which the build machines cannot reach.

    Why hashes first: grouping a large table by its text columns holds every distinct combination
    in memory, and at a million people stg_unisender__message_events' 13.8 M rows took 1.96 GiB
    that way (1.83 GiB as one concatenated key, which also skipped rows with a NULL part and read
    'a|b' + 'c' as 'a' + 'b|c'). Grouped by a 64-bit hash it took 1.17-1.32 GiB in the same
    6.4 s (docs/benchmarks/notes.md). A hash shared by two rows is only a candidate: the columns
    of the candidates are compared, so a collision never fails the test and a duplicate never
    passes it. -#}
{% test unique_combination(model, columns) %}
{%- set key = columns | join(', ') %}
with candidates as (
    select hash({{ key }}) as combination_hash
    from {{ model }}
    group by 1
    having count(*) > 1
)
select {{ key }}, count(*) as n
from {{ model }}
where hash({{ key }}) in (select combination_hash from candidates)
group by {{ key }}
having count(*) > 1
{% endtest %}
