{{ union_config('person_records') }}
-- Every enabled system's person records (stg_<system>__person_records), one shape, by column name.
with unioned as (
    {{ union_shape('person_records') }}
),

final as (
    select source_system || ':' || source_record_id as record_key, *
    from unioned
)

select * from final
