"""RetailCRM API v5 constants and the entities the source reads (../shared/specs/sources.md §1)."""

from __future__ import annotations

from dataclasses import dataclass

API_PREFIX = "/api/v5"
# 20/50/100 are accepted everywhere; 250 only on some endpoints (unconfirmed), so 100. History
# pages the same way; the official examples read it 100 at a time.
PAGE_LIMIT = 100
# `filter[ids][]` values per list call: with `limit=100` one page answers a whole chunk.
IDS_PER_REQUEST = 100
# Requests in flight at once in a page-through, a re-read by ids or the cart reads: one is answered
# while the other's rows are made (connectors/common/ahead.py). RetailCRM allows 10 requests a
# second per key; two at a time stay under it at a round trip above 200 ms, and above it the
# session backs off on the 429 (Retry-After).
IN_FLIGHT = 2
# Carts: on the first run, ask for the carts of customers who visited the site in this many days;
# later runs start a day before the previous run's account time, so nobody between runs is missed.
CART_FIRST_LOOKBACK_DAYS = 7
CART_OVERLAP_DAYS = 1
# An open cart untouched this long is abandoned for good: stop re-reading it each day (a new
# visit by its owner brings it back through the visitors list).
CART_FOLLOW_DAYS = 30
# Open carts are all read again once this long has passed since they last were (account time):
# each daily run does it, the hourly cart runs between read only the visitors' carts. Under a day,
# so a daily run that starts a little earlier than yesterday's still does.
CART_RECHECK_HOURS = 20
# A `startDate` no account has history for: the cheapest history call, read for its `generatedAt`.
CLOCK_PROBE_DATE = "2999-01-01 00:00:00"


@dataclass(frozen=True)
class Entity:
    """One RetailCRM entity with a list endpoint and a change journal."""

    table: str  # resource and raw table name; its journal loads into `<table>_history`
    list_path: str
    list_key: str  # the list answer's key: customers, orders, customersCorporate
    history_path: str
    ref_key: str  # where a history item names the entity: customer | order


CUSTOMERS = Entity("customers", "/customers", "customers", "/customers/history", "customer")
ORDERS = Entity("orders", "/orders", "orders", "/orders/history", "order")
CORPORATE = Entity("customers_corporate", "/customers-corporate", "customersCorporate",
                   "/customers-corporate/history", "customer")
