{#- The cross-system shapes. Every source system's staging offers some of these as
    `stg_<system>__<shape>` (which ones: the system's declaration in cdp/systems.py, passed in as
    var cdp_systems), and the layers above read only their unions (`union_shape`), so a system is
    added, enabled or disabled without touching any model above staging.

    Column meaning (all text as the source wrote it unless said otherwise; normalisation of
    phones, e-mails and full names happens once, set-based, in intermediate):
    person_records   one row per person-like record. full_name: a one-field name whose order is
                     unknown (parsed centrally); surname/given_name/patronymic: separate columns,
                     taken as given, never re-split. record_created_at in UTC. evidence: where the
                     record came from (file and row for files).
    identifiers      one row per contact or id a record carries. identifier_type: email, phone,
                     loyalty_card, onec_code, onec_ref, ... ; identifier_usage: what the source
                     says the value is for (work, home, mobile, ...), null if it does not say.
    consent_events   one row per grant or revocation. address_raw: the e-mail or phone the event
                     is about; null means the record's own addresses of the channel's kind (never
                     another record's). event_kind: granted, double_opt_in_confirmed, revoked.
    orders           one row per order or won/lost deal. customer_source_system (default: the
                     exporting system) and customer_record_id name the buyer's record in that
                     system, whether or not it exported a person file. ordered_date is the
                     business-local date (always known); ordered_at the UTC instant when the source
                     gives a time. Money is decimal, in the business currency.
-#}
{% macro shape_columns(shape) -%}
    {%- set shapes = {
        'person_records': {
            'source_system': 'varchar', 'source_record_id': 'varchar',
            'full_name': 'varchar', 'surname': 'varchar', 'given_name': 'varchar', 'patronymic': 'varchar',
            'birth_date': 'date', 'city': 'varchar', 'record_created_at': 'timestamp', 'evidence': 'varchar',
        },
        'identifiers': {
            'source_system': 'varchar', 'source_record_id': 'varchar', 'identifier_type': 'varchar',
            'identifier_raw': 'varchar', 'identifier_position': 'integer', 'identifier_usage': 'varchar',
        },
        'consent_events': {
            'source_system': 'varchar', 'source_record_id': 'varchar', 'channel': 'varchar',
            'address_raw': 'varchar', 'event_at': 'timestamp', 'event_kind': 'varchar',
            'evidence': 'varchar', 'is_standing_revocation': 'boolean',
        },
        'orders': {
            'source_system': 'varchar', 'source_order_id': 'varchar', 'order_number': 'varchar',
            'customer_source_system': 'varchar', 'customer_record_id': 'varchar',
            'customer_phone_raw': 'varchar', 'customer_email_raw': 'varchar',
            'ordered_date': 'date', 'ordered_at': 'timestamp', 'status': 'varchar', 'status_group': 'varchar',
            'total_amount': 'decimal(18,2)', 'net_amount': 'decimal(18,2)',
        },
        'order_items': {
            'source_system': 'varchar', 'source_order_id': 'varchar', 'order_item_id': 'varchar',
            'article': 'varchar', 'product_name': 'varchar', 'quantity': 'decimal(18,3)',
            'unit_price': 'decimal(18,2)', 'unit_discount': 'decimal(18,2)',
        },
        'campaigns': {
            'source_system': 'varchar', 'campaign_id': 'varchar', 'campaign_name': 'varchar', 'sent_at': 'timestamp',
        },
        'message_events': {
            'source_system': 'varchar', 'campaign_id': 'varchar', 'email_raw': 'varchar',
            'event_type': 'varchar', 'event_at': 'timestamp',
        },
        'carts': {
            'source_system': 'varchar', 'cart_id': 'varchar', 'customer_record_id': 'varchar',
            'created_at': 'timestamp', 'updated_at': 'timestamp', 'items_count': 'integer',
            'cart_amount': 'decimal(18,2)', 'order_id': 'varchar', 'is_open': 'boolean',
        },
    } -%}
    {%- if shape not in shapes -%}
        {{ exceptions.raise_compiler_error("unknown cross-system shape '" ~ shape ~ "'; known: " ~ (shapes.keys() | list | join(', '))) }}
    {%- endif -%}
    {{ return(shapes[shape]) }}
{%- endmacro %}

{#- The enabled systems (var cdp_systems: name -> {rank, shapes, timezone}) that offer `shape`. -#}
{% macro systems_offering(shape) -%}
    {%- set found = [] -%}
    {%- for name, decl in var('cdp_systems', {}).items() | sort -%}
        {%- if shape in decl.get('shapes', []) -%}{%- do found.append(name) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- Zero rows with the shape's columns and types. -#}
{% macro empty_shape(shape) -%}
    select {% for name, type in shape_columns(shape).items() %}cast(null as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %} where false
{%- endmacro %}

{#- Union of every enabled system's `stg_<system>__<shape>`, column by column by name and cast to
    the shape's type, never by position; no system offering it gives zero rows of the same shape.
    In an incremental union (union_config) only the slices its pre-hook cleared are selected
    (union_slices.sql). -#}
{% macro union_shape(shape) -%}
    {%- set columns = shape_columns(shape) -%}
    {%- set systems = systems_offering(shape) -%}
    {%- if execute and is_incremental() -%}
        {%- set stale = union_stale_systems(shape) -%}
        {%- if stale is not none -%}{%- set systems = stale -%}{%- endif -%}
    {%- endif -%}
    {%- if not systems -%}
        {{ empty_shape(shape) }}
    {%- endif -%}
    {%- for system in systems %}
    select {% for name, type in columns.items() %}cast({{ adapter.quote(name) }} as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
    from {{ ref('stg_' ~ system ~ '__' ~ shape) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}

{#- The config of a union table kept per system (union_slices.sql). -#}
{% macro union_config(shape) -%}
    {{ config(materialized='incremental', incremental_strategy='append', on_schema_change='sync_all_columns',
              pre_hook="{{ union_clear_stale('" ~ shape ~ "') }}") }}
{%- endmacro %}
