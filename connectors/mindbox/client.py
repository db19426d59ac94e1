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

Calls go through one urllib3 pool (connectors/common/pooled.py), not the `requests` session the
sources share: a segment is one or two calls per contact, and our side of a call is CPU (0.86 ms
through `requests`, 0.41 ms through the pool, 1,000 imports against the emulator). 429, 5xx and
broken connections are retried with the sources' backoff, POST included (the transactionId makes
a repeated write harmless).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from connectors.common.http import AuthError, SourceError, shown_url
from connectors.common.pooled import NOT_JSON, JsonPool
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
        self.http = JsonPool(self.root, {"Authorization": AUTH_SCHEMES[auth_scheme].format(key=secret_key),
                                         "Content-Type": "application/json"},
                             timeout=timeout, attempts=attempts, connections=connections, error=MindboxError)

    def call(self, operation: str, body: dict[str, Any], transaction_id: str | None = None) -> dict[str, Any]:
        """The operation's answer when its status is Success or ValidationError; raises otherwise.
        A success whose body is not JSON is asked again with the same transactionId, so a write
        does not act twice."""
        params = {"endpointId": self.endpoint_id, "operation": operation}
        if transaction_id:
            params["transactionId"] = transaction_id
        url = f"{self.root}{SYNC_PATH}?{urlencode(params)}"
        code, answer = self.http.send("POST", url, body=orjson.dumps(body), what=f"Mindbox {operation}")
        if code >= 300:
            raise self._http_error(operation, code, answer)
        status = answer.get("status") if isinstance(answer, dict) else None
        if status in ("Success", "ValidationError"):
            return answer
        raise MindboxError(f"Mindbox {operation} answered status {status!r}: {_said(answer)}", str(status), code)

    def _http_error(self, operation: str, code: int, answer: Any) -> MindboxError:
        said = "non-JSON answer" if answer is NOT_JSON else _said(answer)
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
