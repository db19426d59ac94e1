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
import pyarrow as pa
import pyarrow.compute as pc

from demo import names as N
from demo.generate import _fmt_dt
from demo.sources import SourceData, World

CART_SHARE = 0.04  # customers with a cart in the last 6 hours
ORDERED_SHARE = 0.3  # of those, who then ordered
OTHER_VISITOR_SHARE = 0.02  # customers who visited in the last month without leaving a cart
ACCOUNT_OFFSET = "+03:00"  # the demo account is in Europe/Moscow (dbt var retailcrm_timezone)
SITE = "linzy-shop"
MAX_QUANTITY = 2  # a cart line holds one or two packs


def _local(seconds: np.ndarray) -> np.ndarray:
    """Unix seconds of account-local wall time -> RetailCRM's 'Y-m-d H:i:s' (no offset)."""
    return _fmt_dt(seconds)


def _with_offset(seconds: np.ndarray) -> np.ndarray:
    """The cart API's 'Y-m-d H:i:sP' (the CMS modules send the offset)."""
    return _local(seconds) + ACCOUNT_OFFSET


def _hex(values: np.ndarray) -> np.ndarray:
    """`f"{v:x}"` for non-negative integers: 16 hex digits from a byte matrix, leading zeros trimmed."""
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    codes = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[(np.asarray(values).astype(np.uint64)[:, None] >> shifts) & np.uint64(15)]
    trimmed = pc.utf8_ltrim(pc.cast(pa.array(np.ascontiguousarray(codes).view("S16").ravel()), pa.string()), "0")
    return pc.if_else(pc.equal(trimmed, ""), "0", trimmed).to_numpy(zero_copy_only=False)


def _line_json() -> np.ndarray:
    """The JSON of a cart line for every (product, quantity), as `json.dumps` writes it inside the
    cart's list: a line is fully determined by the two, so each text is made once and looked up
    (index `product * (MAX_QUANTITY + 1) + quantity`)."""
    return np.asarray([
        json.dumps({"article": article, "name": name, "quantity": q, "price": float(price)}, ensure_ascii=False)
        for article, name, _, price, *_ in N.PRODUCTS for q in range(MAX_QUANTITY + 1)
    ], dtype=object)


def _items_json(line_cart: np.ndarray, prod: np.ndarray, qty: np.ndarray, n: int) -> np.ndarray:
    """Each cart's `items` JSON: its lines' texts joined into a list."""
    lines = pa.array(_line_json()[prod * (MAX_QUANTITY + 1) + qty], pa.string())
    offsets = np.concatenate([[0], np.cumsum(np.bincount(line_cart, minlength=n))]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), lines), ", ")
    return pc.binary_join_element_wise("[", joined, "]", "").to_numpy(zero_copy_only=False)


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

    cust_ids = customers["id"].to_numpy()[holder]
    cart_id = "cart-" + cust_ids.astype(str).astype(object) + "-" + _hex(created)
    # The core orders and items may be pandas or Arrow; either converts to NumPy.
    first_order_id = int(np.asarray(world.crm_orders["id"]).max()) + 1
    order_id = np.full(n, -1, dtype=np.int64)
    order_id[ordered] = np.arange(first_order_id, first_order_id + int(ordered.sum()))

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
        # Lines as JSON texts looked up per (product, quantity): 0.01 s vs 0.1 s with a dict and a
        # `json.dumps` per cart (per 200k people).
        "items": _items_json(line_cart, prod, qty, n),
    })

    on_order = ordered[line_cart]  # lines of carts that became orders, in cart order
    orders, items = _cart_orders(world, customers.iloc[holder[ordered]], order_id[ordered], order_at[ordered],
                                 order_id[line_cart[on_order]], prod[on_order], qty[on_order])

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
                 line_order: np.ndarray, prod: np.ndarray, qty: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders placed from a cart, in the columns of the core `orders`/`order_items` files;
    `line_order`, `prod`, `qty` describe the carts' lines, in order."""
    first_item = int(np.asarray(world.crm_items["item_id"]).max()) + 1
    prices = np.asarray([x[3] for x in N.PRODUCTS], dtype=float)[prod]
    items = pd.DataFrame({
        "order_id": line_order,
        "item_id": np.arange(first_item, first_item + len(line_order)),
        "article": np.asarray([x[0] for x in N.PRODUCTS], dtype=object)[prod],
        "productName": np.asarray([x[1] for x in N.PRODUCTS], dtype=object)[prod],
        "quantity": qty.astype(np.int64),
        "initialPrice": prices,
        "discountTotal": 0.0,
    })
    summ = (items["initialPrice"] * items["quantity"]).groupby(items["order_id"]).sum().reindex(order_id).fillna(0).to_numpy()
    delivery = np.where(summ >= 3000, 0.0, 290.0)
    placed = _local(order_at)
    orders = pd.DataFrame({
        "id": order_id,
        "number": order_id.astype(str).astype(object) + "C",
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
