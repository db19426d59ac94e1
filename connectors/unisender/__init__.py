"""Unisender as a dlt source: contacts with their status, and what each campaign did per address.

- `contacts`, `lists`: the asynchronous export (`async/exportContacts` → poll → download), the way
  the docs recommend for whole bases, merged on the (lower-cased) e-mail. The export has no change
  filter, so it is read whole every run; only the contacts that differ from the loaded row are
  loaded (a digest per row, connectors/common/unchanged.py). `unsubscribed` here means
  the person opted out in the mailing tool, which the CRM usually does not know.
- `campaigns`: `getCampaigns` with `from` on the start time (a dlt cursor), merged on `id`. The
  cursor steps back 30 days each run because a campaign's status moves on after it starts.
- `campaign_deliveries`: `getCampaignDeliveryStats` per campaign, one row per campaign and address
  (`send_result`, `last_update`), merged on (campaign_id, email). Decision: a cursor, not "only
  campaigns not yet final". The API filters by `changed_since` (inclusive, UTC), and `last_update`
  is the time of the address's latest status, so one global cursor (max `last_update` seen, minus
  an hour of overlap) asks every campaign only for what changed since the last run: a late open in
  an old campaign is still caught, and a finished campaign costs one call that returns nothing.
- `visited_links`: `getVisitedLinks(group=1)` per campaign (address, link, first visit time,
  count), merged on (campaign_id, email, url). It has no change filter, so a campaign's links are
  read until the campaign has been seen in a final status, then no more; of what is read again,
  only the clicks that differ from the loaded ones are loaded (connectors/common/unchanged.py).

Times are typed as UTC (Unisender documents them so). Rows without a usable e-mail or time go to
`raw_unisender.quarantine`; a missing delivery column (`email`, `send_result`, `last_update`) stops
the run (`SchemaDrift`), since engagement and consent depend on it.

Standalone:  UNISENDER_API_KEY=demo-key python -m connectors.unisender --base-url http://127.0.0.1:8302
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from itertools import islice
from typing import Any, Iterator

import dlt

from connectors.common.arrow import keep_dlt_columns, rows_as_arrow
from connectors.common.contracts import PII_CONTRACT, require_fields
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.common.unchanged import UnchangedRows
from connectors.unisender.client import UnisenderClient, parse_utc
from connectors.unisender.settings import (
    CAMPAIGN_LOOKBACK_SECONDS, DELIVERY_FIELDS, DELIVERY_OVERLAP_SECONDS, FINAL_CAMPAIGN_STATUSES, LINK_FIELDS,
)

__all__ = ["unisender_source", "UnisenderClient"]

log = logging.getLogger(__name__)

SOURCE = "unisender"
CONTACTS_CHUNK = 5000  # export rows per Arrow table handed to dlt
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _cursor(path: str, lag: int) -> dlt.sources.incremental:
    # "include": quarantine rows carry no cursor and pass to their own table.
    return dlt.sources.incremental(path, initial_value=EPOCH, lag=lag, on_cursor_value_missing="include")


def _since(cursor: dlt.sources.incremental) -> datetime | None:
    """The lag-adjusted cursor, or None on a first run (then the API is asked for everything)."""
    value = cursor.last_value
    return None if value is None or value <= EPOCH else value


def _table_rows(fields: list[str], data: list[Any], campaign_id: int, where: str, times: tuple[str, ...],
                unchanged: UnchangedRows | None = None) -> Iterator[Any]:
    """Zip `{fields, data}` rows into records; refuse rows without an e-mail or with bad times; with
    `unchanged`, leave out the rows the raw table holds as they are."""
    good = []
    for i, values in enumerate(data):
        position = f"{where} row {i}"
        if not isinstance(values, list) or len(values) != len(fields):
            yield quarantined(SOURCE, position, "row does not match the fields header", values)
            continue
        row = dict(zip(fields, values))
        email = str(row.get("email") or "").strip().lower()
        if "@" not in email:
            yield quarantined(SOURCE, position, "row has no e-mail", row)
            continue
        typed = {name: parse_utc(row.get(name)) for name in times}
        bad = [name for name, value in typed.items() if value is None]
        if bad:
            yield quarantined(SOURCE, position, f"{', '.join(bad)} is not a 'YYYY-MM-DD hh:mm:ss' time", row)
            continue
        good.append({"campaign_id": campaign_id, **row, "email": email, **typed})
    if unchanged is not None:
        good = unchanged.new(good)
    if good:
        yield rows_as_arrow(good)


@dlt.source(name=SOURCE, max_table_nesting=0)
def unisender_source(base_url: str = dlt.config.value, api_key: str = dlt.secrets.value, http_attempts: int = 6):
    """`http_attempts`: tries per call before a transport failure ends the run (tests use 1)."""
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    keep_dlt_columns()  # deliveries and links arrive as Arrow tables (connectors/common/arrow.py)
    client = UnisenderClient(base_url, api_key, attempts=http_attempts)
    cache: dict[str, list[dict[str, Any]]] = {}

    def all_campaigns() -> list[dict[str, Any]]:
        """Every campaign with a usable id, read once per run (deliveries and links both need it)."""
        if "all" not in cache:
            cache["all"] = [c for c in client.get_campaigns() if isinstance(c, dict) and isinstance(c.get("id"), int)]
        return cache["all"]

    @dlt.resource(name="contacts", primary_key="email", write_disposition="merge")
    def contacts() -> Iterator[Any]:
        rows = client.export_contacts()  # read a chunk at a time, never the whole list as dicts
        unchanged = UnchangedRows("contacts", "email")
        read = 0
        while chunk := list(islice(rows, CONTACTS_CHUNK)):
            good = []
            for line, row in enumerate(chunk, start=read + 2):
                email = (row.get("email") or "").strip().lower()
                if "@" not in email:
                    yield quarantined(SOURCE, f"exportContacts line {line}", "row has no e-mail", row)
                else:
                    good.append({**row, "email": email})
            read += len(chunk)
            fresh = unchanged.new(good)  # a contact loaded as it is now is not loaded again
            if fresh:
                yield rows_as_arrow(fresh)
        log.info("unisender/contacts: %d of %d exported rows loaded as they are, not loaded again",
                 unchanged.skipped, read)

    @dlt.resource(name="lists", primary_key="id", write_disposition="merge")
    def lists() -> Iterator[Any]:
        yield client.get_lists()

    @dlt.resource(name="campaigns", primary_key="id", write_disposition="merge")
    def campaigns(start_time=_cursor("start_time", CAMPAIGN_LOOKBACK_SECONDS)) -> Iterator[Any]:
        good = []
        for i, campaign in enumerate(client.get_campaigns(_since(start_time))):
            started = parse_utc(campaign.get("start_time")) if isinstance(campaign, dict) else None
            if not isinstance(campaign, dict) or not isinstance(campaign.get("id"), int):
                yield quarantined(SOURCE, f"getCampaigns item {i}", "campaign has no integer id", campaign)
            elif started is None:
                yield quarantined(SOURCE, f"getCampaigns item {i}", "start_time is not a 'YYYY-MM-DD hh:mm:ss' time", campaign)
            else:
                good.append({**campaign, "start_time": started})
        if good:
            yield good

    @dlt.resource(name="campaign_deliveries", primary_key=("campaign_id", "email"), write_disposition="merge",
                  schema_contract=PII_CONTRACT)
    def campaign_deliveries(last_update=_cursor("last_update", DELIVERY_OVERLAP_SECONDS)) -> Iterator[Any]:
        since = _since(last_update)
        for campaign in all_campaigns():
            cid = campaign["id"]
            where = f"getCampaignDeliveryStats campaign {cid}"
            fields, data = client.get_delivery_stats(cid, since)
            require_fields(dict.fromkeys(fields), DELIVERY_FIELDS, system=SOURCE, where=where)
            yield from _table_rows(fields, data, cid, where, ("last_update",))

    @dlt.resource(name="visited_links", primary_key=("campaign_id", "email", "url"), write_disposition="merge",
                  schema_contract=PII_CONTRACT)
    def visited_links() -> Iterator[Any]:
        state = dlt.current.resource_state()
        final: set[int] = set(state.get("final_campaign_ids", []))
        # Every campaign not yet final is read again whole: only the clicks that are new load.
        sending = [c["id"] for c in all_campaigns() if c["id"] not in final]
        unchanged = UnchangedRows("visited_links", ("campaign_id", "email", "url"), among=("campaign_id", sending))
        for campaign in all_campaigns():
            cid = campaign["id"]
            if cid in final:
                continue
            where = f"getVisitedLinks campaign {cid}"
            fields, data = client.get_visited_links(cid)
            require_fields(dict.fromkeys(fields), LINK_FIELDS, system=SOURCE, where=where)
            yield from _table_rows(fields, data, cid, where, ("request_time",), unchanged)
            if campaign.get("status") in FINAL_CAMPAIGN_STATUSES:
                final.add(cid)
        # Saved with the load: a run that dies before loading leaves the old list in place.
        state["final_campaign_ids"] = sorted(final)

    return contacts, lists, campaigns, campaign_deliveries, visited_links, quarantine_resource()

