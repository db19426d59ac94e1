"""Bitrix24 (incoming webhook) as a dlt source: contacts and deals, as received, merged on `ID`.

Both resources read their list method with `filter[>DATE_MODIFY]` from a `dlt.sources.incremental`
cursor (re-reading `CURSOR_LAG_SECONDS` before the last value, since the filter is strict and to
the second), ordered by `ID` so `start` offsets stay stable while managers edit records. The
cursor only advances when a load commits, so a run that dies mid-way is simply re-read next time.
Values stay the strings Bitrix24 sends (dates with the portal's offset, money as text, `Y`/`N`);
`PHONE`/`EMAIL` stay JSON columns (`max_table_nesting=0`); staging casts and unpacks. Pages reach
dlt as Arrow tables (the multi-fields as their JSON text), not dict rows: dlt's handling of dict rows
was most of the load.

Guards: a record without a usable `ID` or `DATE_MODIFY` is quarantined with its page and position;
the first good record of each page must still carry the fields staging reads (`require_fields`),
and a `HAS_PHONE`/`HAS_EMAIL` = `Y` without its multi-field means it fell out of `select`: both
stop the run with `SchemaDrift`. Column types are frozen by `PII_CONTRACT`.

Standalone:  BITRIX24_API_KEY=demo-key python -m connectors.bitrix24 --base-url http://127.0.0.1:8305
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Iterator

import dlt

from connectors.bitrix24.helpers import Bitrix24Client, Bitrix24Error, page_records, parse_batch, webhook_url
from connectors.bitrix24.settings import (
    BATCH_PAGES, CONTACT_FIELDS, CONTACT_SELECT, CURSOR_LAG_SECONDS, DEAL_FIELDS, DEAL_SELECT, MULTI_FIELD_FLAGS,
    ORDER, WEBHOOK_USER_ID,
)
from connectors.common.arrow import arrow_pages, keep_dlt_columns
from connectors.common.contracts import PII_CONTRACT, SchemaDrift, require_fields
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.common.unchanged import UnchangedRows

__all__ = ["bitrix24_source", "records", "Bitrix24Client", "Bitrix24Error", "page_records", "parse_batch",
           "webhook_url"]

SYSTEM = "bitrix24"


def _no_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "record is not an object"
    rid = record.get("ID")
    if rid is None or not str(rid).strip().isdigit() or int(rid) <= 0:
        return "record has no positive integer ID"
    return None


def _bad_cursor(record: dict[str, Any]) -> str | None:
    modified = record.get("DATE_MODIFY")
    if modified is None:
        return "record has no DATE_MODIFY"
    try:
        datetime.fromisoformat(str(modified))
    except ValueError:
        return "DATE_MODIFY is not an ISO date"
    return None


def records(pages: Iterable[tuple[str, list[Any]]], required: Iterable[str], where: str) -> Iterator[Any]:
    """Good rows page by page, each refused row as a quarantine item.

    The first record with an ID on each page is checked for every `required` field: a field
    missing there is missing from the answer (drift, the run stops), not a broken record.
    """
    required = tuple(required)
    for position, rows in pages:
        good, checked = [], False
        for i, record in enumerate(rows):
            reason = _no_id(record)
            if reason is None and not checked:
                require_fields(record, required, system=SYSTEM, where=where)
                checked = True
            reason = reason or _bad_cursor(record)
            if reason:
                yield quarantined(SYSTEM, f"{position} item {i}", reason, record)
            else:
                good.append(record)
        for flag, multi in MULTI_FIELD_FLAGS.items():
            if flag in required and any(r.get(flag) == "Y" and multi not in r for r in good):
                raise SchemaDrift(f"{SYSTEM}: {where} says {flag}=Y but sends no {multi}; the multi-field is no "
                                  f"longer in the answer (it must be named in select). Fix the connector first.")
        if good:
            yield good


def _list_params(select: list[str], since: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"select": select, "order": ORDER}
    if since:
        params["filter"] = {">DATE_MODIFY": since}
    return params


def _columns(fields: Iterable[str], json_fields: Iterable[str] = ()) -> dict[str, Any]:
    """Declared up front so staging finds every column it reads even when no record has a value
    yet (dlt creates a column only from a non-null value), with the type the contract freezes."""
    return {**{f: {"data_type": "text"} for f in fields}, **{f: {"data_type": "json"} for f in json_fields}}


def _cursor() -> Any:
    # Quarantine items carry no DATE_MODIFY; they must pass through without moving the cursor.
    return dlt.sources.incremental("DATE_MODIFY", initial_value=None, lag=CURSOR_LAG_SECONDS,
                                   on_cursor_value_missing="include")


@dlt.source(name="bitrix24", max_table_nesting=0)
def bitrix24_source(base_url: str = dlt.config.value, api_key: str = dlt.secrets.value,
                    user_id: int = WEBHOOK_USER_ID, batch_pages: int = BATCH_PAGES, http_attempts: int = 6):
    """`base_url`: the portal (`https://x.bitrix24.ru`) or the whole webhook URL; `api_key`: the
    webhook code (the secret path segment); `user_id`: the webhook's user when the URL lacks it;
    `batch_pages`: list pages per `batch` call (0 = page by page); `http_attempts`: tries per call."""
    # Dates carry the portal's offset; kept as text so an empty BIRTHDATE ("") and a date share a
    # type, and a birth date at local midnight is not shifted to the previous day by a UTC cast.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    keep_dlt_columns()  # pages arrive as Arrow tables (connectors/common/arrow.py)
    client = Bitrix24Client(base_url, api_key, user_id=user_id, batch_pages=batch_pages, attempts=http_attempts)

    contact_columns = _columns((*CONTACT_FIELDS, "TYPE_ID", "COMPANY_ID", "POST", "EXPORT"), MULTI_FIELD_FLAGS.values())
    deal_columns = _columns((*DEAL_FIELDS, "TITLE", "COMPANY_ID", "CATEGORY_ID"))

    @dlt.resource(name="contacts", primary_key="ID", write_disposition="merge", schema_contract=PII_CONTRACT,
                  columns=contact_columns)
    def contacts(modified=_cursor()) -> Iterator[Any]:
        pages = client.list_pages("crm.contact.list", _list_params(CONTACT_SELECT, modified.start_value))
        # The look-back re-reads the last CURSOR_LAG_SECONDS: only what moved there is loaded.
        yield from arrow_pages(UnchangedRows("contacts", "ID").filter(records(pages, CONTACT_FIELDS, "crm.contact.list")),
                               contact_columns, hint_name=str)

    @dlt.resource(name="deals", primary_key="ID", write_disposition="merge", schema_contract=PII_CONTRACT,
                  columns=deal_columns)
    def deals(modified=_cursor()) -> Iterator[Any]:
        pages = client.list_pages("crm.deal.list", _list_params(DEAL_SELECT, modified.start_value))
        yield from arrow_pages(UnchangedRows("deals", "ID").filter(records(pages, DEAL_FIELDS, "crm.deal.list")),
                               deal_columns, hint_name=str)

    return contacts, deals, quarantine_resource()
