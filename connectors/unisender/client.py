"""Unisender API client used in both directions: exports and campaign statistics for the source,
lists and imports for activation.

Calls are POSTed form-encoded (the key stays out of URLs and logs); errors arrive as
`{"error", "code"}` inside HTTP 200, so the envelope is checked on every answer and the
overload codes are retried like a 429.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Optional

import requests

from connectors.common.http import (
    AUTH_STATUSES, AuthError, SourceError, credentials_refused, json_body, retrying_session, setting_names,
)
from connectors.unisender.settings import CAMPAIGNS_PAGE, EXPORT_FIELDS, IMPORT_BATCH, RETRYABLE_CODES, TIME_FORMAT


def _overloaded(response: Optional[requests.Response], exception: Optional[BaseException]) -> bool:
    if response is None or response.status_code != 200:
        return False
    try:
        body = json_body(response)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") in RETRYABLE_CODES


_CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def parse_utc(text: Any) -> datetime | None:
    """Unisender's `YYYY-MM-DD hh:mm:ss` (documented as UTC) as an aware datetime; None if it is not one.
    The usual zero-padded text goes through `fromisoformat` (strptime was most of the connector's
    own time per delivery row); anything else through strptime, which decides as before."""
    text = str(text)
    if _CANONICAL_TIME.fullmatch(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        except ValueError:
            return None  # 2024-02-30 and the like: strptime refuses them too
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def format_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


class UnisenderError(SourceError):
    def __init__(self, method: str, code: str, message: str):
        super().__init__(f"Unisender {method} failed: {code}: {message}")
        self.code = code


# Codes of a refused key: wrong or deleted (`invalid_api_key`); or the key may not call the method,
# the account is blocked or the caller's IP is not in the key's allowed list (`access_denied`).
AUTH_CODES = {"invalid_api_key", "access_denied"}


class UnisenderAuthError(UnisenderError, AuthError):
    def __init__(self, method: str, code: str, message: str, url: str):
        UnisenderError.__init__(self, method, code, message)
        check = f"{setting_names('unisender', 'api_key')} (Settings > Integrations and API)"
        if code == "access_denied":
            check += f", that the key may call {method} and that this machine's IP is allowed for it"
        refused = credentials_refused("Unisender", url, f"{code}: {message}" if message else code,
                                      who="the API key", check=check)
        SourceError.__init__(self, str(refused))


class UnisenderClient:
    def __init__(self, base_url: str, api_key: str, lang: str = "ru", timeout: float = 30.0, attempts: int = 6):
        self.base = f"{base_url.rstrip('/')}/{lang}/api"
        self.api_key = api_key
        self.session = retrying_session(timeout=timeout, attempts=attempts, extra_conditions=[_overloaded])

    def call(self, method: str, params: dict[str, Any] | Iterable[tuple[str, Any]] = ()) -> Any:
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        try:
            response = self.session.post(f"{self.base}/{method}", params={"format": "json"},
                                         data=[("api_key", self.api_key), *pairs])
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            if status in AUTH_STATUSES:
                raise UnisenderAuthError(method, f"HTTP {status}", "", f"{self.base}/{method}") from None
            raise SourceError(f"Unisender {method}: HTTP {status} after retries") from None
        try:
            body = json_body(response)
        except ValueError:
            raise SourceError(f"Unisender {method}: answer is not JSON (HTTP {response.status_code})") from None
        if isinstance(body, dict) and body.get("error"):
            if body.get("code") in AUTH_CODES:
                raise UnisenderAuthError(method, body["code"], str(body["error"]), f"{self.base}/{method}")
            raise UnisenderError(method, body.get("code", "unspecified"), body["error"])
        return body.get("result") if isinstance(body, dict) else body

    # --- lists and contacts (activation) ------------------------------------------------------
    def get_lists(self) -> list[dict[str, Any]]:
        return self.call("getLists")

    def ensure_list(self, title: str) -> int:
        """The list id for a title, creating the list once. Titles are the stable handle we keep."""
        for item in self.get_lists():
            if item["title"] == title:
                return int(item["id"])
        return int(self.call("createList", {"title": title})["id"])

    def import_contacts(self, list_id: int, rows: list[dict[str, str]]) -> dict[str, Any]:
        """Add contacts to a list, at most 500 rows per call. Never sets `email_status`: an import
        must not re-subscribe anyone; only the person can undo an unsubscribe."""
        if len(rows) > IMPORT_BATCH:
            raise ValueError(f"importContacts takes at most {IMPORT_BATCH} rows, got {len(rows)}")
        names = ["email", "email_list_ids", *sorted({k for r in rows for k in r} - {"email"})]
        params: list[tuple[str, Any]] = [(f"field_names[{i}]", n) for i, n in enumerate(names)]
        for r, row in enumerate(rows):
            values = {**row, "email_list_ids": str(list_id)}
            params += [(f"data[{r}][{c}]", values.get(n, "")) for c, n in enumerate(names)]
        params += [("overwrite_tags", 0), ("overwrite_lists", 0)]
        return self.call("importContacts", params)

    def exclude(self, list_id: int, email: str) -> None:
        """Take a contact out of one list without unsubscribing them (a segment exit)."""
        try:
            self.call("exclude", {"contact_type": "email", "contact": email, "list_ids": str(list_id)})
        except UnisenderError as exc:
            if "not found" not in str(exc):
                raise

    # --- export (source) -----------------------------------------------------------------------
    def export_contacts(self, list_id: int | None = None, poll_seconds: float = 0.5,
                        max_wait: float = 600) -> Iterator[dict[str, str]]:
        """The export's rows, read from the downloaded file as they are asked for: a million
        contacts made into dicts at once are over a gigabyte of Python objects, and a reader that
        takes a chunk at a time holds one chunk (the file's text stays until the last row)."""
        params: list[tuple[str, Any]] = [(f"field_names[{i}]", f) for i, f in enumerate(EXPORT_FIELDS)]
        if list_id is not None:
            params.append(("list_id", list_id))
        task = self.call("async/exportContacts", params)["task_uuid"]
        deadline = time.monotonic() + max_wait
        while True:
            result = self.call("async/getTaskResult", {"task_uuid": task})
            if result.get("status") == "completed":
                break
            if time.monotonic() > deadline:
                raise SourceError(f"Unisender export task {task} not completed after {max_wait}s")
            time.sleep(poll_seconds)
        response = self.session.get(result["file_to_download"])
        response.raise_for_status()
        return csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))


    # --- campaign statistics (source) ------------------------------------------------------------
    def get_campaigns(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Campaigns started at or after `since` (all when None), paged with limit/offset. The order
        of the list is not documented, so a campaign seen on an earlier page is not yielded twice."""
        seen: set[Any] = set()
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": CAMPAIGNS_PAGE, "offset": offset}
            if since is not None:
                params["from"] = format_utc(since)
            page = self.call("getCampaigns", params)
            if not isinstance(page, list):
                raise SourceError(f"Unisender getCampaigns: result is {type(page).__name__}, not a list")
            for campaign in page:
                key = campaign.get("id") if isinstance(campaign, dict) else repr(campaign)
                if key not in seen:
                    seen.add(key)
                    yield campaign
            if len(page) < CAMPAIGNS_PAGE:
                return
            offset += len(page)

    def get_campaign_common_stats(self, campaign_id: int) -> dict[str, Any]:
        return self.call("getCampaignCommonStats", {"campaign_id": campaign_id})

    def _table(self, method: str, params: dict[str, Any]) -> tuple[list[str], list[Any]]:
        result = self.call(method, params)
        if not isinstance(result, dict) or not isinstance(result.get("fields"), list) or not isinstance(result.get("data"), list):
            raise SourceError(f"Unisender {method}: result is not {{fields, data}}")
        return result["fields"], result["data"]

    def get_delivery_stats(self, campaign_id: int, changed_since: datetime | None = None) -> tuple[list[str], list[Any]]:
        """(fields, rows) of per-address delivery results; `changed_since` is inclusive."""
        params: dict[str, Any] = {"campaign_id": campaign_id}
        if changed_since is not None:
            params["changed_since"] = format_utc(changed_since)
        return self._table("getCampaignDeliveryStats", params)

    def get_visited_links(self, campaign_id: int) -> tuple[list[str], list[Any]]:
        """(fields, rows): one row per address and link, with the visit count (`group=1`)."""
        return self._table("getVisitedLinks", {"campaign_id": campaign_id, "group": 1})


__all__ = ["UnisenderClient", "UnisenderError", "UnisenderAuthError", "parse_utc", "format_utc"]
