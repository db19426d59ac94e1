{{ union_config('order_items') }}
-- Every enabled system's order lines (stg_<system>__order_items), one shape, by column name.
{{ union_shape('order_items') }}
