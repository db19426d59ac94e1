"""Shopping carts, which RetailCRM keeps per customer and cannot list.

The shop's site pushes a registered customer's cart with `POST customer-interaction/{site}/cart/set`
and clears it with `cart/clear` (with the order, when one was placed). The API reads one cart at a
time (`GET customer-interaction/{site}/cart/{customerId}`, api-client-php
`ResourceGroup/CustomerInteraction.php`); there is no list and no journal of carts. A cart only
changes while its owner is on the site, so the run asks RetailCRM who visited lately
(`/customers?filter[lastWebVisitFrom]=`, a documented customer filter fed by its web analytics) and
reads those customers' carts. A cart can also be cleared without a visit (the shop's back office
clears it with a phoned-in order, or expires it), so every cart still open is read again too, but
once a day (`CART_RECHECK_HOURS`), not on every run: the hourly cart job would otherwise ask for
every open cart of the last month each hour, tens of thousands of calls at 10 a second on a large
account. The visitors' window starts a day before the previous run's account time, and the
recheck's clock is the account's too, read from the API (`generatedAt`), never this machine's.

Rows are the cart as received, keyed by the cart's `externalId` (the site's cart id), plus
`customer_id`: whose cart we asked for, since the answer need not name its owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

import dlt

from connectors.common.ahead import ahead
from connectors.common.quarantine import quarantined
from connectors.common.unchanged import UnchangedRows
from connectors.retailcrm.helpers import Client, account_now, get_json, pages
from connectors.retailcrm.settings import CART_FIRST_LOOKBACK_DAYS, CART_FOLLOW_DAYS, CART_OVERLAP_DAYS, CART_RECHECK_HOURS

CART_COLUMNS = {
    "external_id": {"data_type": "text"},
    "customer_id": {"data_type": "bigint"},
    "created_at": {"data_type": "text"},
    "updated_at": {"data_type": "text"},
    "dropped_at": {"data_type": "text"},
    "cleared_at": {"data_type": "text"},
    "items": {"data_type": "json"},
    "order": {"data_type": "json"},
}


def carts_resource(client: Client, first_lookback_days: int = CART_FIRST_LOOKBACK_DAYS):
    @dlt.resource(name="carts", primary_key="external_id", write_disposition="merge", columns=CART_COLUMNS)
    def carts() -> Iterator[Any]:
        state = dlt.current.resource_state()
        now = account_now(client)
        visits_from = state.get("visits_from") or (now - timedelta(days=first_lookback_days)).strftime("%Y-%m-%d")
        open_carts: dict[int, str] = {int(k): v for k, v in (state.get("open_carts") or {}).items()}
        checked = state.get("open_carts_read_at")
        recheck = checked is None or now - datetime.fromisoformat(checked) >= timedelta(hours=CART_RECHECK_HOURS)
        candidates = dict(open_carts) if recheck else {}
        for _, customers in pages(client, "/customers", "customers", {"filter[lastWebVisitFrom]": visits_from}):
            for c in customers:
                if isinstance(c, dict) and isinstance(c.get("id"), int) and c.get("site"):
                    candidates[c["id"]] = c["site"]
        # open carts not read this time stay followed as they were; those read are judged afresh
        still_open = {str(k): site for k, site in open_carts.items() if k not in candidates}
        follow_from = (now - timedelta(days=CART_FOLLOW_DAYS)).strftime("%Y-%m-%d")
        batch: list[dict[str, Any]] = []
        # Most carts read again are as they were: only those that moved are loaded.
        unchanged = UnchangedRows("carts", "externalId")

        def read(worker: Client, candidate: tuple[int, str]) -> tuple[int, str, dict[str, Any] | None]:
            customer_id, site = candidate
            return customer_id, site, get_json(worker, f"/customer-interaction/{site}/cart/{customer_id}", {"by": "id"},
                                               missing_ok=True)

        for customer_id, site, body in ahead(client, read, sorted(candidates.items())):
            cart = (body or {}).get("cart")
            if not cart:
                continue  # no cart (or the customer is gone): nothing to record
            if not isinstance(cart, dict) or not cart.get("externalId"):
                yield quarantined("retailcrm", f"cart of customer {customer_id}", "cart has no externalId", cart)
                continue
            batch.append({**cart, "customer_id": customer_id})
            if not cart.get("clearedAt") and str(cart.get("updatedAt") or "9")[:10] >= follow_from:
                still_open[str(customer_id)] = site
            if len(batch) >= 100:
                yield from unchanged.filter([batch])
                batch = []
        if batch:
            yield from unchanged.filter([batch])
        state["open_carts"] = still_open
        if recheck:
            state["open_carts_read_at"] = now.isoformat(sep=" ")
        state["visits_from"] = (now - timedelta(days=CART_OVERLAP_DAYS)).strftime("%Y-%m-%d")

    return carts
