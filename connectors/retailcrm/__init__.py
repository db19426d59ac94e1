"""RetailCRM (Simla) v5 as a dlt source, incremental through the history journals.

The list endpoints have no updated-at filter (spec §1), so change tracking goes through
`/customers/history`, `/orders/history` and `/customers-corporate/history`: a full page-through
the first time, then only the records the journal names since the last run (see resources.py and
README.md). Tables (merge on their key): customers, orders, customers_corporate and their
`*_history` journals, carts, quarantine.

Nested parts (`phones`, `items`, `payments`, `customerSubscriptions`, history snapshots) stay JSON
columns (`max_table_nesting=0`) so one resource is one table and one Dagster asset; staging
unpacks them. A record or history item without a usable id is quarantined.

Standalone:  RETAILCRM_API_KEY=demo-key python -m connectors.retailcrm --base-url http://127.0.0.1:8301
"""

from __future__ import annotations

import dlt

from connectors.common.arrow import keep_dlt_columns
from connectors.common.quarantine import quarantine_resource
from connectors.retailcrm.carts import carts_resource
from connectors.retailcrm.helpers import make_client
from connectors.retailcrm.resources import corporate_contacts, entity_resource, history_resource
from connectors.retailcrm.settings import CART_FIRST_LOOKBACK_DAYS, CORPORATE, CUSTOMERS, ORDERS



def _money() -> dict:
    # A fresh dict per column: dlt writes the column's name into the hint it is given, so one dict
    # shared by several columns makes them collide ("column ... collides with other column").
    return {"data_type": "double"}


def _json() -> dict:
    return {"data_type": "json"}


def _nested(*names: str) -> dict:
    """The parts of a record that are objects or lists: declared, so a page goes to dlt as one
    Arrow table with them as JSON text (connectors/common/arrow.py) instead of row by row."""
    return {name: _json() for name in names}


def _text() -> dict:
    return {"data_type": "text"}


@dlt.source(name="retailcrm", max_table_nesting=0)
def retailcrm_source(
    base_url: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    history_start_date: str | None = None,
    cart_lookback_days: int = CART_FIRST_LOOKBACK_DAYS,
    http_attempts: int = 6,
):
    """`history_start_date` ('Y-m-d H:i:s', account time) backfills the journals from that date on
    their first run; by default they start at the moment of the first full load. `http_attempts`
    bounds retries of 429/5xx/timeouts per request (1 = none, for tests that break a run)."""
    # RetailCRM datetimes are account-local with no offset; dlt would read them as UTC. Keep the
    # text as received and let staging attach the account's time zone.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    keep_dlt_columns()
    client = make_client(base_url, api_key, attempts=http_attempts)
    customers = entity_resource(client, CUSTOMERS, {"total_summ": _money(), "average_summ": _money(),
                                                    "email_marketing_unsubscribed_at": _text(),
                                                    **_nested("phones", "customer_subscriptions", "contragent", "address",
                                                              "tags", "custom_fields")})
    orders = entity_resource(client, ORDERS, {**{k: _money() for k in ("summ", "total_summ", "prepay_sum", "purchase_summ")},
                                              **_nested("items", "payments", "customer", "contact", "delivery",
                                                        "custom_fields")})
    corporate = entity_resource(client, CORPORATE, {"external_id": _text(),
                                                    **_nested("customer_contacts", "tags", "custom_fields", "main_company",
                                                              "main_customer_contact", "main_address")},
                                enrich=corporate_contacts)
    return (
        customers, history_resource(client, CUSTOMERS, history_start_date),
        # payment and item name the part of the order an item changed; staging reads them
        orders, history_resource(client, ORDERS, history_start_date, {"payment": _json(), "item": _json()}),
        corporate, history_resource(client, CORPORATE, history_start_date),
        carts_resource(client, cart_lookback_days),
        quarantine_resource(),
    )
