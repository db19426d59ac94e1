"""Sendsay API v100 client: one JSON POST per action, the error envelope, REDIRECT, paging.

The key travels in the `Authorization: sendsay apikey=<key>` header (documented alongside the body
field) so request bodies can be logged without it. Errors arrive as `{"errors": [{"id",
"explain"}]}` in an HTTP 200 body and raise `SendsayError` with the id (no personal values). A
`{"REDIRECT": "/path"}` answer means "send the same request again to host + path"; the client
keeps the new path for later calls, as both official clients do, and gives up after 10.
Overload (429, 5xx, a body that is not JSON) is retried by the shared session with backoff.
"""

from __future__ import annotations

from typing import Any, Iterator

import requests

from connectors.common.http import (
    AUTH_STATUSES, AuthError, SourceError, credentials_refused, describe_http_error, json_body, retrying_session,
    setting_names,
)
from connectors.sendsay.settings import API_PATH, MAX_REDIRECTS


class SendsayError(SourceError):
    def __init__(self, action: str, errors: list[Any]):
        first = errors[0] if errors and isinstance(errors[0], dict) else {"id": str(errors)}
        super().__init__(f"Sendsay {action} failed: {first.get('id')}"
                         + (f" ({first['explain']})" if isinstance(first.get("explain"), str) else ""))
        self.error_id = first.get("id")


class SendsayAuthError(SendsayError, AuthError):
    """Sendsay refused the login or key (`error/auth/...` in an HTTP 200 body, or a 401/403)."""

    def __init__(self, action: str, errors: list[Any], url: str, login: str):
        SendsayError.__init__(self, action, errors)
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        said = f"{first.get('id')}" + (f": {first['explain']}" if isinstance(first.get("explain"), str) else "")
        refused = credentials_refused("Sendsay", url, said, who=f"login '{login}' with its API key on {action}",
                                      check=f"{setting_names('sendsay', 'login', 'api_key')} (the account login and a "
                                            "key of a sub-user with API access)")
        SourceError.__init__(self, str(refused))


def _refused_credentials(errors: list[Any]) -> bool:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    return str(first.get("id", "")).startswith("error/auth")


class SendsayClient:
    def __init__(self, base_url: str, login: str, api_key: str, timeout: float = 60.0, attempts: int = 6):
        self.root = base_url.rstrip("/")
        self.login = login
        self.path = API_PATH.format(login=login)
        self.session = retrying_session(timeout=timeout, attempts=attempts)
        self.session.headers["Authorization"] = f"sendsay apikey={api_key}"
        self.redirects_followed = 0

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        body = {"action": action, **params}
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self.session.post(self.root + self.path, json=body)
            except requests.HTTPError as exc:
                if exc.response is not None and exc.response.status_code in AUTH_STATUSES:
                    raise SendsayAuthError(action, [{"id": f"HTTP {exc.response.status_code}"}],
                                           self.root + self.path, self.login) from None
                raise describe_http_error("Sendsay", exc, ("errors",)) from None
            try:
                answer = json_body(response)
            except ValueError:
                raise SourceError(f"Sendsay {action}: answer is not JSON (HTTP {response.status_code})") from None
            if not isinstance(answer, dict):
                raise SourceError(f"Sendsay {action}: answer is {type(answer).__name__}, not an object")
            errors = answer.get("errors") or ([answer["error"]] if answer.get("error") else None)
            if errors and _refused_credentials(errors):
                raise SendsayAuthError(action, errors, self.root + self.path, self.login)
            if errors:
                raise SendsayError(action, errors)
            if "REDIRECT" in answer:
                self.path = str(answer["REDIRECT"])
                self.redirects_followed += 1
                continue
            return answer
        raise SourceError(f"Sendsay {action}: more than {MAX_REDIRECTS} REDIRECT answers")

    def member_pages(self, pagesize: int) -> Iterator[tuple[int, list[Any]]]:
        """(page number, members) from member.list until a short page or the last page."""
        page = 1
        while True:
            answer = self.call("member.list", page=page, pagesize=pagesize, sort="member.id", result="response")
            rows = answer.get("list")
            if not isinstance(rows, list):
                raise SourceError(f"Sendsay member.list page {page}: no list in the answer")
            yield page, rows
            pages = answer.get("pages")
            if len(rows) < pagesize or (isinstance(pages, int) and page >= pages):
                return
            page += 1

    def stat_pages(self, query: dict[str, Any], first: int) -> Iterator[tuple[int, list[Any]]]:
        """(skip, rows) of one stat.uni query, `first` rows at a time; the query must have an order."""
        skip = 0
        while True:
            answer = self.call("stat.uni", **query, result="response", skip=skip, first=first)
            rows = answer.get("list")
            if not isinstance(rows, list):
                raise SourceError(f"Sendsay stat.uni (skip {skip}): no list in the answer")
            yield skip, rows
            if len(rows) < first:
                return
            skip += len(rows)


__all__ = ["SendsayClient", "SendsayError", "SendsayAuthError"]
