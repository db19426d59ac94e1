{{ config(materialized='table') }}
-- Grain: one row per person-like source record, with what identity compares: name keys
-- (int_name_keys: surname stem and given-name forms as Latin skeletons, so Иванова / Ivanova /
-- Саша / Aleksandr compare), birth date, city, and a people-like key: records with the same name
-- key count as one person when an identifier's holders are counted.
with records as (
    select * from {{ ref('int_source_records_unioned') }}
),

keys as (
    select * from {{ ref('int_name_keys') }}
),

final as (
    select
        records.record_key,
        records.source_system,
        records.source_record_id,
        surnames.name_key as surname_key,
        givens.name_key as given_key,
        coalesce(givens.given_keys, []::varchar[]) as given_keys,
        patronymics.name_key as patronymic_key,
        records.birth_date,
        nullif(lower(replace(trim(records.city), 'ё', 'е')), '') as city_key,
        records.is_order_only,
        -- Two records with this key are the same person as far as counting holders goes.
        coalesce(surnames.name_key || '|' || givens.name_key, givens.name_key, surnames.name_key) as person_key,
        surnames.name_key is not null and givens.name_key is not null as has_full_name,
        -- Every key any name word may stand for, to compare a one-word name with a full one.
        list_distinct(list_concat(
            coalesce(givens.given_keys, []::varchar[]),
            coalesce(surnames.given_keys, []::varchar[]),
            case when surnames.name_key is not null then [surnames.name_key] else []::varchar[] end
        )) as any_name_keys
    from records
    left join keys as surnames on surnames.name_part = 'surname' and surnames.word = records.surname
    left join keys as givens on givens.name_part = 'given_name' and givens.word = records.given_name
    left join keys as patronymics on patronymics.name_part = 'patronymic' and patronymics.word = records.patronymic
)

select * from final
