"""RetailCRM API v5 emulator, seeded from the demo generator.

Faithful to the documented and recorded behaviour (../shared/specs/sources.md §1 and the PHP/Go
client fixtures): `X-API-KEY` header or `apiKey` parameter; `page` (1-based) and `limit` of
20/50/100 (anything else is a validation error); bracket filters such as `filter[ids][]=1`; the
`{"success":true,"pagination":{...},"customers":[...]}` envelope; `{"success":false,"errorMsg":...}`
errors; 10 requests per second per key, answered 429 with `Retry-After` beyond that; `payments`
keyed by id on orders and `{}` when empty (a list inside history snapshots); `customFields` as `[]`
when empty.

Served:
  GET  /api/v5/customers | /orders | /customers-corporate   lists (filter[ids][], lastWebVisitFrom/To, ...)
  GET  /api/v5/{customers,orders,customers-corporate}/{uid}   one record (`by=id` for the internal id)
  GET  /api/v5/{customers,orders,customers-corporate}/history change journal (sinceId, startDate, endDate)
  GET  /api/v5/customers-corporate/{uid}/contacts              contact persons (individual customers)
  POST /api/v5/customers/create, /customers/{uid}/edit, /orders/{uid}/edit,
       /customers-corporate/{uid}/edit                         writes that land in the history
  GET  /api/v5/customer-interaction/{site}/cart/{customerId}   a customer's current cart
  POST /api/v5/customer-interaction/{site}/cart/set | /clear   what the shop's site sends
Control (not RetailCRM): POST /_emulator/delete {"entity": "customers", "id": 1001} deletes a
record as a manager would in the UI (a `deleted` history item with the last snapshot).

Run it alone:  python -m emulators.retailcrm --data data/demo --port 8301
"""

from __future__ import annotations

import json
import math
import re
import threading
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emulators.base import Emulator, RateLimiter, Request, Response, cli, dumps
from emulators.retailcrm_history import ChangeLog, Clock

ALLOWED_LIMITS = (20, 50, 100)
SITE = "linzy-shop"
SUBSCRIPTION = {"id": 2, "channel": "email", "name": "Без тематики", "code": "default_marketing",
                "active": True, "autoSubscribe": True, "ordering": 1}
SMS_SUBSCRIPTION = {"id": 3, "channel": "sms", "name": "SMS-рассылка", "code": "sms_marketing",
                    "active": True, "autoSubscribe": False, "ordering": 2}
PAID_STATUSES = ("complete", "return")
# customer JSON key -> (flat column, history field name); field names as the CMS modules map them
CUSTOMER_FIELDS = {"firstName": ("firstName", "first_name"), "lastName": ("lastName", "last_name"),
                   "patronymic": ("patronymic", "patronymic"), "email": ("email", "email"),
                   "birthday": ("birthday", "birthday"), "externalId": ("externalId", "external_id")}
ONE = re.compile(r"^/api/v5/(customers|orders|customers-corporate)/([^/]+)$")
EDIT = re.compile(r"^/api/v5/(customers|orders|customers-corporate)/([^/]+)/edit$")
CONTACTS = re.compile(r"^/api/v5/customers-corporate/([^/]+)/contacts$")
CART = re.compile(r"^/api/v5/customer-interaction/([^/]+)/cart/([^/]+)$")
_NO_CHANGE: Any = object()


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


def _error(status: int, message: str, errors: Any = None) -> Response:
    body: dict[str, Any] = {"success": False, "errorMsg": message}
    if errors is not None:
        body["errors"] = errors
    return Response.json(status, body)


