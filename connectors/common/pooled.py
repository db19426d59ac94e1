"""JSON over one urllib3 pool, for the clients whose calls are many and small.

A RetailCRM cart read or a Mindbox sync call is one short JSON answer, and a run makes tens of
thousands of them: then our side of a call is mostly CPU in the HTTP stack. Against the emulators
on loopback, through `requests` (dlt's REST client, its retry wrapper, the environment and netrc
lookups) a RetailCRM cart read took 0.79 ms of our CPU and a Mindbox call 0.86 ms; straight through
urllib3's pool, 0.34 and 0.41 ms (docs/benchmarks/notes.md). urllib3 is the library `requests`
itself sends with, and its Retry does what the sources' session does (connectors/common/http.py):
429 and 5xx and broken connections retried with the same backoff and cap, Retry-After honoured.
What Retry cannot see is a body: a success whose body is not JSON (a proxy's page, a cut answer)
is asked again here, as the session's `not_json` check does.

One pool serves every thread (urllib3's pool is thread-safe), with as many kept-alive
connections as requests are in flight.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import urllib3

from connectors.common.http import (
    BACKOFF_SECONDS, DEFAULT_RETRY_STATUS, MAX_RETRY_DELAY_SECONDS, NOT_JSON, SourceError, shown_url, utf8_json,
)


class JsonPool:
    def __init__(self, root: str, headers: dict[str, str], *, timeout: float = 30.0, attempts: int = 6,
                 connections: int = 1, error: type[SourceError] = SourceError):
        """`error` is the exception class raised when a call gets no usable answer."""
        self.root = root.rstrip("/")
        self.attempts = max(1, attempts)
        self.error = error
        retries = urllib3.Retry(
            total=self.attempts - 1, backoff_factor=BACKOFF_SECONDS, backoff_max=MAX_RETRY_DELAY_SECONDS,
            status_forcelist=DEFAULT_RETRY_STATUS, allowed_methods=None, respect_retry_after_header=True,
            raise_on_status=False, redirect=False)
        self.pool = urllib3.PoolManager(
            num_pools=1, maxsize=max(1, connections), retries=retries,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            headers={"Accept": "application/json", **headers})

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """The full address, encoded as `requests` does: list values repeat their key
        (`filter[ids][]=1&filter[ids][]=2`), a None value is left out."""
        kept = {k: v for k, v in (params or {}).items() if v is not None}
        return f"{self.root}{path}" + (f"?{urlencode(kept, doseq=True)}" if kept else "")

    def send(self, method: str, url: str, *, body: bytes | None = None, what: str) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or NOT_JSON) once retries are spent. A status of 300 or more is
        returned, not raised (redirects are not followed: an API answers where it is asked); a
        success whose body is not JSON is asked again. `what` names the call in an error
        (`Mindbox ImportCustomers`, `RetailCRM GET /customers`), never with the query string."""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.pool.request(method, url, body=body)
            except urllib3.exceptions.HTTPError as exc:
                raise self.error(f"{what}: {failure(exc)} reaching {shown_url(self.root)}") from None
            try:
                return response.status, utf8_json(response.data)
            except ValueError:
                if response.status >= 300:
                    return response.status, NOT_JSON
                if attempt == self.attempts:
                    raise self.error(f"{what}: answer is not JSON (HTTP {response.status}) after {attempt} attempt(s)") from None
                time.sleep(min(MAX_RETRY_DELAY_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")


def failure(exc: urllib3.exceptions.HTTPError) -> str:
    """What went wrong on the way, in the words the `requests`-based connectors use: the retries'
    wrapper names its last cause."""
    cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
    # A refused connection is a NewConnectionError, which urllib3 also makes a timeout: first.
    if isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ProtocolError)):
        return "ConnectionError"
    if isinstance(cause, urllib3.exceptions.TimeoutError):
        return "Timeout"
    return type(cause).__name__


__all__ = ["JsonPool", "NOT_JSON", "failure"]
