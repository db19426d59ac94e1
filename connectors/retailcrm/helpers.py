"""HTTP and paging for RetailCRM: `X-API-KEY` auth, `page`/`limit` paging, the history journal
read by `sinceId`, and the error envelope.

Calls go through one urllib3 pool (connectors/common/pooled.py) rather than dlt's REST client: a
run is tens of thousands of small calls (every page, and one call per cart), and through the REST
client our side of a cart read was 0.79 ms of CPU against 0.34 ms through the pool (the emulator
on loopback, docs/benchmarks/notes.md). The paging is RetailCRM's own (`page`, `limit` and
`totalPageCount`), written here either way."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from connectors.common.ahead import ahead, reading_ahead
from connectors.common.http import AUTH_STATUSES, SourceError, credentials_refused, setting_names, status_error
from connectors.common.pooled import JsonPool
from connectors.retailcrm.settings import API_PREFIX, CLOCK_PROBE_DATE, IDS_PER_REQUEST, IN_FLIGHT, PAGE_LIMIT


class Client:
    """RetailCRM at one account with one key, over a thread-safe pool."""

    def __init__(self, http: JsonPool):
        self.http = http

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any, str]:
        """(status, JSON or `NOT_JSON`, the address asked) after retries."""
        url = self.http.url(path, params)
        status, body = self.http.send("GET", url, what=f"RetailCRM GET {path}")
        return status, body, url


def make_client(base_url: str, api_key: str, timeout: float = 30.0, attempts: int = 6,
                in_flight: int = IN_FLIGHT) -> Client:
    """The client; pages and carts are read `in_flight` requests at once (`ahead`), through one
    pool with a connection for each. The worker threads share one client of the same pool that
    reads one request at a time, so a call made inside a worker (a re-read chunk's pages) adds no
    request in flight."""
    http = JsonPool(base_url.rstrip("/") + API_PREFIX, {"X-API-KEY": api_key},
                    timeout=timeout, attempts=attempts, connections=in_flight)
    worker = Client(http)
    return reading_ahead(Client(http), lambda: worker, in_flight)


def _http_error(path: str, status: int, body: Any, url: str) -> SourceError:
    """A refused key (403 `Wrong "apiKey" value.`, or 401/403 for a key without the method's
    right) says what to check; anything else names the call, the status and RetailCRM's words."""
    if status in AUTH_STATUSES:
        said = body.get("errorMsg") if isinstance(body, dict) else None
        answer = f"HTTP {status}" + (f": {said}" if said else "")
        return credentials_refused(
            "RetailCRM", url, answer, who="the API key",
            check=f"{setting_names('retailcrm', 'api_key')} (and that {setting_names('retailcrm', 'base_url')} is "
                  "its account), and that the key is allowed this method (Settings > Integration > API access keys)")
    return status_error("RetailCRM", "GET", API_PREFIX + path, status, body, ("errorMsg", "errors"))


def pages(client: Client, path: str, key: str, params: dict[str, Any] | None = None) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, records) until `totalPageCount` is reached or a page is empty. Each
    page is fetched and parsed once (dlt's paginator parsed it again for the total). The first
    page gives the count; the rest are asked for ahead of the reader (`ahead`)."""

    def fetch(worker: Client, page_no: int) -> dict[str, Any]:
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


def get_json(client: Client, path: str, params: dict[str, Any] | None = None,
             missing_ok: bool = False, where: str = "") -> dict[str, Any] | None:
    """One GET answered with RetailCRM's envelope; `None` for a 404 when `missing_ok`."""
    status, body, url = client.get(path, params)
    if missing_ok and status == 404:
        return None
    if status >= 300:
        raise _http_error(path, status, body, url)
    if not isinstance(body, dict) or body.get("success") is not True:
        detail = (body.get("errorMsg", "?") if isinstance(body, dict)
                  else f"a JSON {type(body).__name__}, not an object")
        raise SourceError(f"RetailCRM {path}{' ' + where if where else ''}: success is not true: {detail}")
    return body


def history_pages(client: Client, path: str, since_id: int | None,
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


def last_history_id(client: Client, path: str) -> int:
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


def account_now(client: Client) -> datetime:
    """The account's own clock (local time, no offset) from a history answer's `generatedAt`:
    site visits and carts are in account time, and the machine running us may be elsewhere."""
    body = get_json(client, "/customers/history", {"limit": 20, "page": 1, "filter[startDate]": CLOCK_PROBE_DATE})
    return datetime.strptime(body["generatedAt"], "%Y-%m-%d %H:%M:%S")


def by_ids(client: Client, path: str, key: str, ids: list[int]) -> Iterator[tuple[str, list[Any]]]:
    """Re-read records by internal id (`filter[ids][]`), a chunk per call, chunks read ahead;
    yields (position, records)."""

    def read(worker: Client, chunk: list[int]) -> tuple[list[int], list[tuple[int, list[Any]]]]:
        return chunk, list(pages(worker, path, key, {"filter[ids][]": chunk}))

    chunks = [ids[start:start + IDS_PER_REQUEST] for start in range(0, len(ids), IDS_PER_REQUEST)]
    for chunk, chunk_pages in ahead(client, read, chunks):
        for page_no, records in chunk_pages:
            yield f"{path} ids {chunk[0]}..{chunk[-1]} page {page_no}", records
