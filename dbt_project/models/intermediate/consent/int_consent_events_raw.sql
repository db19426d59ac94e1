{{ union_config('consent_events') }}
-- Every enabled system's consent events (stg_<system>__consent_events) as the sources stated them.
with unioned as (
    {{ union_shape('consent_events') }}
),

final as (
    select source_system || ':' || source_record_id as record_key, *
    from unioned
)

select * from final
