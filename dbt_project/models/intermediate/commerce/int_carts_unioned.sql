{{ union_config('carts') }}
-- Every enabled system's site carts (stg_<system>__carts), one shape, by column name.
{{ union_shape('carts') }}
