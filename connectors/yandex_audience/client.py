"""Yandex Audience management API (`/v1/management/`): CRM segments from files.

Only what an audience sync needs: upload a CSV and confirm it as a hashed CRM segment, change its
data later with `modify_data`, list segments to read status and counts back, rename, delete.

Retries: a 503 (`backend_error`) and a 429 for the per-second quota are retried with backoff.
A 429 for the segment-change quota per minute (10) waits out the minute once and tries again, since
a sync of several audiences can reach it. A 429 whose body names a quota that lasts (requests per day
for the user, segment changes per hour or day) is not retried: the next try within this run would be
refused the same way, so the error says which quota and the sync carries the change to the next run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import requests

from connectors.common.destination import DestinationError
from connectors.common.http import (
    AUTH_STATUSES,
    AuthError,
    credentials_refused,
    destination_setting_names,
    retrying_session,
    shown_url,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api-audience.yandex.ru"
# Quotas that do not pass within a retry's wait (the 429 body names them).
LASTING_QUOTAS = ("per day", "per hour", "per minute", "user_login", "сутки", "час", "минут")
MINUTE_QUOTAS = ("per minute", "минут")


def _errors(response: requests.Response) -> tuple[str, str]:
    """(error_type, message) of Yandex's error body, or ("", short text)."""
    try:
        body = response.json()
    except ValueError:
        return "", "non-JSON answer"
    if isinstance(body, dict):
        errors = body.get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        return str(first.get("error_type", "")), str(first.get("message") or body.get("message") or "")
    return "", ""


def lasting_quota(response: requests.Response) -> bool:
    _, message = _errors(response)
    return any(word in message for word in LASTING_QUOTAS)


def _retry(response: requests.Response | None, exception: BaseException | None) -> bool:
    if response is None:
        return False  # dropped connections are retried by the session's own exception rule
    if response.status_code == 429:
        return not lasting_quota(response)
    return response.status_code >= 500


class YandexAudienceError(DestinationError):
    def __init__(self, call: str, status: int, error_type: str, message: str):
        super().__init__(f"Yandex Audience {call} answered HTTP {status}"
                         + (f" {error_type}" if error_type else "") + (f": {message}" if message else ""))
        self.status, self.error_type = status, error_type


class YandexAudienceAuthError(DestinationError, AuthError):
    pass


class YandexAudienceClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 60.0, attempts: int = 6, backoff: float = 0.5,
                 minute_wait: float = 61.0):
        self.minute_wait = minute_wait
        self.base = f"{base_url.rstrip('/')}/v1/management"
        self.session = retrying_session(timeout=timeout, attempts=attempts, backoff=backoff, raise_for_status=False,
                                        status_codes=(), extra_conditions=[_retry])
        self.session.headers["Authorization"] = f"OAuth {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base}/{path}"
        name = f"{method} {path.split('?')[0]}"
        try:
            response = self.session.request(method, url, **kwargs)
            if response.status_code == 429 and any(w in _errors(response)[1] for w in MINUTE_QUOTAS):
                log.info("Yandex Audience %s: the per-minute segment quota is spent; waiting %.0f s", name, self.minute_wait)
                time.sleep(self.minute_wait)
                response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise DestinationError(f"Yandex Audience {name}: {type(exc).__name__} after retries") from None
        if response.status_code in AUTH_STATUSES:
            error_type, message = _errors(response)
            check = (f"{destination_setting_names('yandex_audience', 'api_key')} (an OAuth token of the Yandex "
                     "account that owns the segments, with the audience scope)")
            refused = credentials_refused("Yandex Audience", url, f"HTTP {response.status_code} {error_type}: {message}".strip(),
                                          who="the OAuth token", check=check)
            raise YandexAudienceAuthError(str(refused))
        if response.status_code >= 400:
            error_type, message = _errors(response)
            raise YandexAudienceError(name, response.status_code, error_type, message)
        try:
            return response.json()
        except ValueError:
            raise DestinationError(f"Yandex Audience {name}: answer is not JSON (HTTP {response.status_code}) "
                                   f"from {shown_url(url)}") from None

    # --- segments ---------------------------------------------------------------------------
    def segments(self) -> list[dict[str, Any]]:
        return self.call("GET", "segments").get("segments", [])

    def segment(self, segment_id: int) -> dict[str, Any] | None:
        """One segment as the list reports it (the API has no single-segment read); None if gone."""
        return next((s for s in self.segments() if int(s.get("id", -1)) == int(segment_id)), None)

    def upload_csv(self, csv_bytes: bytes) -> dict[str, Any]:
        return self.call("POST", "segments/upload_csv_file",
                         files={"file": ("audience.csv", csv_bytes, "text/csv")})["segment"]

    def confirm(self, segment_id: int, name: str, *, hashing_alg: str = "SHA256", check_size: bool = True) -> dict[str, Any]:
        body = {"segment": {"id": int(segment_id), "name": name, "hashed": True, "hashing_alg": hashing_alg,
                            "content_type": "crm"}}
        return self.call("POST", f"segment/{int(segment_id)}/confirm", params={"check_size": str(check_size).lower()},
                         data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                         headers={"Content-Type": "application/json"})["segment"]

    def modify(self, segment_id: int, modification: str, csv_bytes: bytes, *, check_size: bool = False) -> dict[str, Any]:
        return self.call("POST", f"segment/{int(segment_id)}/modify_data",
                         params={"modification_type": modification, "check_size": str(check_size).lower()},
                         files={"file": ("audience.csv", csv_bytes, "text/csv")})["segment"]

    def rename(self, segment_id: int, name: str) -> dict[str, Any]:
        return self.call("PUT", f"segment/{int(segment_id)}",
                         data=json.dumps({"segment": {"name": name}}, ensure_ascii=False).encode("utf-8"),
                         headers={"Content-Type": "application/json"})["segment"]

    def delete(self, segment_id: int) -> bool:
        return bool(self.call("DELETE", f"segment/{int(segment_id)}").get("success"))


def csv_file(column: str, values: Sequence[str]) -> bytes:
    """A one-column CSV with its header row (`email` or `phone`), one hashed value per line."""
    return ("\n".join([column, *values]) + "\n").encode("utf-8")


__all__ = ["YandexAudienceAuthError", "YandexAudienceClient", "YandexAudienceError", "csv_file"]
