"""Shopping carts the shop's website pushes to RetailCRM, and the web visits RetailCRM records.

How it works in a real shop (the RetailCRM CMS modules, e.g. retailcrm/woocommerce-module
`class-wc-retailcrm-cart.php`): every add/remove on the site calls
`POST /api/v5/customer-interaction/{site}/cart/set` for a registered customer (cart `externalId`,
`createdAt`/`updatedAt`/`droppedAt` with an offset, items with offer, quantity and price); placing
the order calls `cart/clear` with `clearedAt` and the order. RetailCRM keeps one current cart per
customer and has no list of carts, only `GET .../cart/{customerId}`; what the connector can list is
who visited the site lately (`filter[lastWebVisitFrom]` on `/customers`).

So this builder writes, beside the core CRM files:
- `retailcrm/carts.parquet`: a few percent of customers with a cart created 0-6 hours before
  `as_of`; some of them ordered afterwards (the cart is cleared and linked to the new order);
- `retailcrm/cart_orders.parquet` + `cart_order_items.parquet`: those new orders, in the same
  columns as the core order files (the emulator serves both);
- `retailcrm/web_visits.parquet`: each customer's last site visit (cart holders at their cart's
  last update, plus other recent visitors without a cart).

No new people: carts belong to existing CRM customers, so there are no ground-truth rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from demo import names as N
from demo.sources import SourceData, World

CART_SHARE = 0.04  # customers with a cart in the last 6 hours
ORDERED_SHARE = 0.3  # of those, who then ordered
OTHER_VISITOR_SHARE = 0.02  # customers who visited in the last month without leaving a cart
ACCOUNT_OFFSET = "+03:00"  # the demo account is in Europe/Moscow (dbt var retailcrm_timezone)
SITE = "linzy-shop"


def _local(seconds: np.ndarray) -> np.ndarray:
    """Unix seconds of account-local wall time -> RetailCRM's 'Y-m-d H:i:s' (no offset)."""
    return pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)


def _with_offset(seconds: np.ndarray) -> np.ndarray:
    """The cart API's 'Y-m-d H:i:sP' (the CMS modules send the offset)."""
    return np.asarray([s + ACCOUNT_OFFSET for s in _local(seconds)], dtype=object)


def build(world: World) -> SourceData:
    rng = world.rng("retailcrm_carts")
    customers = world.crm_customers
    m = len(customers)
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())

    holder = np.flatnonzero(rng.random(m) < CART_SHARE)
    n = len(holder)
    created = as_of - rng.integers(0, 6 * 3600, n)
    updated = np.minimum(created + rng.integers(0, 40 * 60, n), as_of)
    order_at = updated + rng.integers(5 * 60, 90 * 60, n)
    ordered = (rng.random(n) < ORDERED_SHARE) & (order_at <= as_of - 60)

    # Cart lines: lenses people come back for, sometimes with a care solution.
    n_lines = 1 + rng.poisson(0.6, n)
    line_cart = np.repeat(np.arange(n), n_lines)
    prod = rng.integers(0, len(N.PRODUCTS), len(line_cart))
    qty = 1 + (rng.random(len(line_cart)) < 0.3).astype(int)
    price = np.asarray([p[3] for p in N.PRODUCTS], dtype=float)[prod]

    cust_ids = customers["id"].to_numpy()[holder]
    cart_id = np.asarray([f"cart-{c}-{t:x}" for c, t in zip(cust_ids, created)], dtype=object)
    first_order_id = pc.max(world.crm_orders["id"]).as_py() + 1
    order_id = np.full(n, -1, dtype=np.int64)
    order_id[ordered] = np.arange(first_order_id, first_order_id + int(ordered.sum()))

    lines_by_cart: list[list[dict]] = [[] for _ in range(n)]
    for c, pi, q, pr in zip(line_cart, prod, qty, price):
        article, name = N.PRODUCTS[pi][0], N.PRODUCTS[pi][1]
        lines_by_cart[c].append({"article": article, "name": name, "quantity": int(q), "price": float(pr)})
    carts = pd.DataFrame({
        "cart_id": cart_id,
        "customer_id": cust_ids,
        "site": SITE,
        "currency": "RUB",
        "created_at": _with_offset(created),
        "updated_at": _with_offset(updated),
        "dropped_at": _with_offset(updated),
        "cleared_at": np.where(ordered, _with_offset(order_at), None),
        "order_id": order_id,
        "items": [json.dumps(lines, ensure_ascii=False) for lines in lines_by_cart],
    })

    orders, items = _cart_orders(world, customers.iloc[holder[ordered]], order_id[ordered], order_at[ordered],
                                 [lines_by_cart[i] for i in np.flatnonzero(ordered)])

    others = np.setdiff1d(np.flatnonzero(rng.random(m) < OTHER_VISITOR_SHARE), holder)
    visits = pd.DataFrame({
        "customer_id": np.concatenate([cust_ids, customers["id"].to_numpy()[others]]),
        "last_visit_at": np.concatenate([_local(updated), _local(as_of - rng.integers(3600, 30 * 86400, len(others)))]),
    })

    out = world.dir("retailcrm")
    carts.to_parquet(out / "carts.parquet", index=False)
    orders.to_parquet(out / "cart_orders.parquet", index=False)
    items.to_parquet(out / "cart_order_items.parquet", index=False)
    visits.to_parquet(out / "web_visits.parquet", index=False)
    truth = pd.DataFrame(columns=["source_system", "source_record_id", "person_id"])
    return SourceData(truth=truth, rows={"retailcrm.carts": n, "retailcrm.cart_orders": len(orders),
                                         "retailcrm.web_visits": len(visits)})


def _cart_orders(world: World, buyers: pd.DataFrame, order_id: np.ndarray, order_at: np.ndarray,
                 lines: list[list[dict]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders placed from a cart, in the columns of the core `orders`/`order_items` files."""
    first_item = pc.max(world.crm_items["item_id"]).as_py() + 1
    rows = [
        {"order_id": oid, "article": line["article"], "productName": line["name"], "quantity": line["quantity"],
         "initialPrice": line["price"], "discountTotal": 0.0}
        for oid, cart_lines in zip(order_id, lines) for line in cart_lines
    ]
    items = pd.DataFrame(rows, columns=["order_id", "article", "productName", "quantity", "initialPrice", "discountTotal"])
    items.insert(1, "item_id", np.arange(first_item, first_item + len(items)))
    summ = (items["initialPrice"] * items["quantity"]).groupby(items["order_id"]).sum().reindex(order_id).fillna(0).to_numpy()
    delivery = np.where(summ >= 3000, 0.0, 290.0)
    placed = _local(order_at)
    orders = pd.DataFrame({
        "id": order_id,
        "number": [f"{o}C" for o in order_id],
        "customer_id": buyers["id"].to_numpy(),
        "createdAt": placed,
        "statusUpdatedAt": placed,
        "status": "new",
        "orderMethod": "shopping-cart",
        "firstName": buyers["firstName"].to_numpy(),
        "lastName": buyers["lastName"].to_numpy(),
        "phone": buyers["phone1"].to_numpy(),
        "email": buyers["email"].to_numpy(),
        "summ": summ,
        "deliveryCost": delivery,
        "totalSumm": summ + delivery,
    })
    return orders, items

