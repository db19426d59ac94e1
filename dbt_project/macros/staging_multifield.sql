{#- Multi-valued contact fields (phones, e-mails) as the CRMs keep them: per record, a JSON array
    of entries, each with a value and a type the manager chose (amoCRM's custom_fields_values
    `values`, Bitrix24's PHONE/EMAIL multi-fields). Staging unnests them here, one way for both;
    the values stay as typed (trimmed, empty -> dropped): phones and e-mails are normalised once,
    centrally, in intermediate. -#}

{#- A JSON array column as a list of JSON entries; null when it is not an array (absent, null,
    or an object a broken export left). -#}
{% macro json_entries(column) -%}
    (case when json_type({{ column }}) = 'ARRAY' then from_json({{ column }}, '["json"]') end)
{%- endmacro %}

{#- amoCRM: the entries of every custom field with `field_code` (PHONE, EMAIL), in the order the
    fields and their values are listed. -#}
{% macro amocrm_field_entries(column, field_code) -%}
    flatten(list_transform(
        list_filter({{ json_entries(column) }}, lambda field: field->>'$.field_code' = '{{ field_code }}'),
        lambda field: coalesce({{ json_entries("field->'$.values'") }}, cast([] as json[]))
    ))
{%- endmacro %}

{#- One row per entry with a value: `record_id`; value_position (1-based, in the order the source
    lists the values, counting only non-empty ones); value_raw (trimmed, as typed); value_usage
    (the entry's type, lower case: work, mobile, home, ...; null when unset); and any `extra`
    columns, name -> SQL expression over the JSON `entry`. `entries` is a SQL expression over
    `relation`'s columns giving the record's list of JSON entries. -#}
{% macro multifield_values(relation, record_id, entries, value, usage, extra={}) -%}
    select
        {{ record_id }},
        row_number() over (partition by {{ record_id }} order by entry_position) as value_position,
        value_raw,
        value_usage
        {%- for name in extra %},
        {{ name }}
        {%- endfor %}
    from (
        select
            {{ record_id }},
            entry_position,
            nullif(trim({{ value }}), '') as value_raw,
            nullif(lower(trim({{ usage }})), '') as value_usage
            {%- for name, expression in extra.items() %},
            {{ expression }} as {{ name }}
            {%- endfor %}
        from (
            select
                {{ record_id }},
                unnest(entries) as entry,
                generate_subscripts(entries, 1) as entry_position
            from (select {{ record_id }}, {{ entries }} as entries from {{ relation }})
        )
    )
    where value_raw is not null
{%- endmacro %}
