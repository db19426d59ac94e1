"""HTTP and paging for amoCRM v4: Bearer auth, HAL `_links.next` paging, 204 as "no data", and
the problem+json error envelope turned into one readable line."""

from __future__ import annotations

from typing import Any, Iterator

import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.exceptions import IgnoreResponseException
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator

from connectors.amocrm.settings import API_PREFIX, HTTP_ATTEMPTS, PAGE_LIMIT
from connectors.common.http import (
    AUTH_STATUSES, SourceError, compiled_path, credentials_refused, describe_http_error, retrying_session,
    setting_names,
)

SYSTEM = "amoCRM"


def make_client(base_url: str, access_token: str, *, attempts: int = HTTP_ATTEMPTS, timeout: float = 30.0) -> RESTClient:
    return RESTClient(
        base_url=base_url.rstrip("/") + API_PREFIX,
        auth=BearerTokenAuth(token=access_token),
        session=retrying_session(timeout=timeout, attempts=attempts, raise_for_status=False),
    )


class HalPagePaginator(PageNumberPaginator):
    """`page=1,2,…` built by us, `_links.next` read only as the "there is more" signal.

    Building the page URL ourselves keeps every filter and order parameter on every request
    whatever the server puts into `_links.next`; a missing `next` or an empty page (204) ends.
    """

    def __init__(self) -> None:
        super().__init__(base_page=1, page_param="page", total_path=None, stop_after_empty_page=True)

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        body = response.json()
        if not (isinstance(body, dict) and isinstance(body.get("_links"), dict) and body["_links"].get("next")):
            self._has_next_page = False


def _on_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """amoCRM answers 204 with an empty body past the last page and on an empty result: that
    is the end of the data, not an error (the official PHP library treats it the same way)."""
    if response.status_code == 204:
        raise IgnoreResponseException
    response.raise_for_status()


def _http_error(exc: requests.HTTPError, detail_keys: tuple[str, ...]) -> SourceError:
    """A refused token (401: wrong, expired or revoked; 403: account blocked, or the token's
    integration lacks the right) says what to check; anything else names the call and status."""
    response = exc.response
    if response is not None and response.status_code in AUTH_STATUSES:
        try:
            body = response.json()
            said = ", ".join(str(body[k]) for k in ("title", "detail") if isinstance(body, dict) and body.get(k))
        except ValueError:
            said = ""
        answer = f"HTTP {response.status_code}" + (f": {said}" if said else "")
        return credentials_refused(
            SYSTEM, response.url, answer, who="the access token",
            check=f"{setting_names('amocrm', 'access_token')} (a long-lived token of the account's integration, "
                  f"not expired or revoked) and that {setting_names('amocrm', 'base_url')} is that account")
    return describe_http_error(SYSTEM, exc, detail_keys)


def pages(client: RESTClient, path: str, key: str, params: dict[str, Any] | None = None,
          limit: int = PAGE_LIMIT) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, records) until `_links.next` is absent or a 204 comes."""
    page_no = 0
    try:
        for page in client.paginate(path, params={"limit": limit, **(params or {})},
                                    paginator=HalPagePaginator(),
                                    data_selector=compiled_path(f"_embedded.{key}"),
                                    hooks={"response": [_on_response]}):
            page_no += 1
            body = page.response.json()
            # A 200 without `_embedded.<key>` would read as an empty last page: say so instead.
            if not (isinstance(body, dict) and isinstance((body.get("_embedded") or {}).get(key), list)):
                raise SourceError(f"{SYSTEM} {path} page {page_no}: HTTP 200 without a `_embedded.{key}` list")
            yield page_no, list(page)
    except requests.HTTPError as exc:
        raise _http_error(exc, ("title", "detail", "validation-errors")) from None


def get_account(client: RESTClient) -> dict[str, Any]:
    """The account, with whether API filtering is on: without it amoCRM ignores `filter[...]`
    silently and every run reads everything (still correct thanks to merge, only slower)."""
    try:
        response = client.get("/account", params={"with": "is_api_filter_enabled"})
        response.raise_for_status()
    except requests.HTTPError as exc:
        raise _http_error(exc, ("title", "detail")) from None
    body = response.json()
    if not isinstance(body, dict):
        raise SourceError(f"{SYSTEM} /account: the answer is not a JSON object")
    return body