def _optional(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


class _Index:
    """Plain-Python views of the customer and order frames for the read paths: each column as a
    list, position by id, a customer's external id. Rendering a page from these costs a few
    microseconds a record; going through pandas per row (`to_dict`, `.loc`, `to_numpy` of a column
    for every lookup) cost milliseconds and made a full read quadratic in the number of customers.
    Built on the first read after a write and dropped by every write (`_invalidate`)."""

    def __init__(self, customers: pd.DataFrame, orders: pd.DataFrame):
        self.customer_cols = {c: customers[c].tolist() for c in customers.columns}
        self.order_cols = {c: orders[c].tolist() for c in orders.columns}
        ids = self.customer_cols["id"]
        self.customer_pos = {cid: pos for pos, cid in enumerate(ids)}
        self.order_pos = {oid: pos for pos, oid in enumerate(self.order_cols["id"])}
        self.customer_ext = {cid: ext if isinstance(ext, str) else None
                             for cid, ext in zip(ids, self.customer_cols["externalId"])}
        # what `_customer_pos` matches: the column as text, first hit wins
        self.customer_by: dict[str, dict[str, int]] = {"id": {}, "externalId": {}}
        for pos, (cid, ext) in enumerate(zip(ids, self.customer_cols["externalId"])):
            self.customer_by["id"].setdefault(str(cid), pos)
            if isinstance(ext, str):
                self.customer_by["externalId"].setdefault(ext, pos)

    def row(self, cols: dict[str, list], pos: int) -> dict[str, Any]:
        return {c: values[pos] for c, values in cols.items()}


class RetailCRMEmulator(Emulator):
    name = "retailcrm"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", rate_per_second: int = 10):
        super().__init__()
        root = Path(data_dir)
        data_dir = root / "retailcrm"
        self.api_key = api_key
        self.limiter = RateLimiter(rate_per_second, 1.0)
        self.clock = Clock(self._as_of(root))
        self._data_lock = threading.RLock()
        self.customers = pd.read_parquet(data_dir / "customers.parquet").sort_values("id", ignore_index=True)
        orders = [pd.read_parquet(data_dir / "orders.parquet"), _optional(data_dir / "cart_orders.parquet")]
        self.orders = pd.concat([o for o in orders if o is not None], ignore_index=True).sort_values("id", ignore_index=True)
        items = [pd.read_parquet(data_dir / "order_items.parquet"), _optional(data_dir / "cart_order_items.parquet")]
        self.items = pd.concat([i for i in items if i is not None], ignore_index=True).sort_values(["order_id", "item_id"], ignore_index=True)
        self._item_order_ids = self.items["order_id"].to_numpy()
        self._item_cols = {c: self.items[c].tolist() for c in
                           ("item_id", "article", "productName", "quantity", "initialPrice", "discountTotal")}
        self._index: _Index | None = None
        self._write_pos: tuple[pd.DataFrame, dict[str, dict[str, int]]] | None = None  # _customer_pos
        self._filtered: dict[tuple, pd.DataFrame] = {}  # a filtered list's frame, for its next pages
        corporate = data_dir / "customers_corporate.json"
        self.corporate: dict[int, dict[str, Any]] = (
            {c["id"]: c for c in json.loads(corporate.read_text(encoding="utf-8"))} if corporate.exists() else {})
        carts = _optional(data_dir / "carts.parquet")
        self.carts: dict[int, dict[str, Any]] = (
            {} if carts is None else {int(r["customer_id"]): {k: _clean(v) for k, v in r.items()} for r in carts.to_dict("records")})
        visits = _optional(data_dir / "web_visits.parquet")
        self.web_visits: dict[int, str] = {} if visits is None else dict(zip(visits["customer_id"].astype(int), visits["last_visit_at"]))
        self.deleted: dict[str, dict[int, dict[str, Any]]] = {"customers": {}, "orders": {}, "customers_corporate": {}}
        self._refresh_stats()
        seeds = {"customers": self._seed_customers(), "orders": self._seed_orders(), "customers_corporate": self._seed_corporate()}
        renderers = {"customers": self._render_seed_customer, "orders": self._render_seed_order,
                     "customers_corporate": self._render_seed_corporate}
        self.history = {name: ChangeLog(seed, renderers[name]) for name, seed in seeds.items()}

    @staticmethod
    def _as_of(root: Path) -> datetime:
        meta = root / "ground_truth" / "meta.json"
        if meta.exists():
            return datetime.strptime(json.loads(meta.read_text())["as_of"], "%Y-%m-%d %H:%M:%S")
        return datetime.now().replace(microsecond=0)

    def _refresh_stats(self) -> None:
        live = self.orders[self.orders["status"] != "cancel-other"]
        self.customer_stats = live.groupby("customer_id")["totalSumm"].agg(["count", "sum"])
        self._stats = {int(cid): (int(n), float(total)) for cid, n, total in
                       zip(self.customer_stats.index, self.customer_stats["count"], self.customer_stats["sum"])}

    def _invalidate(self) -> None:
        """Drop what the read paths derived from the frames; every write calls it before and after."""
        self._index = None
        self._filtered = {}

    def _idx(self) -> _Index:
        if self._index is None:
            self._index = _Index(self.customers, self.orders)
        return self._index

    # --- API ----------------------------------------------------------------------------------
    def route(self, req: Request) -> Response:
        if req.path == "/api/api-versions":
            return Response.json(200, {"success": True, "versions": ["3.0", "4.0", "5.0"]})
        key = req.headers.get("x-api-key") or req.param("apiKey")
        if not key:
            return _error(403, '"apiKey" is missing.')
        if key != self.api_key:
            return _error(403, 'Wrong "apiKey" value.')
        if not self.limiter.allow(key):
            return self.rate_limited(req)
        if req.path == "/api/credentials":
            return Response.json(200, {"success": True, "scopes": ["customer_read", "order_read", "customer_write", "order_write"],
                                       "siteAccess": "access_full", "sitesAvailable": [SITE]})
        with self._data_lock:
            if req.method == "POST":
                self._invalidate()
                try:
                    return self._post(req)
                finally:
                    self._invalidate()
            if req.method != "GET":
                return _error(405, "Method not allowed")
            return self._get(req)

    def _get(self, req: Request) -> Response:
        path = req.path
        lists = {"/api/v5/customers": (lambda: self.customers, "customers", self._customer_at, self._filter_customers),
                 "/api/v5/orders": (lambda: self.orders, "orders", self._order_at, self._filter_orders),
                 "/api/v5/customers-corporate": (self._corporate_frame, "customersCorporate", self._corporate_at,
                                                 self._filter_ids)}
        if path in lists:
            frame, key, render, filt = lists[path]
            return self._list(req, frame(), key, render, filt)
        history = {"/api/v5/customers/history": ("customers", "customerId"), "/api/v5/orders/history": ("orders", "orderId"),
                   "/api/v5/customers-corporate/history": ("customers_corporate", "customerId")}
        if path in history:
            return self._history(req, *history[path])
        if m := CONTACTS.match(path):
            return self._contacts(req, m.group(1))
        if m := CART.match(path):
            return self._cart_get(req, m.group(1), m.group(2))
        if m := ONE.match(path):
            entity, uid = m.groups()
            if entity == "customers":
                return self._get_one(req, self.customers, "customer", self._render_customer, uid)
            if entity == "orders":
                return self._get_one(req, self.orders, "order", self._render_order, uid)
            return self._get_one(req, self._corporate_frame(), "customerCorporate", self._render_corporate, uid)
        return _error(404, "API method not found")

    def _post(self, req: Request) -> Response:
        path = req.path
        if path == "/api/v5/customers/create":
            return self._customer_create(req)
        if m := EDIT.match(path):
            entity, uid = m.groups()
            return {"customers": self._customer_edit, "orders": self._order_edit,
                    "customers-corporate": self._corporate_edit}[entity](req, uid)
        if m := re.match(r"^/api/v5/customer-interaction/([^/]+)/cart/(set|clear)$", path):
            return self._cart_write(req, m.group(1), m.group(2))
        return _error(404, "API method not found")

    def rate_limited(self, req: Request) -> Response:
        return Response.json(429, {"success": False, "errorMsg": "Too Many Requests"},
                             **{"Retry-After": str(self.faults.retry_after)})

    # --- reading ------------------------------------------------------------------------------
    def _paging(self, req: Request) -> tuple[int, int] | Response:
        try:
            page = int(req.param("page", 1))
            limit = int(req.param("limit", 20))
        except ValueError:
            return _error(400, "Errors in the input parameters", {"page": "This value should be of type integer."})
        if limit not in ALLOWED_LIMITS:
            return _error(400, "Errors in the input parameters",
                          {"limit": f"The value you selected is not a valid choice. Allowed: {', '.join(map(str, ALLOWED_LIMITS))}."})
        if page < 1:
            return _error(400, "Errors in the input parameters", {"page": "This value should be greater than or equal to 1."})
        return page, limit

    @staticmethod
    def _envelope(page: int, limit: int, total: int) -> dict[str, Any]:
        return {"limit": limit, "totalCount": total, "currentPage": page,
                "totalPageCount": max(1, math.ceil(total / limit)) if total else 0}

    def _list(self, req, frame: pd.DataFrame, key: str, render, filt) -> Response:
        """A page of a list: the filter's result is kept for the next pages of the same filter
        (visitors since a date, say), and the page's records are rendered by id, then the page is
        written as one piece of JSON."""
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        asked = tuple(sorted((k, str(v)) for k, v in req.query.items() if k.startswith("filter[")))
        if asked:
            memo = (req.path, asked)
            if memo not in self._filtered:
                if len(self._filtered) >= 16:
                    self._filtered.pop(next(iter(self._filtered)))
                self._filtered[memo] = filt(req, frame)
            frame = self._filtered[memo]
        ids = frame["id"].iloc[(page - 1) * limit: page * limit].tolist()
        head = dumps({"success": True, "pagination": self._envelope(page, limit, len(frame))})
        return Response(200, head[:-1] + b',"' + key.encode() + b'":[' + b",".join(dumps(render(i)) for i in ids) + b"]}")

    def _customer_at(self, cid: Any) -> dict[str, Any]:
        idx = self._idx()
        return self._render_customer(idx.row(idx.customer_cols, idx.customer_pos[cid]))

    def _order_at(self, oid: Any) -> dict[str, Any]:
        idx = self._idx()
        return self._render_order(idx.row(idx.order_cols, idx.order_pos[oid]))

    def _corporate_at(self, cid: Any) -> dict[str, Any]:
        return self._render_corporate({"id": cid})

    def _history(self, req: Request, entity: str, id_filter: str) -> Response:
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        try:
            since = req.query.get("filter[sinceId]")
            since_id = int(since) if since not in (None, "") else None
            eid = req.query.get(f"filter[{id_filter}]")
            entity_id = int(eid) if eid not in (None, "") else None
        except ValueError:
            return _error(400, "Errors in the input parameters", {"filter[sinceId]": "This value should be of type integer."})
        start, end = req.query.get("filter[startDate]"), req.query.get("filter[endDate]")
        for name, value in (("startDate", start), ("endDate", end)):
            if value and not re.match(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$", value):
                return _error(400, "Errors in the input parameters", {f"filter[{name}]": "This value is not a valid datetime."})
        total, items = self.history[entity].query(since_id=since_id, start=start, end=end, entity_id=entity_id,
                                                  page=page, limit=limit)
        return Response.json(200, {"success": True, "generatedAt": self.clock.text(), "history": items,
                                   "pagination": self._envelope(page, limit, total)})

    def _get_one(self, req, frame, key, render, uid) -> Response:
        col = "id" if req.param("by", "externalId") == "id" else "externalId"
        match = frame[frame[col].astype(str) == uid]
        if match.empty:
            return _error(404, "Not found")
        return Response.json(200, {"success": True, key: render(match.iloc[0].to_dict())})

    @staticmethod
    def _ids(req: Request, name: str) -> list[str] | None:
        return req.query.get(f"filter[{name}][]")

    def _filter_ids(self, req: Request, frame: pd.DataFrame) -> pd.DataFrame:
        if ids := self._ids(req, "ids"):
            # the ids as integers where the text is one (what comparing the id column as text matched)
            wanted = [int(i) for i in ids if re.fullmatch(r"-?[0-9]+", i) and str(int(i)) == i]
            frame = frame[frame["id"].astype("int64").isin(wanted)] if len(frame) else frame
        return frame

    def _filter_customers(self, req: Request, frame: pd.DataFrame) -> pd.DataFrame:
        frame = self._filter_ids(req, frame)
        if ext := self._ids(req, "externalIds"):
            frame = frame[frame["externalId"].isin(ext)]
        if sites := self._ids(req, "sites"):
            frame = frame[frame["site"].isin(sites)]
        if email := req.query.get("filter[email]"):
            frame = frame[frame["email"].str.strip().str.lower() == email.strip().lower()]
        if date_from := req.query.get("filter[dateFrom]"):
            frame = frame[frame["createdAt"] >= date_from]
        visit_from, visit_to = req.query.get("filter[lastWebVisitFrom]"), req.query.get("filter[lastWebVisitTo]")
        if visit_from or visit_to:
            visits = frame["id"].map(self.web_visits)
            keep = visits.notna()
            if visit_from:
                keep &= visits.fillna("") >= visit_from
            if visit_to:
                keep &= visits.fillna("").str[:len(visit_to)] <= visit_to
            frame = frame[keep]
        return frame

    def _filter_orders(self, req: Request, frame: pd.DataFrame) -> pd.DataFrame:
        frame = self._filter_ids(req, frame)
        if cid := req.query.get("filter[customerId]"):
            frame = frame[frame["customer_id"].astype(str) == cid]
        if since := req.query.get("filter[createdAtFrom]"):
            frame = frame[frame["createdAt"] >= since]
        return frame

    def _corporate_frame(self) -> pd.DataFrame:
        ids = sorted(self.corporate)
        return pd.DataFrame({"id": ids, "externalId": [self.corporate[i].get("externalId") for i in ids]}, dtype=object)

    def _contacts(self, req: Request, uid: str) -> Response:
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        corp = self._find_corporate(uid, req.param("by", "externalId"))
        if corp is None:
            return _error(404, "Not found")
        contacts = [{"isMain": c.get("isMain", False), "id": c["id"], "customer": {**c["customer"], "site": corp["site"]},
                     "companies": []} for c in corp.get("customerContacts", [])]
        return Response.json(200, {"success": True, "contacts": contacts[(page - 1) * limit: page * limit],
                                   "pagination": self._envelope(page, limit, len(contacts))})

    def _find_corporate(self, uid: str, by: str) -> dict[str, Any] | None:
        if by == "id":
            return self.corporate.get(int(uid)) if uid.isdigit() else None
        return next((c for c in self.corporate.values() if c.get("externalId") == uid), None)

    # --- rendering in the API's shape -----------------------------------------------------------
    def _render_customer(self, row: dict[str, Any]) -> dict[str, Any]:
        r = {k: _clean(v) for k, v in row.items()}
        count, total = self._stats.get(r["id"], (0, 0.0))
        phones = [{"number": p} for p in (r["phone1"], r["phone2"]) if p]
        out: dict[str, Any] = {
            "type": "customer", "id": r["id"], "externalId": r["externalId"], "isContact": False,
            "createdAt": r["createdAt"], "vip": False, "bad": False, "site": r["site"],
            "contragent": {"contragentType": "individual"}, "tags": [],
            "customFields": _custom_fields(r),
            "personalDiscount": 0, "address": {"countryIso": "RU", "city": r["city"]},
            "firstName": r["firstName"], "lastName": r["lastName"], "patronymic": r["patronymic"],
            "sex": r["sex"], "email": r["email"], "phones": phones,
            "subscribed": r["subscribed"],
            "customerSubscriptions": [{"subscription": dict(SUBSCRIPTION), "subscribed": r["subscribed"],
                                       "changedAt": r["subscriptionChangedAt"]}]
            + ([{"subscription": dict(SMS_SUBSCRIPTION), "subscribed": bool(r["smsSubscribed"]),
                 "changedAt": r.get("smsSubscriptionChangedAt")}] if r.get("smsSubscribed") is not None else []),
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
        cols = self._item_cols
        for j in range(lo, hi):
            it = {k: _clean(v[j]) for k, v in cols.items()}
            items.append({
                "id": it["item_id"], "quantity": it["quantity"], "initialPrice": it["initialPrice"],
                "discountTotal": it["discountTotal"], "prices": [{"price": it["initialPrice"] - it["discountTotal"], "quantity": it["quantity"]}],
                "purchasePrice": round(it["initialPrice"] * 0.6, 2), "vatRate": "none",
                "status": "return" if r["status"] == "return" else "new",
                "offer": self._offer(it["article"], it["productName"]),
                "productName": it["productName"],
            })
        payments: dict[str, Any] = {}
        if r["status"] in PAID_STATUSES:
            payment = self._payment(r)
            payments = {str(payment["id"]): payment}
        cust_ref = {"type": "customer", "id": r["customer_id"], "site": SITE}
        ext = self._customer_external_id(r["customer_id"])
        if ext:
            cust_ref["externalId"] = ext
        return {
            "slug": r["id"], "id": r["id"], "number": r["number"], "site": SITE,
            "orderType": "eshop-individual", "orderMethod": r["orderMethod"], "countryIso": "RU",
            "createdAt": r["createdAt"], "statusUpdatedAt": r["statusUpdatedAt"], "status": r["status"],
            "summ": r["summ"], "currency": "RUB", "totalSumm": r["totalSumm"], "prepaySum": 0, "purchaseSumm": 0,
            "firstName": r["firstName"], "lastName": r["lastName"], "phone": r["phone"], "email": r["email"],
            "customer": cust_ref, "contact": cust_ref, "items": items, "payments": payments,
            "delivery": {"cost": r["deliveryCost"], "netCost": 0}, "customFields": [],
        }

    @staticmethod
    def _offer(article: str, name: str) -> dict[str, Any]:
        return {"id": zlib.crc32(article.encode()) % 10**6, "externalId": article, "name": name, "article": article}

    @staticmethod
    def _payment(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": int(r["id"]) * 10 + 1, "type": "bank-card", "status": "paid", "amount": r["totalSumm"],
                "paidAt": r["statusUpdatedAt"] or r["createdAt"]}

    def _customer_external_id(self, customer_id: int) -> str | None:
        idx = self._idx()
        if customer_id in idx.customer_pos:
            return idx.customer_ext[customer_id]
        snap = self.deleted["customers"].get(customer_id)
        return snap.get("externalId") if snap else None

    def _render_corporate(self, row: dict[str, Any]) -> dict[str, Any]:
        """The list/get shape of the fixtures: main contact, company and address, not the full lists
        (those come from `/customers-corporate/{id}/contacts` and friends)."""
        c = self.corporate[int(row["id"])]
        out = {k: v for k, v in c.items() if k not in ("customerContacts", "companies", "addresses") and v is not None}
        main = dict(c.get("mainCustomerContact") or {})
        if main:
            main["companies"] = [{"id": 100 + c["id"], "company": dict(c["mainCompany"])}] if c.get("mainCompany") else []
            out["mainCustomerContact"] = main
        out.update({"marginSumm": 0, "totalSumm": 0, "averageSumm": 0, "ordersCount": 0})
        return out

    def _cart_render(self, cart: dict[str, Any]) -> dict[str, Any]:
        lines = json.loads(cart["items"]) if isinstance(cart["items"], str) else cart["items"]
        out: dict[str, Any] = {
            "externalId": cart["cart_id"], "currency": cart.get("currency") or "RUB",
            "createdAt": cart["created_at"], "updatedAt": cart["updated_at"], "droppedAt": cart.get("dropped_at"),
            "link": f"https://{SITE}.ru/cart/recover?key={cart['cart_id']}",
            "customer": {"id": cart["customer_id"], "site": cart.get("site") or SITE},
            "items": [{"id": i + 1, "offer": {**self._offer(line["article"], line["name"]), "displayName": line["name"]},
                       "quantity": line["quantity"], "price": line["price"],
                       "createdAt": cart["created_at"], "updatedAt": cart["updated_at"]} for i, line in enumerate(lines)],
        }
        if cart.get("cleared_at"):
            out["clearedAt"] = cart["cleared_at"]
        order_id = cart.get("order_id")
        if order_id is not None and order_id > 0:
            out["order"] = {"id": int(order_id), "number": f"{int(order_id)}C"}
        return {k: v for k, v in out.items() if v is not None}

    # --- history seeds and rendering ----------------------------------------------------------
    def _seed_customers(self) -> pd.DataFrame:
        c = self.customers
        created = pd.DataFrame({"created_at": c["createdAt"], "entity_id": c["id"], "kind": "created", "old": None, "new": c["id"]})
        unsub = c[c["emailMarketingUnsubscribedAt"].notna()]
        unsubs = pd.DataFrame({"created_at": unsub["emailMarketingUnsubscribedAt"], "entity_id": unsub["id"],
                               "kind": "email_marketing_unsubscribed_at", "old": None, "new": unsub["emailMarketingUnsubscribedAt"]})
        return pd.concat([created, unsubs], ignore_index=True)

    def _seed_orders(self) -> pd.DataFrame:
        o = self.orders
        created = pd.DataFrame({"created_at": o["createdAt"], "entity_id": o["id"], "kind": "created", "old": None,
                                "new": [{"code": "new"}] * len(o)})
        moved = o[o["status"] != "new"]
        # The generator dates some status changes after `as_of`; the journal cannot hold the future.
        as_of = self.clock.as_of.strftime("%Y-%m-%d %H:%M:%S")
        status = pd.DataFrame({"created_at": moved["statusUpdatedAt"].where(moved["statusUpdatedAt"] <= as_of, as_of), "entity_id": moved["id"], "kind": "status",
                               "old": [{"code": "new"}] * len(moved), "new": [{"code": s} for s in moved["status"]]})
        return pd.concat([created, status], ignore_index=True)

    def _seed_corporate(self) -> pd.DataFrame:
        rows = [{"created_at": c["createdAt"], "entity_id": c["id"], "kind": "created", "old": None, "new": c["id"]}
                for c in self.corporate.values()]
        return pd.DataFrame(rows, columns=["created_at", "entity_id", "kind", "old", "new"])

    def _customer_snapshot(self, cid: int) -> dict[str, Any] | None:
        pos = np.searchsorted(self.customers["id"].to_numpy(), cid)
        if pos < len(self.customers) and self.customers["id"].iat[pos] == cid:
            return self._render_customer(self.customers.iloc[pos].to_dict())
        return self.deleted["customers"].get(cid)

    def _customer_stub(self, cid: int) -> dict[str, Any]:
        stub: dict[str, Any] = {"id": cid}
        # Written on every edit: from the frame, not the read index, which each write drops and
        # which took ~0.4 s to rebuild at 77,000 customers (the benchmark's 2,000 edits: 13 min).
        pos = self._customer_pos(str(cid), "id")
        if pos is None:
            ext = self._customer_external_id(cid)
        else:
            ext = self.customers["externalId"].iat[pos]
            ext = ext if isinstance(ext, str) and ext else None
        if ext:
            stub["externalId"] = ext
        stub["site"] = SITE
        return stub

    def _order_snapshot(self, oid: int) -> dict[str, Any] | None:
        pos = np.searchsorted(self.orders["id"].to_numpy(), oid)
        if pos < len(self.orders) and self.orders["id"].iat[pos] == oid:
            snap = self._render_order(self.orders.iloc[pos].to_dict())
            snap["payments"] = list(snap["payments"].values())  # history snapshots list payments
            return snap
        return self.deleted["orders"].get(oid)

    def _order_stub(self, oid: int) -> dict[str, Any]:
        snap = self._order_snapshot(oid) or {"id": oid}
        return {k: snap[k] for k in ("id", "externalId", "site", "status") if k in snap}

    def _render_seed_customer(self, kind, eid, created_at, old, new, item_id) -> dict[str, Any]:
        if kind == "created":
            return {"id": item_id, "createdAt": created_at, "created": True, "source": "api", "field": "id",
                    "apiKey": {"current": False}, "oldValue": None, "newValue": eid, "customer": self._customer_snapshot(eid) or {"id": eid}}
        return {"id": item_id, "createdAt": created_at, "source": "user", "user": {"id": 1}, "field": kind,
                "oldValue": old, "newValue": new, "customer": self._customer_stub(eid)}

    def _render_seed_order(self, kind, eid, created_at, old, new, item_id) -> dict[str, Any]:
        if kind == "created":
            snap = dict(self._order_snapshot(eid) or {"id": eid})
            snap.pop("status", None)  # as recorded: the created item carries the status as its diff
            return {"id": item_id, "createdAt": created_at, "created": True, "source": "api", "field": "status",
                    "apiKey": {"current": False}, "oldValue": None, "newValue": new, "order": snap}
        return {"id": item_id, "createdAt": created_at, "source": "user", "user": {"id": 1}, "field": kind,
                "oldValue": old, "newValue": new, "order": self._order_stub(eid)}

    def _render_seed_corporate(self, kind, eid, created_at, old, new, item_id) -> dict[str, Any]:
        snap = self.corporate.get(eid) or self.deleted["customers_corporate"].get(eid) or {"id": eid}
        return {"id": item_id, "createdAt": created_at, "created": True, "source": "api", "field": "id",
                "apiKey": {"current": False}, "oldValue": None, "newValue": eid,
                "customer": {k: v for k, v in snap.items() if v is not None}}

    def _log(self, entity: str, eid: int, ref_key: str, ref: dict[str, Any], field: str, old: Any, new: Any,
             **extra: Any) -> None:
        source = extra.pop("source", "api")
        item = {"createdAt": self.clock.text(), **extra, "source": source, "field": field,
                "oldValue": old, "newValue": new, ref_key: ref, "_entity_id": eid}
        if source == "api":
            item["apiKey"] = {"current": True}
        self.history[entity].append(item)

    # --- writes -------------------------------------------------------------------------------
    @staticmethod
    def _entity_json(req: Request, name: str) -> dict[str, Any] | Response:
        raw = req.form.get(name)
        if raw is None:
            return _error(400, f"Parameter '{name}' is missing")
        try:
            value = json.loads(raw)
        except ValueError:
            return _error(400, "Errors in the entity format", {name: "Invalid JSON"})
        if not isinstance(value, dict):
            return _error(400, "Errors in the entity format", {name: "An object is expected"})
        return value

    def _customer_pos(self, uid: str, by: str) -> int | None:
        """Position of the customer by id or external id (the column as text, first hit wins), from
        a map kept apart from the read index: an edit moves no row, so a run of edits (the
        benchmark's 1 %: thousands) does not rebuild it, where scanning the column per edit did."""
        col = "id" if by == "id" else "externalId"
        index = self._write_pos
        if index is None or index[0] is not self.customers:
            index = self._write_pos = (self.customers, {})
        by_col = index[1].get(col)
        if by_col is None:
            by_col = index[1][col] = {}
            for pos, value in enumerate(self.customers[col].astype(str).tolist()):
                by_col.setdefault(value, pos)
        return by_col.get(uid)

    def _customer_edit(self, req: Request, uid: str) -> Response:
        data = self._entity_json(req, "customer")
        if isinstance(data, Response):
            return data
        pos = self._customer_pos(uid, req.param("by", "externalId"))
        if pos is None:
            return _error(404, "Not found")
        cid = int(self.customers["id"].iat[pos])
        self._apply_customer(pos, cid, data)
        return Response.json(200, {"success": True, "id": cid})

    def _customer_create(self, req: Request) -> Response:
        data = self._entity_json(req, "customer")
        if isinstance(data, Response):
            return data
        cid = max([int(self.customers["id"].max()), *self.deleted["customers"]]) + 1  # ids are never reused
        now = self.clock.text()
        row = {col: None for col in self.customers.columns}
        row.update({"id": cid, "site": req.form.get("site") or SITE, "createdAt": now, "email": "",
                    "subscribed": False, "subscriptionChangedAt": now, "sex": data.get("sex"), "city": None})
        self.customers = pd.concat([self.customers, pd.DataFrame([row]).astype(self.customers.dtypes.to_dict(), errors="ignore")],
                                   ignore_index=True)
        pos = len(self.customers) - 1
        self._apply_customer(pos, cid, data, log=False)
        self._log("customers", cid, "customer", self._customer_snapshot(cid), "id", None, cid, created=True)
        return Response.json(201, {"success": True, "id": cid})

    def _apply_customer(self, pos: int, cid: int, data: dict[str, Any], log: bool = True) -> None:
        frame = self.customers
        changes: list[tuple[str, Any, Any]] = []
        if "externalId" in data:
            self._write_pos = None
        for key, (col, field) in CUSTOMER_FIELDS.items():
            if key in data:
                old = _clean(frame[col].iat[pos])
                frame.loc[pos, col] = data[key]
                changes.append((field, old, data[key]))
        if "phones" in data:
            numbers = [p.get("number") for p in data["phones"] if isinstance(p, dict)] + [None, None]
            for col, new in zip(("phone1", "phone2"), numbers[:2]):
                old = _clean(frame[col].iat[pos])
                if old != new:
                    frame.loc[pos, col] = new
                    changes.append(("phones", old, new))
        unsub = self._unsubscribe_change(data)
        if unsub is not _NO_CHANGE:
            old = _clean(frame["emailMarketingUnsubscribedAt"].iat[pos])
            if old != unsub:
                frame.loc[pos, "emailMarketingUnsubscribedAt"] = unsub
                frame.loc[pos, "subscribed"] = unsub is None
                frame.loc[pos, "subscriptionChangedAt"] = unsub or self.clock.text()
                changes.append(("email_marketing_unsubscribed_at", old, unsub))
        if log:
            for field, old, new in changes:
                if old != new:
                    self._log("customers", cid, "customer", self._customer_stub(cid), field, old, new)

    def _unsubscribe_change(self, data: dict[str, Any]) -> Any:
        """`emailMarketingUnsubscribedAt` wins and the legacy `subscribed` flag maps onto it: the new
        unsubscribe time, None for "subscribed again", or `_NO_CHANGE`."""
        if "emailMarketingUnsubscribedAt" in data:
            return data["emailMarketingUnsubscribedAt"]
        if "subscribed" in data:
            return None if data["subscribed"] else self.clock.text()
        return _NO_CHANGE

    def _order_edit(self, req: Request, uid: str) -> Response:
        data = self._entity_json(req, "order")
        if isinstance(data, Response):
            return data
        col = "id" if req.param("by", "externalId") == "id" else "number"
        hits = np.flatnonzero(self.orders[col].astype(str).to_numpy() == uid)
        if not len(hits):
            return _error(404, "Not found")
        pos = int(hits[0])
        oid = int(self.orders["id"].iat[pos])
        if "status" in data and data["status"] != self.orders["status"].iat[pos]:
            old = self.orders["status"].iat[pos]
            self.orders.loc[pos, "status"] = data["status"]
            self.orders.loc[pos, "statusUpdatedAt"] = self.clock.text()
            self._log("orders", oid, "order", self._order_stub(oid), "status", {"code": old}, {"code": data["status"]})
            if data["status"] in PAID_STATUSES and old not in PAID_STATUSES:
                payment = self._payment(self.orders.iloc[pos].to_dict())
                self._log("orders", oid, "order", self._order_stub(oid), "payments", None,
                          {"id": payment["id"], "type": payment["type"]}, payment=payment)
            self._refresh_stats()
        return Response.json(200, {"success": True, "id": oid})

    def _corporate_edit(self, req: Request, uid: str) -> Response:
        data = self._entity_json(req, "customerCorporate")
        if isinstance(data, Response):
            return data
        corp = self._find_corporate(uid, req.param("by", "externalId"))
        if corp is None:
            return _error(404, "Not found")
        for key, field in (("nickName", "nick_name"), ("vip", "vip"), ("externalId", "external_id")):
            if key in data and data[key] != corp.get(key):
                old, corp[key] = corp.get(key), data[key]
                self._log("customers_corporate", corp["id"], "customer", {"id": corp["id"], "site": corp["site"]}, field, old, data[key])
        return Response.json(200, {"success": True, "id": corp["id"]})

    # --- carts --------------------------------------------------------------------------------
    def _cart_customer(self, uid: str, by: str) -> int | None:
        pos = self._customer_pos(uid, by)
        return None if pos is None else int(self.customers["id"].iat[pos])

    def _cart_reader(self, uid: str, by: str) -> int | None:
        """`_cart_customer` for reads, from the index (one O(n) scan per cart made carts quadratic)."""
        idx = self._idx()
        pos = idx.customer_by["id" if by == "id" else "externalId"].get(uid)
        return None if pos is None else idx.customer_cols["id"][pos]

    def _cart_get(self, req: Request, site: str, uid: str) -> Response:
        if site != SITE:
            return _error(404, "Not found", {"site": f"Site '{site}' not found"})
        cid = self._cart_reader(uid, req.param("by", "externalId"))
        if cid is None:
            return _error(404, "Not found")
        cart = self.carts.get(cid)
        # No cart: a bare success (the CMS modules test `cart.externalId`, not the status).
        return Response.json(200, {"success": True, "cart": self._cart_render(cart)} if cart else {"success": True})

    def _cart_write(self, req: Request, site: str, action: str) -> Response:
        if site != SITE:
            return _error(404, "Not found", {"site": f"Site '{site}' not found"})
        data = self._entity_json(req, "cart")
        if isinstance(data, Response):
            return data
        who = data.get("customer") or {}
        cid = self._cart_customer(str(who["id"]), "id") if "id" in who else (
            self._cart_customer(str(who["externalId"]), "externalId") if "externalId" in who else None)
        if cid is None:
            return _error(400, "Errors in the entity format", {"cart.customer": "Customer not found"})
        now = self.clock.text() + "+03:00"
        if action == "set":
            current = self.carts.get(cid) if cid in self.carts and not self.carts[cid].get("cleared_at") else None
            lines = [{"article": (i.get("offer") or {}).get("externalId", "?"), "name": (i.get("offer") or {}).get("name", "?"),
                      "quantity": i.get("quantity", 1), "price": i.get("price", 0)} for i in data.get("items", [])]
            self.carts[cid] = {"cart_id": data.get("externalId") or (current or {}).get("cart_id") or f"cart-{cid}-{len(self.carts)}",
                               "customer_id": cid, "site": site, "currency": data.get("currency", "RUB"),
                               "created_at": (current or {}).get("created_at") or data.get("createdAt") or now,
                               "updated_at": data.get("updatedAt") or now, "dropped_at": data.get("droppedAt") or now,
                               "cleared_at": None, "order_id": -1, "items": lines}
            self.web_visits[cid] = self.clock.text()
        else:
            if cid not in self.carts:
                return _error(404, "Not found")
            self.carts[cid]["cleared_at"] = data.get("clearedAt") or now
            self.carts[cid]["order_id"] = int((data.get("order") or {}).get("id") or -1)
        return Response.json(200, {"success": True})

    # --- control ------------------------------------------------------------------------------
    def control(self, req: Request) -> Response | None:
        if req.path != "/_emulator/delete" or req.method != "POST":
            return None
        body = json.loads(req.body or b"{}")
        entity, eid = body.get("entity"), int(body.get("id", 0))
        with self._data_lock:
            self._invalidate()
            try:
                return self._delete(entity, eid)
            finally:
                self._invalidate()

    def _delete(self, entity: str | None, eid: int) -> Response:
        if entity == "customers":
            snap = self._customer_snapshot(eid)
            if snap is None or eid in self.deleted["customers"]:
                return Response.json(404, {"error": "no such customer"})
            self.deleted["customers"][eid] = snap
            self.customers = self.customers[self.customers["id"] != eid].reset_index(drop=True)
            ref_key = "customer"
        elif entity == "orders":
            snap = self._order_snapshot(eid)
            if snap is None or eid in self.deleted["orders"]:
                return Response.json(404, {"error": "no such order"})
            self.deleted["orders"][eid] = snap
            self.orders = self.orders[self.orders["id"] != eid].reset_index(drop=True)
            self._refresh_stats()
            ref_key = "order"
        elif entity == "customers_corporate":
            snap = self.corporate.pop(eid, None)
            if snap is None:
                return Response.json(404, {"error": "no such corporate customer"})
            self.deleted["customers_corporate"][eid] = snap
            ref_key = "customer"
        else:
            return Response.json(400, {"error": "entity is customers, orders or customers_corporate"})
        self._log(entity, eid, ref_key, snap, "id", eid, None, deleted=True, source="user", user={"id": 1})
        return Response.json(200, {"ok": True})



def _custom_fields(r: dict[str, Any]) -> dict[str, Any] | list:
    """User fields as the API sends them: an object keyed by field code, `[]` when none is set."""
    fields = {"loyalty_card": r.get("loyaltyCard"), "ads_consent": r.get("adsConsent"),
              "ads_consent_at": r.get("adsConsentAt")}
    fields = {k: v for k, v in fields.items() if v is not None}
    return fields or []


def main() -> None:
    cli(lambda a: RetailCRMEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8301)


if __name__ == "__main__":
    main()
