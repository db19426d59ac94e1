-- One row per Bitrix24 deal. Won/lost follow STAGE_SEMANTIC_ID (S success, F failure, P in
-- progress), which holds for custom and pipeline-prefixed stages (`C1:WON`) alike; the stage id
-- decides only when the semantic is missing. CLOSEDATE of an open deal is the planned date, so
-- closed_at is set only for closed deals.
with source as (
    select * from {{ raw_table('bitrix24', 'deals') }}
),

renamed as (
    select
        cast(id as varchar) as deal_id,
        nullif(nullif(trim(cast(contact_id as varchar)), ''), '0') as contact_record_id,
        nullif(nullif(trim(cast(company_id as varchar)), ''), '0') as company_id,
        title,
        category_id,
        stage_id,
        upper(stage_semantic_id) as stage_semantic_id,
        -- money as text ("34630.00"), straight to decimal
        try_cast(nullif(trim(opportunity), '') as decimal(18, 2)) as amount,
        currency_id as currency,
        closed = 'Y' as is_closed,
        timezone('UTC', try_cast(date_create as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modify as timestamptz)) as updated_at,
        timezone('UTC', try_cast(nullif(closedate, '') as timestamptz)) as closedate_utc,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        deal_id,
        contact_record_id,
        company_id,
        title,
        category_id,
        stage_id,
        stage_semantic_id,
        amount,
        currency,
        coalesce(
            case when stage_semantic_id in ('S', 'F', 'P') then stage_semantic_id = 'S' end,
            regexp_matches(coalesce(stage_id, ''), '(^|:)WON$')
        ) as is_won,
        coalesce(
            case when stage_semantic_id in ('S', 'F', 'P') then stage_semantic_id = 'F' end,
            regexp_matches(coalesce(stage_id, ''), '(^|:)(LOSE|APOLOGY)$')
        ) as is_lost,
        is_closed,
        created_at,
        updated_at,
        case when is_closed then closedate_utc end as closed_at,
        load_id
    from renamed
)

select * from final
