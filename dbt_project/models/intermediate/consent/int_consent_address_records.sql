-- Grain: one row per channel, address and record that stated an event for it, with the sort key of
-- the record's latest event (macros/sort_keys.sql latest_first). consent_current names as an
-- address's customer the granting record's, else whoever the latest event names (ties: the smaller
-- customer id); a record's events all name its customer, so its latest event stands for all of
-- them, and the pick waits for identity only as a join of these rows.
select channel, address_type, address, record_key, min({{ latest_first('event_at') }}) as latest_key
from {{ ref('int_consent_events_resolved') }}
group by 1, 2, 3, 4
