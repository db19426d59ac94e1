-- Shape consent_events: what a mapped consent column (email_consent, sms_consent) or a mailing
-- platform's subscription-status column (email_status, sms_status) says, one event per row and
-- column: granted or revoked (the connector read the cell with the mapping's vocabulary; a blank
-- cell or a `none` word such as unconfirmed/invited/bounced is no event, an unknown word
-- quarantined the row). Rules (connectors/spreadsheets/README.md):
-- * A grant or revocation without its own date (no date column, or a blank one) takes the file's
--   export date, and says so in its evidence; the evidence names the column, file and row.
-- * An unsubscribe exported by an e-mail platform (mapping kind email_platform) is a standing
--   revocation, as the API connectors' are: only the person can undo it there. A CRM's or 1C's
--   "no" is a dated revocation that a later grant can supersede.
-- * address_raw: the row's own e-mail (email channel) or each of its phones (sms channel), as
--   written; null when the row has none.
with members as (
    select * from {{ ref('stg_spreadsheets__members') }}
),

phones as (
    select member_record_id, phone_raw from {{ ref('stg_spreadsheets__member_phones') }}
),

cells as (
    select member_record_id, 'email' as channel, 'consent' as column_kind, 'email_consent' as field,
        email_consent as event_kind, email_consent_at as stated_at
    from members where email_consent is not null
    union all
    select member_record_id, 'email', 'status', 'email_status', email_status, email_consent_at
    from members where email_status is not null
    union all
    select member_record_id, 'sms', 'consent', 'sms_consent', sms_consent, sms_consent_at
    from members where sms_consent is not null
    union all
    select member_record_id, 'sms', 'status', 'sms_status', sms_status, sms_consent_at
    from members where sms_status is not null
),

events as (
    select
        members.source_system,
        members.source_record_id,
        cells.channel,
        case when cells.channel = 'email' then members.email_raw else phones.phone_raw end as address_raw,
        coalesce(cells.stated_at, members.file_exported_at) as event_at,
        cells.event_kind,
        cells.column_kind || ' column '''
            || coalesce(json_extract_string(members.field_headers, '$.' || cells.field), cells.field)
            || ''' in ' || members.source_position
            || case when cells.stated_at is null then ' (undated: the file''s export date)' else '' end as evidence,
        cells.event_kind = 'revoked' and coalesce(members.mapping_kind = 'email_platform', false) as is_standing_revocation
    from cells
    inner join members using (member_record_id)
    left join phones
        on cells.channel = 'sms'
        and phones.member_record_id = cells.member_record_id
),

final as (
    select
        source_system,
        source_record_id,
        channel,
        address_raw,
        event_at,
        event_kind,
        evidence,
        is_standing_revocation
    from events
)

select * from final
