{{ union_config('message_events') }}
-- Every enabled mailing platform's per-address campaign events (stg_<system>__message_events).
{{ union_shape('message_events') }}
