-- Grain: one row per identifier value no rule could use (a phone that is not a valid number, a
-- string that is not an e-mail address), with the system, record, field and reason. The record
-- itself loaded with what was good. Values are kept only as SHA-256, so the table can be shown
-- in reports and the UI without exposing personal data.
select * from {{ ref('int_identifier_issues') }}
