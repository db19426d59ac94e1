{#- A name part typed all in capitals or all in lower case, in Title case ("СТАНИСЛАВ" ->
    "Станислав", "римский-корсаков" -> "Римский-Корсаков") for greetings; mixed case is kept
    as the source wrote it (МакДональд). Only the letters' case changes, never the words. -#}
{% macro display_name(column) -%}
    case
        when {{ column }} is null or trim({{ column }}) = '' then null
        when {{ column }} = upper({{ column }}) or {{ column }} = lower({{ column }})
            then array_to_string(list_transform(string_split(lower(trim({{ column }})), '-'), lambda w: upper(left(w, 1)) || substr(w, 2)), '-')
        else trim({{ column }})
    end
{%- endmacro %}
