"""VK Ads API (ads.vk.com, the myTarget stack): OAuth2 client credentials and remarketing users lists.

Tokens: at most 5 may exist per client and account, expired ones included, and each lives a day.
So a token is cached per process (every client built with the same credentials shares it), is
refreshed with its `refresh_token` when it nears expiry or the API calls it expired, and when the
API refuses a new one because 5 exist, this client deletes the account's tokens
(`/api/v2/oauth2/token/delete.json`, the documented remedy) and asks once more.

Rate limits are per user, resource and operation, in calendar seconds, hours and days, and every
answer reports what is left (`X-RateLimit-{RPS,Hourly,Daily}-Remaining`). A 429 with the second's
budget spent is retried (after `Retry-After`, else backoff); one with the hour's or day's budget
spent is not (nothing will pass before the window turns), and the error names the window. When the
second's budget reads 0 the client waits for the next second before its next call.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import requests

from connectors.common.destination import DestinationError
from connectors.common.http import (
    AuthError,
    credentials_refused,
    destination_setting_names,
    retrying_session,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://ads.vk.com"
LISTS = "api/v3/remarketing/users_lists"
PAGE = 50  # the API's maximum `limit`
REFRESH_MARGIN = 300.0  # seconds before expiry a token is refreshed


def _spent(response: requests.Response, window: str) -> bool:
    return response.headers.get(f"X-RateLimit-{window}-Remaining") == "0"


def lasting_limit(response: requests.Response) -> str | None:
    """"hourly"/"daily" when a 429 says that window's budget is spent, else None."""
    for window in ("Daily", "Hourly"):
        if _spent(response, window):
            return window.lower()
    return None


def _retry(response: requests.Response | None, exception: BaseException | None) -> bool:
    if response is None:
        return False
    if response.status_code == 429:
        return lasting_limit(response) is None
    return response.status_code >= 500


