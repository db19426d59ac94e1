{{ union_config('identifiers') }}
-- Every enabled system's identifiers (stg_<system>__identifiers) as the sources wrote them.
with unioned as (
    {{ union_shape('identifiers') }}
),

final as (
    select source_system || ':' || source_record_id as record_key, *
    from unioned
    where nullif(trim(identifier_raw), '') is not null
)

select * from final
