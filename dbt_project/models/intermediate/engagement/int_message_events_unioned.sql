-- Every enabled mailing platform's per-address campaign events (stg_<system>__message_events).
-- A view: the message-event staging models are tables already (the largest relations of the
-- project), so a table here would copy them once more for two readers.
{{ config(materialized='view') }}
{{ union_shape('message_events') }}