def describe_error(body: Any) -> str:
    """`validation_failed: name: required` / `file: not_enough_ids` from VK's error body, without
    the `line` values a file error quotes (they are the identifiers sent)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    words = [str(error["code"])] if error.get("code") else []
    if error.get("message"):
        words.append(str(error["message"]))
    for name, problems in (error.get("fields") or {}).items():
        codes = sorted({str(p.get("code")) for p in problems if isinstance(p, dict)} if isinstance(problems, list) else {str(problems)})
        words.append(f"{name}: {', '.join(codes)}")
    return "; ".join(words)


class VkAdsError(DestinationError):
    def __init__(self, call: str, status: int, detail: str):
        super().__init__(f"VK Ads {call} answered HTTP {status}" + (f": {detail}" if detail else ""))
        self.status = status


class VkAdsAuthError(DestinationError, AuthError):
    pass


class VkAdsRateLimited(VkAdsError):
    """The hour's or day's budget of a call is spent: the rest waits for the next run."""


_TOKENS: dict[tuple[str, str, str], dict[str, Any]] = {}
_TOKENS_LOCK = threading.Lock()


class VkAdsClient:
    def __init__(self, base_url: str, client_id: str, client_secret: str, *, timeout: float = 120.0,
                 attempts: int = 6, backoff: float = 0.5):
        self.base = base_url.rstrip("/")
        self.client_id, self._secret = client_id, client_secret
        self._key = (self.base, client_id, hashlib.sha256(client_secret.encode()).hexdigest())
        self.session = retrying_session(timeout=timeout, attempts=attempts, backoff=backoff, raise_for_status=False,
                                        status_codes=(), extra_conditions=[_retry])
        self._next_call_at = 0.0

    # --- tokens -------------------------------------------------------------------------------
    def _refused(self, response: requests.Response, what: str) -> VkAdsAuthError:
        try:
            body = response.json()
            answer = f"HTTP {response.status_code} {body.get('code', '')}: {body.get('message', '')}".strip()
        except ValueError:
            answer = f"HTTP {response.status_code}"
        check = f"{destination_setting_names('vk_ads', 'client_id', 'api_key')} (the API application's credentials)"
        return VkAdsAuthError(str(credentials_refused("VK Ads", f"{self.base}/api/v2/oauth2/token.json", answer,
                                                      who=what, check=check)))

    def _token_call(self, form: dict[str, str]) -> requests.Response:
        try:
            return self.session.post(f"{self.base}/api/v2/oauth2/token.json", data=form)
        except requests.RequestException as exc:
            raise DestinationError(f"VK Ads token: {type(exc).__name__} after retries") from None

    def _issue(self) -> dict[str, Any]:
        creds = {"client_id": self.client_id, "client_secret": self._secret}
        cached = _TOKENS.get(self._key)
        if cached and cached.get("refresh_token"):
            response = self._token_call({"grant_type": "refresh_token", "refresh_token": cached["refresh_token"], **creds})
            if response.status_code == 200:
                return response.json()
        response = self._token_call({"grant_type": "client_credentials", **creds})
        if response.status_code == 403:
            # At most 5 tokens per client and account, expired ones included: delete them, ask again.
            log.info("VK Ads: token limit reached for this client; deleting its tokens and asking again")
            self.session.post(f"{self.base}/api/v2/oauth2/token/delete.json", data=creds)
            response = self._token_call({"grant_type": "client_credentials", **creds})
        if response.status_code != 200:
            raise self._refused(response, "the client credentials")
        return response.json()

    def token(self, *, renew: bool = False) -> str:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._key)
            if renew or cached is None or cached["expires_at"] - REFRESH_MARGIN < time.time():
                answer = self._issue()
                cached = _TOKENS[self._key] = {
                    "access_token": answer["access_token"], "refresh_token": answer.get("refresh_token"),
                    "expires_at": time.time() + float(answer.get("expires_in") or 86400)}
            return cached["access_token"]

    # --- calls --------------------------------------------------------------------------------
    def _pace(self, response: requests.Response) -> None:
        if _spent(response, "RPS"):
            self._next_call_at = float(int(time.time()) + 1)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        name = f"{method} /{path}"
        extra = kwargs.pop("headers", {})
        for attempt in (1, 2):
            wait = self._next_call_at - time.time()
            if wait > 0:
                time.sleep(wait)
            headers = {**extra, "Authorization": f"Bearer {self.token(renew=attempt == 2)}"}
            try:
                response = self.session.request(method, f"{self.base}/{path}", headers=headers, **kwargs)
            except requests.RequestException as exc:
                raise DestinationError(f"VK Ads {name}: {type(exc).__name__} after retries") from None
            self._pace(response)
            if response.status_code == 401 and attempt == 1:
                continue  # expired or revoked token: one new token, one more try
            break
        if response.status_code == 401:
            raise self._refused(response, "the access token")
        if response.status_code == 403:
            raise VkAdsAuthError(f"VK Ads {name} answered HTTP 403: the account behind "
                                 f"{destination_setting_names('vk_ads', 'client_id')} may not do this (API access to "
                                 "remarketing lists is granted by VK Ads support)")
        if response.status_code == 429:
            window = lasting_limit(response) or "per-second"
            raise VkAdsRateLimited(name, 429, f"the {window} limit for this call is used up "
                                              f"({describe_error(_json(response)) or 'rate limited'}); the rest waits for the next run")
        return response

    def _ok(self, name: str, response: requests.Response) -> Any:
        if response.status_code >= 400:
            raise VkAdsError(name, response.status_code, describe_error(_json(response)))
        return _json(response) if response.content else None

    # --- users lists --------------------------------------------------------------------------
    def users_lists(self, name: str | None = None) -> Iterator[dict[str, Any]]:
        """Every list (diff uploads included), filtered by the API's name search when given."""
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": PAGE, "offset": offset}
            if name:
                params["_q"] = name[:255]
            page = self._ok(f"GET /{LISTS}.json", self.call("GET", f"{LISTS}.json", params=params)) or {}
            items = page.get("items") or []
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("count", offset)):
                return

    def users_list(self, list_id: int) -> dict[str, Any] | None:
        response = self.call("GET", f"{LISTS}/{int(list_id)}.json")
        if response.status_code == 404:
            return None
        return self._ok(f"GET /{LISTS}/<id>.json", response)

    def upload(self, name: str, kind: str, lines: Sequence[str], base: int = 0) -> dict[str, Any]:
        """A new list (`base=0`), or a diff adding to (`base=id`) or removing from (`base=-id`) a list.
        The answer's `error` lists lines the platform refused; the rest were taken."""
        form = {"name": name, "type": kind}
        if base:
            form["base"] = str(base)
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        response = self.call("POST", f"{LISTS}.json", data=form, files={"file": ("users.txt", payload, "text/plain")})
        return self._ok(f"POST /{LISTS}.json", response)

    def rename(self, list_id: int, name: str) -> None:
        self._ok(f"POST /{LISTS}/<id>.json", self.call("POST", f"{LISTS}/{int(list_id)}.json", json={"name": name}))

    def delete(self, list_id: int) -> bool:
        """True when deleted, False when it was already gone; 409 (in use) raises `VkAdsError`."""
        response = self.call("DELETE", f"{LISTS}/{int(list_id)}.json")
        if response.status_code == 404:
            return False
        self._ok(f"DELETE /{LISTS}/<id>.json", response)
        return True


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


__all__ = ["VkAdsAuthError", "VkAdsClient", "VkAdsError", "VkAdsRateLimited", "describe_error"]
