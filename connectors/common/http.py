"""One HTTP session factory so every connector retries the same way.

dlt's requests `Client` already retries 429/5xx and dropped connections with exponential backoff
and honours `Retry-After`; connectors add predicates for services that report overload inside an
HTTP 200 body (Unisender) or answer with a body that is not JSON.
"""

from __future__ import annotations

import json
from typing import Callable, Iterable, Optional

import requests
from dlt.sources.helpers.requests import Client

RetryPredicate = Callable[[Optional[requests.Response], Optional[BaseException]], bool]


def not_json(response: Optional[requests.Response], exception: Optional[BaseException]) -> bool:
    """A 200 that claims JSON but does not parse is a broken answer worth one more try."""
    if response is None or response.status_code != 200:
        return False
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        json.loads(response.content or b"null")
    except ValueError:
        return True
    return False


def retrying_session(
    *,
    timeout: float = 30.0,
    attempts: int = 6,
    backoff: float = 0.5,
    max_delay: float = 20.0,
    extra_conditions: Iterable[RetryPredicate] = (),
    raise_for_status: bool = True,
) -> requests.Session:
    client = Client(
        request_timeout=timeout,
        request_max_attempts=attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=max_delay,
        respect_retry_after_header=True,
        retry_condition=[not_json, *extra_conditions],
        raise_for_status=raise_for_status,
    )
    return client.session


class SourceError(RuntimeError):
    """An outside system answered in a way we cannot use; the message says which call and why."""


def describe_http_error(system: str, error: requests.HTTPError, detail_keys: tuple[str, ...]) -> SourceError:
    """Turn a final (post-retry) HTTP error into one line naming the call, the status and the
    service's own explanation, without the query string (it may carry keys or e-mails)."""
    response = error.response
    detail = ""
    if response is not None:
        try:
            body = response.json()
            detail = " ".join(str(body[k]) for k in detail_keys if isinstance(body, dict) and body.get(k))
        except ValueError:
            detail = "non-JSON answer"
        path = response.request.path_url.split("?")[0] if response.request is not None else "?"
        return SourceError(f"{system} {response.request.method if response.request else ''} {path} "
                           f"answered HTTP {response.status_code} after retries: {detail}".strip())
    return SourceError(f"{system}: {error}")
