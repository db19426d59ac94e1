"""RetailCRM (Simla) v5 as a dlt source: customers and orders, as received, merged on `id`.

The list endpoints have no updated-at filter, so a run pages through all records and merges on
`id` (idempotent: a second run changes nothing). Nested parts (`phones`, `items`, `payments`,
`customerSubscriptions`) stay JSON columns (`max_table_nesting=0`) so one resource is one table
and one Dagster asset; staging unpacks them. A record without a usable `id` is quarantined.

Standalone:  python -m connectors.retailcrm --base-url http://127.0.0.1:8301 --api-key demo-key
"""

from __future__ import annotations

from typing import Any, Iterator

import dlt

from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.retailcrm.helpers import make_client, pages


def _valid(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "record is not an object"
    if not isinstance(record.get("id"), int):
        return "record has no integer id"
    return None


def _records(client, path: str, key: str) -> Iterator[Any]:
    for page_no, records in pages(client, path, key):
        good = []
        for i, record in enumerate(records):
            reason = _valid(record)
            if reason:
                yield quarantined("retailcrm", f"{path} page {page_no} item {i}", reason, record)
            else:
                good.append(record)
        if good:
            yield good


MONEY = {"data_type": "double"}


@dlt.source(name="retailcrm", max_table_nesting=0)
def retailcrm_source(base_url: str = dlt.config.value, api_key: str = dlt.secrets.value):
    # RetailCRM datetimes are account-local with no offset; dlt would read them as UTC. Keep the
    # text as received and let staging attach the account's time zone.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    client = make_client(base_url, api_key)

    @dlt.resource(name="customers", primary_key="id", write_disposition="merge",
                  columns={"total_summ": MONEY, "average_summ": MONEY})
    def customers() -> Iterator[Any]:
        yield from _records(client, "/customers", "customers")

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge",
                  columns={k: MONEY for k in ("summ", "total_summ", "prepay_sum", "purchase_summ")})
    def orders() -> Iterator[Any]:
        yield from _records(client, "/orders", "orders")

    return customers, orders, quarantine_resource()
