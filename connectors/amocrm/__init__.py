"""amoCRM (Kommo) API v4 as a dlt source: contacts and leads, as received, merged on `id`.

Both lists take `filter[updated_at][from]`, so each resource keeps an incremental cursor on
`updated_at` (dlt state) and a later run asks only for what changed since, minus a small overlap
(`CURSOR_OVERLAP_SECONDS`) that merge on `id` makes harmless. Pages are read in `order[id]=asc`
rather than by `updated_at`: ids never change, so a record a manager edits while we page does not
move and shift its neighbours across a page boundary (with `updated_at` order it would jump to the
end and the record behind it would be skipped). If the account has API filtering switched off,
amoCRM ignores the filter silently; the run then reads everything and says so in the log, and dlt
still drops what is older than the cursor.

An HTTP 204 with an empty body is amoCRM's "nothing (more) here" and ends a list. Nested parts
(`custom_fields_values`, `_embedded`) stay JSON columns (`max_table_nesting=0`): one resource is
one table and one Dagster asset; staging unpacks phones, e-mails and a lead's contacts. Pages reach
dlt as Arrow tables (JSON parts as their text), not dict rows: dlt's handling of dict rows was most
of the load. A record without an integer `id` (or `updated_at`, the cursor) goes to
`raw_amocrm.quarantine`.

Standalone:  AMOCRM_API_KEY=demo-key python -m connectors.amocrm --base-url http://127.0.0.1:8304
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Iterator

import dlt
from dlt.sources.helpers.rest_client import RESTClient

from connectors.amocrm.helpers import get_account, make_client, pages
from connectors.amocrm.settings import (
    CONTACT_COLUMNS, CONTACT_FIELDS, CURSOR_OVERLAP_SECONDS, HTTP_ATTEMPTS, LEAD_COLUMNS, LEAD_FIELDS, PAGE_LIMIT,
)
from connectors.common.arrow import arrow_pages, keep_dlt_columns
from connectors.common.contracts import PII_CONTRACT, require_fields
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.common.unchanged import UnchangedRows

__all__ = ["amocrm_source", "invalid_reason", "split_page"]

SOURCE = "amocrm"
log = logging.getLogger(__name__)


def invalid_reason(record: Any) -> str | None:
    """Why a record cannot be loaded, or None. `bool` is an int in Python, not an id."""
    if not isinstance(record, dict):
        return "record is not an object"
    if not isinstance(record.get("id"), int) or isinstance(record.get("id"), bool):
        return "record has no integer id"
    if not isinstance(record.get("updated_at"), int) or isinstance(record.get("updated_at"), bool):
        return "record has no integer updated_at"
    return None


def split_page(records: Iterable[Any], fields: Iterable[str], *, where: str) -> tuple[list[dict], list[Any]]:
    """Check one page: the first usable record must still carry every contracted field
    (`SchemaDrift` otherwise), then split into (good records, quarantine rows)."""
    records = list(records)
    fields = tuple(fields)
    first = next((r for r in records if invalid_reason(r) is None), None)
    if first is not None:
        require_fields(first, fields, system=SOURCE, where=where)
    good, bad = [], []
    for i, record in enumerate(records):
        reason = invalid_reason(record)
        if reason:
            bad.append(quarantined(SOURCE, f"{where} item {i}", reason, record))
        else:
            good.append(record)
    return good, bad


def _params(cursor: dlt.sources.incremental, **extra: str) -> dict[str, Any]:
    params: dict[str, Any] = {"order[id]": "asc", **extra}
    if cursor.last_value is not None:  # lag-adjusted: already steps back by the overlap
        params["filter[updated_at][from]"] = int(cursor.last_value)
    return params


def _records(client: RESTClient, path: str, key: str, params: dict[str, Any], fields: tuple[str, ...],
             limit: int) -> Iterator[Any]:
    for page_no, records in pages(client, path, key, params, limit):
        good, bad = split_page(records, fields, where=f"GET {path} page {page_no}")
        yield from bad
        if good:
            yield good


def _cursor() -> dlt.sources.incremental:
    # "include": quarantine rows (no cursor) pass the incremental step to their own table.
    return dlt.sources.incremental("updated_at", lag=CURSOR_OVERLAP_SECONDS, on_cursor_value_missing="include")


@dlt.source(name=SOURCE, max_table_nesting=0)
def amocrm_source(base_url: str = dlt.config.value, access_token: str = dlt.secrets.value,
                  page_limit: int = PAGE_LIMIT, http_attempts: int = HTTP_ATTEMPTS):
    client = make_client(base_url, access_token, attempts=http_attempts)
    keep_dlt_columns()  # pages arrive as Arrow tables (connectors/common/arrow.py)

    @dlt.resource(name="contacts", primary_key="id", write_disposition="merge",
                  columns=CONTACT_COLUMNS, schema_contract=PII_CONTRACT)
    def contacts(updated_at=_cursor()) -> Iterator[Any]:
        account = get_account(client)
        if account.get("is_api_filter_enabled") is False:
            log.warning("amoCRM account has API filtering switched off: filter[updated_at] is ignored "
                        "and every run reads all records (merge keeps the result correct)")
        # The overlap re-reads the last CURSOR_OVERLAP_SECONDS (everything, with filtering off):
        # only what moved there is loaded.
        yield from arrow_pages(UnchangedRows("contacts", "id").filter(
            _records(client, "/contacts", "contacts", _params(updated_at), CONTACT_FIELDS, page_limit)), CONTACT_COLUMNS)

    @dlt.resource(name="leads", primary_key="id", write_disposition="merge",
                  columns=LEAD_COLUMNS, schema_contract=PII_CONTRACT)
    def leads(updated_at=_cursor()) -> Iterator[Any]:
        yield from arrow_pages(UnchangedRows("leads", "id").filter(
            _records(client, "/leads", "leads", _params(updated_at, **{"with": "contacts"}), LEAD_FIELDS, page_limit)),
            LEAD_COLUMNS)

    return contacts, leads, quarantine_resource()
