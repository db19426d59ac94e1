"""HTTP for 1C's standard OData: UTF-8 Basic auth, `$top/$skip` paging, the `odata.error` envelope.

1C answers without `nextLink` or server paging, so a client asks for `$top` rows from `$skip` in a
stable `$orderby` and stops at a short page. Query options go into the URL with spaces as `%20`
(not `+`) and Cyrillic entity names percent-encoded as UTF-8, as 1C's web extension expects.
"""

from __future__ import annotations

import base64
from typing import Any, Iterator, Optional
from urllib.parse import quote

import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from connectors.common.http import (
    AUTH_STATUSES, SourceError, compiled_path, credentials_refused, retrying_session, setting_names,
)
from connectors.onec.settings import ODATA_ROOT, TIMEOUT_SECONDS

QUERY_SAFE = "'(),:=$"


class Utf8BasicAuth(requests.auth.AuthBase):
    """Basic auth encoded as UTF-8: 1C accepts Cyrillic user names only that way (requests'
    own `HTTPBasicAuth` encodes latin-1)."""

    def __init__(self, user: str, password: str):
        self.user = user  # not a secret: errors name it
        self._header = "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request


class TopSkipPaginator(BasePaginator):
    """Offset paging without a total: the next page starts where the rows so far end; a page
    shorter than `$top` is the last one (no extra empty request)."""

    def __init__(self, top: int):
        super().__init__()
        self.top, self.skip = top, 0

    def init_request(self, request) -> None:
        request.params = {**(request.params or {}), "$top": self.top, "$skip": 0}

    def update_state(self, response, data: Optional[list[Any]] = None) -> None:
        count = len(data or [])
        self.skip += count
        if count < self.top:
            self._has_next_page = False

    def update_request(self, request) -> None:
        request.params["$skip"] = self.skip


def make_client(base_url: str, user: str, password: str, *, attempts: int = 6, timeout: float = TIMEOUT_SECONDS) -> RESTClient:
    """`base_url` is the publication (`https://host/trade`) or its OData root; either works."""
    root = base_url.rstrip("/")
    if not root.endswith(ODATA_ROOT):
        root += ODATA_ROOT
    session = retrying_session(timeout=timeout, attempts=attempts, raise_for_status=False)
    session.headers["Accept"] = "application/json"
    return RESTClient(base_url=root, auth=Utf8BasicAuth(user, password), session=session)


def entity_path(entity: str, params: dict[str, str]) -> str:
    query = "&".join(f"{quote(k, safe='$')}={quote(str(v), safe=QUERY_SAFE)}" for k, v in params.items())
    return f"/{quote(entity)}" + (f"?{query}" if query else "")


def odata_message(response: requests.Response | None) -> str:
    """`odata.error.code` and `message.value`, or what kind of body came instead."""
    if response is None:
        return "no answer"
    try:
        body = response.json()
    except ValueError:
        return f"non-JSON answer ({response.headers.get('Content-Type', '?')})"
    error = body.get("odata.error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "no odata.error in the answer"
    message = error.get("message")
    text = message.get("value") if isinstance(message, dict) else message
    return f"code {error.get('code')}: {text}"


def publication(client: RESTClient) -> str:
    """The infobase publication (`https://host/trade`) the client reads, without the OData root."""
    return client.base_url.removesuffix(ODATA_ROOT)


def refused(client: RESTClient, entity: str, status: int, said: str) -> SourceError:
    """401: the user or password is wrong (or the user may not log in through the web); 403: the
    user is in, but its roles do not let it read the entity or OData is not allowed to it."""
    user = getattr(client.auth, "user", "?")
    if status == 401:
        who, check = (f"user '{user}'", f"{setting_names('onec', 'user', 'password')} and that the user has the "
                                        "right to use the standard OData interface")
    else:
        who, check = (f"user '{user}' access to {entity}",
                      f"that the user's roles may read {entity} and that it is in the OData composition "
                      "(SetStandardODataInterfaceContent)")
    # 1C's 401 body is a plain-text page ("Требуется аутентификация"); only a JSON odata.error says more.
    detail = f": {said}" if said.startswith("code ") else ""
    return credentials_refused("1C OData", publication(client), f"HTTP {status}{detail}", who=who, check=check)


def _failed(client: RESTClient, entity: str, exc: requests.HTTPError, what: str) -> SourceError:
    status = exc.response.status_code if exc.response is not None else "?"
    if status in AUTH_STATUSES:
        return refused(client, entity, status, odata_message(exc.response))
    return SourceError(f"1C GET {entity} {what} answered HTTP {status} after retries: {odata_message(exc.response)}")


def _value(body: Any, entity: str, what: str) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise SourceError(f"1C {entity} {what}: the answer has no `value` list")
    return body["value"]


def pages(client: RESTClient, entity: str, params: dict[str, str], top: int) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, rows) of one entity set; errors name the entity, status and 1C's reason
    (never the query string: it can carry filter values)."""
    params = {"$format": "json", **params}
    page_no = 0
    try:
        for page in client.paginate(entity_path(entity, params), paginator=TopSkipPaginator(top),
                                    data_selector=compiled_path("value")):
            page_no += 1
            _value(page.response.json(), entity, f"page {page_no}")
            yield page_no, list(page)
    except requests.HTTPError as exc:
        raise _failed(client, entity, exc, f"page {page_no + 1}") from None


def fetch_rows(client: RESTClient, entity: str, params: dict[str, Any], what: str) -> list[Any]:
    """The rows of one request (records by key, one page read again); `what` names it in errors."""
    try:
        response = client.get(entity_path(entity, {"$format": "json", **params}))
        response.raise_for_status()
    except requests.HTTPError as exc:
        raise _failed(client, entity, exc, what) from None
    return _value(response.json(), entity, what)
