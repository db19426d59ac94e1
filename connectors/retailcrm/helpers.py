"""HTTP and paging for RetailCRM: `X-API-KEY` auth, `page`/`limit` paging, the history journal
read by `sinceId`, and the error envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from connectors.common.ahead import ahead, reading_ahead
from connectors.common.http import (
    AUTH_STATUSES, SourceError, credentials_refused, describe_http_error, json_body, retrying_session,
    setting_names,
)
from connectors.retailcrm.settings import API_PREFIX, CLOCK_PROBE_DATE, IDS_PER_REQUEST, IN_FLIGHT, PAGE_LIMIT


def make_client(base_url: str, api_key: str, timeout: float = 30.0, attempts: int = 6,
                in_flight: int = IN_FLIGHT) -> RESTClient:
    """The client; pages and carts are read `in_flight` requests at once (`ahead`), each worker
    thread with a client of its own."""
    client = RESTClient(
        base_url=base_url.rstrip("/") + API_PREFIX,
        auth=APIKeyAuth(name="X-API-KEY", api_key=api_key, location="header"),
        # RESTClient raises itself
        session=retrying_session(timeout=timeout, attempts=attempts, raise_for_status=False),
    )
    return reading_ahead(client, lambda: make_client(base_url, api_key, timeout, attempts, in_flight=1), in_flight)


def _http_error(exc: requests.HTTPError) -> SourceError:
    """A refused key (403 `Wrong "apiKey" value.`, or 401/403 for a key without the method's
    right) says what to check; anything else names the call, the status and RetailCRM's words."""
    response = exc.response
    if response is not None and response.status_code in AUTH_STATUSES:
        try:
            body = json_body(response)
            said = body.get("errorMsg") if isinstance(body, dict) else None
        except ValueError:
            said = None
        answer = f"HTTP {response.status_code}" + (f": {said}" if said else "")
        return credentials_refused(
            "RetailCRM", response.url, answer, who="the API key",
            check=f"{setting_names('retailcrm', 'api_key')} (and that {setting_names('retailcrm', 'base_url')} is "
                  "its account), and that the key is allowed this method (Settings > Integration > API access keys)")
    return describe_http_error("RetailCRM", exc, ("errorMsg", "errors"))


def pages(client: RESTClient, path: str, key: str, params: dict[str, Any] | None = None) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, records) until `totalPageCount` is reached or a page is empty. Each
    page is fetched and parsed once (dlt's paginator parsed it again for the total). The first
    page gives the count; the rest are asked for ahead of the reader (`ahead`)."""

    def fetch(worker: RESTClient, page_no: int) -> dict[str, Any]:
        return get_json(worker, path, {"limit": PAGE_LIMIT, **(params or {}), "page": page_no}, where=f"page {page_no}")

    first = fetch(client, 1)
    records = _records_of(first, key)
    yield 1, records
    if not records:
        return
    total = (first.get("pagination") or {}).get("totalPageCount")
    try:
        total = int(total)
    except (TypeError, ValueError):
        raise SourceError(f"RetailCRM {path} page 1: pagination.totalPageCount is {total!r}, not a number") from None
    for page_no, body in zip(range(2, total + 1), ahead(client, fetch, range(2, total + 1))):
        records = _records_of(body, key)
        yield page_no, records
        if not records:
            return


def _records_of(body: dict[str, Any], key: str) -> list[Any]:
    records = body.get(key)
    return [] if records is None else records if isinstance(records, list) else [records]


def get_json(client: RESTClient, path: str, params: dict[str, Any] | None = None,
             missing_ok: bool = False, where: str = "") -> dict[str, Any] | None:
    """One GET answered with RetailCRM's envelope; `None` for a 404 when `missing_ok`."""
    response = client.get(path, params=params or {})
    if missing_ok and response.status_code == 404:
        return None
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        raise _http_error(exc) from None
    body = json_body(response)
    if not isinstance(body, dict) or body.get("success") is not True:
        detail = body.get("errorMsg", "?") if isinstance(body, dict) else f"a JSON {type(body).__name__}, not an object"
        raise SourceError(f"RetailCRM {path}{' ' + where if where else ''}: success is not true: {detail}")
    return body


def history_pages(client: RESTClient, path: str, since_id: int | None,
                  start_date: str | None = None) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Read a journal forward the way the official example does (api-client-php
    `doc/usage/examples/orders_history.md`): the first call may bound by `startDate`, every later
    call asks page 1 with `sinceId` set to the last id seen, so the cursor moves and the page
    number never grows (a deep page of a journal that keeps growing would skip or repeat items)."""
    call = 0
    while True:
        call += 1
        if since_id is None and start_date:
            flt = {"filter[startDate]": start_date}
        else:
            flt = {"filter[sinceId]": since_id or 0}
        body = get_json(client, path, {"limit": PAGE_LIMIT, "page": 1, **flt})
        items = body.get("history") or []
        if not items:
            return
        yield call, items
        last = items[-1].get("id") if isinstance(items[-1], dict) else None
        if not isinstance(last, int) or (since_id is not None and last <= since_id):
            raise SourceError(f"RetailCRM {path}: history page {call} does not move forward (last id {last!r})")
        since_id = last
        if (body.get("pagination") or {}).get("totalPageCount", 1) <= 1:
            return


def last_history_id(client: RESTClient, path: str) -> int:
    """The newest journal id now. Recorded *before* a full load, so a change made while the full
    load pages through is read again from the journal next time instead of being lost."""
    first = get_json(client, path, {"limit": PAGE_LIMIT, "page": 1})
    pagination = first.get("pagination") or {}
    last_page = int(pagination.get("totalPageCount") or 0)
    if last_page == 0:
        return 0
    body = first if last_page == 1 else get_json(client, path, {"limit": PAGE_LIMIT, "page": last_page})
    items = body.get("history") or []
    return max((i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)), default=0)


def account_now(client: RESTClient) -> datetime:
    """The account's own clock (local time, no offset) from a history answer's `generatedAt`:
    site visits and carts are in account time, and the machine running us may be elsewhere."""
    body = get_json(client, "/customers/history", {"limit": 20, "page": 1, "filter[startDate]": CLOCK_PROBE_DATE})
    return datetime.strptime(body["generatedAt"], "%Y-%m-%d %H:%M:%S")


def by_ids(client: RESTClient, path: str, key: str, ids: list[int]) -> Iterator[tuple[str, list[Any]]]:
    """Re-read records by internal id (`filter[ids][]`), a chunk per call, chunks read ahead;
    yields (position, records)."""

    def read(worker: RESTClient, chunk: list[int]) -> tuple[list[int], list[tuple[int, list[Any]]]]:
        return chunk, list(pages(worker, path, key, {"filter[ids][]": chunk}))

    chunks = [ids[start:start + IDS_PER_REQUEST] for start in range(0, len(ids), IDS_PER_REQUEST)]
    for chunk, chunk_pages in ahead(client, read, chunks):
        for page_no, records in chunk_pages:
            yield f"{path} ids {chunk[0]}..{chunk[-1]} page {page_no}", records
