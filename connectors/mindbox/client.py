"""Mindbox API v3 sync operations: one JSON POST per operation call, statuses and HTTP errors.

`POST <base>/v3/operations/sync?endpointId=E&operation=<Op>[&transactionId=T]` with
`Authorization: SecretKey <key>` (or the documented older form `Mindbox secretKey="<key>"`), JSON
both ways. The query carries no personal value, so a retried or logged URL shows none.

Answers (php-sdk `AbstractMindboxClient`, Mindbox docs): HTTP 200 with `status` "Success", or
"ValidationError" with `validationMessages: [{message, location}]` (a problem with this record,
returned to the caller to report as a rejection). HTTP 400 carries `errorMessage`; 401/403 mean the
key or endpoint is refused; 404 an unknown endpoint or operation; 409 a conflict (here: a
transactionId reused for a different request); 429, 500 and 503 mean "later" and are retried with
backoff (Retry-After honoured) before they become an error.

`transactionId` makes a write idempotent: Mindbox processes a transaction once and answers a
repeated one with the first result, so a call retried after a lost answer does not act twice.

Calls go through urllib3's pool, not the `requests` session the sources share: a segment is one
or two calls per contact, and our side of a call is CPU. Against the emulator on loopback, 1,000
imports took 0.86 ms of our CPU per call through `requests` (preparing the request, the retry
wrapper, the environment and netrc lookups) and 0.41 ms through urllib3 (docs/benchmarks/notes.md,
"Mindbox's calls"). urllib3's Retry does what the session did: 429, 5xx and broken
connections retried with exponential backoff up to 20 s, Retry-After honoured, POST included
(the transactionId makes a repeated write harmless).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3

from connectors.common.http import (
    BACKOFF_SECONDS, DEFAULT_RETRY_STATUS, MAX_RETRY_DELAY_SECONDS, AuthError, SourceError, shown_url, utf8_json,
)
from connectors.mindbox.settings import AUTH_SCHEMES, SYNC_PATH


def _env(arg: str) -> str:
    from cdp.destinations import destination

    return destination("mindbox").settings[arg].env


class MindboxError(SourceError):
    def __init__(self, message: str, status: str = "", http_status: int | None = None):
        super().__init__(message)
        self.status, self.http_status = status, http_status


class MindboxAuthError(MindboxError, AuthError):
    """Mindbox refused the secret key or the endpoint (401/403); never retried."""


class MindboxClient:
    """Thread-safe: one pool of up to `connections` kept-alive connections serves every thread."""

    def __init__(self, base_url: str, endpoint_id: str, secret_key: str, *, auth_scheme: str = "SecretKey",
                 timeout: float = 30.0, attempts: int = 6, connections: int = 1):
        if auth_scheme not in AUTH_SCHEMES:
            raise ValueError(f"auth_scheme is one of {', '.join(AUTH_SCHEMES)}")
        self.root = base_url.rstrip("/")
        self.endpoint_id = endpoint_id
        self.attempts = max(1, attempts)
        retries = urllib3.Retry(
            total=max(0, attempts - 1), backoff_factor=BACKOFF_SECONDS, backoff_max=MAX_RETRY_DELAY_SECONDS,
            status_forcelist=DEFAULT_RETRY_STATUS, allowed_methods=None, respect_retry_after_header=True,
            raise_on_status=False, redirect=False)
        self.pool = urllib3.PoolManager(
            num_pools=1, maxsize=max(1, connections), retries=retries,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            headers={"Authorization": AUTH_SCHEMES[auth_scheme].format(key=secret_key),
                     "Accept": "application/json", "Content-Type": "application/json"})

    def call(self, operation: str, body: dict[str, Any], transaction_id: str | None = None) -> dict[str, Any]:
        """The operation's answer when its status is Success or ValidationError; raises otherwise."""
        params = {"endpointId": self.endpoint_id, "operation": operation}
        if transaction_id:
            params["transactionId"] = transaction_id
        url = f"{self.root}{SYNC_PATH}?{urlencode(params)}"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.pool.request("POST", url, body=orjson.dumps(body))
            except urllib3.exceptions.HTTPError as exc:
                raise MindboxError(f"Mindbox {operation}: {_failure(exc)} reaching {shown_url(self.root)}") from None
            if response.status >= 300:  # redirects are not followed: an API answers where it is asked
                raise self._http_error(operation, response)
            try:
                answer = _json(response)
                break
            except ValueError:
                # A 200 that is not JSON (a proxy's page, a cut answer): asked again, as the
                # sources' session does; the transactionId keeps a write from acting twice.
                if attempt == self.attempts:
                    raise MindboxError(f"Mindbox {operation}: answer is not JSON (HTTP {response.status}) "
                                       f"after {attempt} attempt(s)") from None
                time.sleep(min(MAX_RETRY_DELAY_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1)))
        status = answer.get("status") if isinstance(answer, dict) else None
        if status in ("Success", "ValidationError"):
            return answer
        raise MindboxError(f"Mindbox {operation} answered status {status!r}: {_said(answer)}", str(status),
                           response.status)

    def _http_error(self, operation: str, response: urllib3.BaseHTTPResponse) -> MindboxError:
        code = response.status
        try:
            said = _said(_json(response))
        except ValueError:
            said = "non-JSON answer"
        where = f"Mindbox at {shown_url(self.root + SYNC_PATH)}"
        if code in (401, 403):
            return MindboxAuthError(
                f"{where} refused endpoint '{self.endpoint_id}' with its secret key on {operation} (HTTP {code}: "
                f"{said}): check {_env('endpoint_id')} / {_env('api_key')} (the integration endpoint and its "
                "secret key from the Mindbox admin)", "ProtocolError", code)
        if code == 404:
            return MindboxError(f"{where} has no operation '{operation}' at endpoint '{self.endpoint_id}' (HTTP 404: "
                                f"{said}): check {_env('endpoint_id')} and the MINDBOX_OPERATION_* settings "
                                "against the operations your Mindbox manager created", "ProtocolError", code)
        kinds = {400: "bad request", 409: "conflict", 429: "too many requests after retries",
                 500: "unavailable after retries", 503: "unavailable after retries"}
        return MindboxError(f"Mindbox {operation}: HTTP {code} ({kinds.get(code, 'unexpected')}): {said}",
                            "ProtocolError", code)


def _json(response: urllib3.BaseHTTPResponse) -> Any:
    """The answer's JSON (a byte-order mark skipped, as the sources' session does); ValueError when
    it is not JSON."""
    return utf8_json(response.data)


def _failure(exc: urllib3.exceptions.HTTPError) -> str:
    """What went wrong on the way, in the words the `requests`-based connectors use: the retries'
    wrapper names its last cause."""
    cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
    # A refused connection is a NewConnectionError, which urllib3 also makes a timeout: first.
    if isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ProtocolError)):
        return "ConnectionError"
    if isinstance(cause, urllib3.exceptions.TimeoutError):
        return "Timeout"
    return type(cause).__name__


def _said(answer: Any) -> str:
    """Mindbox's own words (errorMessage or the validation messages), never the request."""
    if not isinstance(answer, dict):
        return ""
    if answer.get("errorMessage"):
        return str(answer["errorMessage"])
    return validation_text(answer)


def validation_text(answer: dict[str, Any]) -> str:
    msgs = answer.get("validationMessages") or []
    return "; ".join(f"{m.get('location', '')}: {m.get('message', '')}".strip(": ") for m in msgs if isinstance(m, dict))


__all__ = ["MindboxClient", "MindboxError", "MindboxAuthError", "validation_text"]
