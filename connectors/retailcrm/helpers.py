"""HTTP and paging for RetailCRM: `X-API-KEY` auth, `page`/`limit` paging, the error envelope."""

from __future__ import annotations

from typing import Any, Iterator

import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator

from connectors.common.http import SourceError, describe_http_error, retrying_session
from connectors.retailcrm.settings import API_PREFIX, PAGE_LIMIT


def make_client(base_url: str, api_key: str, timeout: float = 30.0) -> RESTClient:
    return RESTClient(
        base_url=base_url.rstrip("/") + API_PREFIX,
        auth=APIKeyAuth(name="X-API-KEY", api_key=api_key, location="header"),
        session=retrying_session(timeout=timeout, raise_for_status=False),  # RESTClient raises itself
    )


def pages(client: RESTClient, path: str, key: str, params: dict[str, Any] | None = None) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, records) until `currentPage` reaches `totalPageCount`."""
    paginator = PageNumberPaginator(base_page=1, page_param="page", total_path="pagination.totalPageCount")
    page_no = 0
    try:
        for page in client.paginate(path, params={"limit": PAGE_LIMIT, **(params or {})}, paginator=paginator,
                                    data_selector=key):
            page_no += 1
            body = page.response.json()
            if body.get("success") is not True:
                raise SourceError(f"RetailCRM {path} page {page_no}: success is not true: {body.get('errorMsg', '?')}")
            yield page_no, list(page)
    except requests.HTTPError as exc:
        raise describe_http_error("RetailCRM", exc, ("errorMsg", "errors")) from None
