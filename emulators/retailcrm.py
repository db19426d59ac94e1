"""RetailCRM API v5 emulator, seeded from the demo generator.

Faithful to the documented and recorded behaviour (../shared/specs/sources.md §1 and the PHP/Go
client fixtures): `X-API-KEY` header or `apiKey` parameter; `page` (1-based) and `limit` of
20/50/100 (anything else is a validation error); bracket filters such as `filter[ids][]=1`; the
`{"success":true,"pagination":{...},"customers":[...]}` envelope; `{"success":false,"errorMsg":...}`
errors; 10 requests per second per key, answered 429 with `Retry-After` beyond that; `payments`
keyed by id on orders and `{}` when empty; `customFields` as `[]` when empty.

Run it alone:  python -m emulators.retailcrm --data data/demo --port 8301
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emulators.base import Emulator, RateLimiter, Request, Response, cli

ALLOWED_LIMITS = (20, 50, 100)
SUBSCRIPTION = {"id": 2, "channel": "email", "name": "Без тематики", "code": "default_marketing",
                "active": True, "autoSubscribe": True, "ordering": 1}


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class RetailCRMEmulator(Emulator):
    name = "retailcrm"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", rate_per_second: int = 10):
        super().__init__()
        data_dir = Path(data_dir) / "retailcrm"
        self.api_key = api_key
        self.limiter = RateLimiter(rate_per_second, 1.0)
        self.customers = pd.read_parquet(data_dir / "customers.parquet").sort_values("id", ignore_index=True)
        self.orders = pd.read_parquet(data_dir / "orders.parquet").sort_values("id", ignore_index=True)
        items = pd.read_parquet(data_dir / "order_items.parquet").sort_values(["order_id", "item_id"], ignore_index=True)
        self.items = items
        self._item_order_ids = items["order_id"].to_numpy()
        stats = self.orders[self.orders["status"] != "cancel-other"].groupby("customer_id")["totalSumm"].agg(["count", "sum"])
        self.customer_stats = stats

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        if req.path == "/api/api-versions":
            return Response.json(200, {"success": True, "versions": ["3.0", "4.0", "5.0"]})
        key = req.headers.get("x-api-key") or req.param("apiKey")
        if not key:
            return Response.json(403, {"success": False, "errorMsg": '"apiKey" is missing.'})
        if key != self.api_key:
            return Response.json(403, {"success": False, "errorMsg": 'Wrong "apiKey" value.'})
        if not self.limiter.allow(key):
            return self.rate_limited(req)
        if req.path == "/api/credentials":
            return Response.json(200, {"success": True, "scopes": ["customer_read", "order_read"],
                                       "siteAccess": "access_full", "sitesAvailable": ["linzy-shop"]})
        if req.method != "GET":
            return Response.json(405, {"success": False, "errorMsg": "Method not allowed"})
        if req.path == "/api/v5/customers":
            return self._list(req, self.customers, "customers", self._render_customer, self._filter_customers)
        if req.path == "/api/v5/orders":
            return self._list(req, self.orders, "orders", self._render_order, self._filter_orders)
        if req.path.startswith("/api/v5/customers/"):
            return self._get_one(req, self.customers, "customer", self._render_customer)
        if req.path.startswith("/api/v5/orders/"):
            return self._get_one(req, self.orders, "order", self._render_order)
        return Response.json(404, {"success": False, "errorMsg": "API method not found"})

    def rate_limited(self, req: Request) -> Response:
        return Response.json(429, {"success": False, "errorMsg": "Too Many Requests"},
                             **{"Retry-After": str(self.faults.retry_after)})

    def _paging(self, req: Request) -> tuple[int, int] | Response:
        try:
            page = int(req.param("page", 1))
            limit = int(req.param("limit", 20))
        except ValueError:
            return Response.json(400, {"success": False, "errorMsg": "Errors in the input parameters",
                                       "errors": {"page": "This value should be of type integer."}})
        if limit not in ALLOWED_LIMITS:
            return Response.json(400, {"success": False, "errorMsg": "Errors in the input parameters",
                                       "errors": {"limit": f"The value you selected is not a valid choice. Allowed: {', '.join(map(str, ALLOWED_LIMITS))}."}})
        if page < 1:
            return Response.json(400, {"success": False, "errorMsg": "Errors in the input parameters",
                                       "errors": {"page": "This value should be greater than or equal to 1."}})
        return page, limit

    def _list(self, req, frame: pd.DataFrame, key: str, render, filt) -> Response:
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        frame = filt(req, frame)
        total = len(frame)
        rows = frame.iloc[(page - 1) * limit: page * limit]
        return Response.json(200, {
            "success": True,
            "pagination": {"limit": limit, "totalCount": total, "currentPage": page,
                           "totalPageCount": max(1, math.ceil(total / limit)) if total else 0},
            key: [render(r) for r in rows.to_dict("records")],
        })

    def _get_one(self, req, frame, key, render) -> Response:
        uid = req.path.rsplit("/", 1)[1]
        by = req.param("by", "externalId")
        col = "id" if by == "id" else "externalId"
        match = frame[frame[col].astype(str) == uid]
        if match.empty:
            return Response.json(404, {"success": False, "errorMsg": "Not found"})
        return Response.json(200, {"success": True, key: render(match.iloc[0].to_dict())})

    @staticmethod
    def _ids(req: Request, name: str) -> list[str] | None:
        return req.query.get(f"filter[{name}][]")

    def _filter_customers(self, req: Request, frame: pd.DataFrame) -> pd.DataFrame:
        if ids := self._ids(req, "ids"):
            frame = frame[frame["id"].astype(str).isin(ids)]
        if ext := self._ids(req, "externalIds"):
            frame = frame[frame["externalId"].isin(ext)]
        if email := req.query.get("filter[email]"):
            frame = frame[frame["email"].str.strip().str.lower() == email.strip().lower()]
        if date_from := req.query.get("filter[dateFrom]"):
            frame = frame[frame["createdAt"] >= date_from]
        return frame

    def _filter_orders(self, req: Request, frame: pd.DataFrame) -> pd.DataFrame:
        if ids := self._ids(req, "ids"):
            frame = frame[frame["id"].astype(str).isin(ids)]
        if cid := req.query.get("filter[customerId]"):
            frame = frame[frame["customer_id"].astype(str) == cid]
        if since := req.query.get("filter[createdAtFrom]"):
            frame = frame[frame["createdAt"] >= since]
        return frame

    # --- rendering in the API's shape -----------------------------------------------------------
    def _render_customer(self, row: dict[str, Any]) -> dict[str, Any]:
        r = {k: _clean(v) for k, v in row.items()}
        stats = self.customer_stats.loc[r["id"]] if r["id"] in self.customer_stats.index else None
        count = int(stats["count"]) if stats is not None else 0
        total = float(stats["sum"]) if stats is not None else 0.0
        phones = [{"number": p} for p in (r["phone1"], r["phone2"]) if p]
        out: dict[str, Any] = {
            "type": "customer", "id": r["id"], "externalId": r["externalId"], "isContact": False,
            "createdAt": r["createdAt"], "vip": False, "bad": False, "site": r["site"],
            "contragent": {"contragentType": "individual"}, "tags": [],
            "customFields": {"loyalty_card": r["loyaltyCard"]} if r["loyaltyCard"] else [],
            "personalDiscount": 0, "address": {"countryIso": "RU", "city": r["city"]},
            "firstName": r["firstName"], "lastName": r["lastName"], "patronymic": r["patronymic"],
            "sex": r["sex"], "email": r["email"], "phones": phones,
            "subscribed": r["subscribed"],
            "customerSubscriptions": [{"subscription": dict(SUBSCRIPTION), "subscribed": r["subscribed"],
                                       "changedAt": r["subscriptionChangedAt"]}],
            "ordersCount": count, "totalSumm": total, "averageSumm": round(total / count, 2) if count else 0,
        }
        if r["externalId"] is None:
            del out["externalId"]
        if r["birthday"]:
            out["birthday"] = r["birthday"]
        if r["emailMarketingUnsubscribedAt"]:
            out["emailMarketingUnsubscribedAt"] = r["emailMarketingUnsubscribedAt"]
        return out

    def _render_order(self, row: dict[str, Any]) -> dict[str, Any]:
        r = {k: _clean(v) for k, v in row.items()}
        lo = np.searchsorted(self._item_order_ids, r["id"], "left")
        hi = np.searchsorted(self._item_order_ids, r["id"], "right")
        items = []
        for it in self.items.iloc[lo:hi].to_dict("records"):
            it = {k: _clean(v) for k, v in it.items()}
            items.append({
                "id": it["item_id"], "quantity": it["quantity"], "initialPrice": it["initialPrice"],
                "discountTotal": it["discountTotal"], "prices": [{"price": it["initialPrice"] - it["discountTotal"], "quantity": it["quantity"]}],
                "purchasePrice": round(it["initialPrice"] * 0.6, 2), "vatRate": "none",
                "status": "return" if r["status"] == "return" else "new",
                "offer": {"id": zlib.crc32(it["article"].encode()) % 10**6, "externalId": it["article"], "name": it["productName"], "article": it["article"]},
                "productName": it["productName"],
            })
        payments: dict[str, Any] | Any = {}
        if r["status"] in ("complete", "return"):
            pid = str(r["id"] * 10 + 1)
            payments = {pid: {"id": int(pid), "type": "bank-card", "status": "paid", "amount": r["totalSumm"], "paidAt": r["createdAt"]}}
        customer = self.customers.iloc[int(np.searchsorted(self.customers["id"].to_numpy(), r["customer_id"]))]
        cust_ref = {"type": "customer", "id": r["customer_id"], "site": "linzy-shop"}
        if isinstance(customer.get("externalId"), str):
            cust_ref["externalId"] = customer["externalId"]
        return {
            "slug": r["id"], "id": r["id"], "number": r["number"], "site": "linzy-shop",
            "orderType": "eshop-individual", "orderMethod": r["orderMethod"], "countryIso": "RU",
            "createdAt": r["createdAt"], "statusUpdatedAt": r["statusUpdatedAt"], "status": r["status"],
            "summ": r["summ"], "currency": "RUB", "totalSumm": r["totalSumm"], "prepaySum": 0, "purchaseSumm": 0,
            "firstName": r["firstName"], "lastName": r["lastName"], "phone": r["phone"], "email": r["email"],
            "customer": cust_ref, "contact": cust_ref, "items": items, "payments": payments,
            "delivery": {"cost": r["deliveryCost"], "netCost": 0}, "customFields": [],
        }


def main() -> None:
    cli(lambda a: RetailCRMEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8301)


if __name__ == "__main__":
    main()
