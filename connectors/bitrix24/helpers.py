"""HTTP, paging and answer parsing for Bitrix24's incoming-webhook REST API.

Hand-written rather than a `RESTAPIConfig`: the secret (the webhook code) sits in the URL path,
and dlt's `RESTClient` logs every request URL, so the code would land in logs. Here the URL is
only ever sent, and errors name the method, never the URL. Retries come from the shared session:
`QUERY_LIMIT_EXCEEDED` is an HTTP 503 with a JSON body and no Retry-After, so the exponential
backoff gives the leaky bucket time to drain; 5xx, dropped connections and broken JSON likewise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import urlencode

import requests

from connectors.common.http import (
    AuthError, SourceError, credentials_refused, retrying_session, setting_names, shown_url,
)
from connectors.bitrix24.settings import BATCH_MAX_COMMANDS, BATCH_PAGES, PAGE_SIZE, WEBHOOK_USER_ID

_WEBHOOK = re.compile(r"^(?P<root>.*?)/rest/(?P<user>\d+)(?:/(?P<code>[^/]+))?/?$")


def webhook_url(base_url: str, webhook_code: str | None, user_id: int = WEBHOOK_USER_ID) -> str:
    """The webhook root `https://portal/rest/<user>/<code>/` from what configuration gives.

    Accepted: the portal address plus the code (`https://portal.bitrix24.ru` + `abc123`, user id
    from `user_id`); the address with the user (`https://portal.bitrix24.ru/rest/7` + code); or the
    whole webhook URL Bitrix24 shows (`https://portal.bitrix24.ru/rest/7/abc123/`) with the code
    empty or equal to the one in it.
    """
    base = base_url.strip().rstrip("/")
    code = (webhook_code or "").strip()
    match = _WEBHOOK.match(base)
    if match and match["code"]:
        if code and code != match["code"]:
            raise ValueError("Bitrix24: the base URL is a full webhook URL with a different code than the one given")
        return f"{base}/"
    if not code:
        raise ValueError("Bitrix24: no webhook code given (the secret part of the incoming-webhook URL)")
    if match:
        return f"{base}/{code}/"
    return f"{base}/rest/{int(user_id)}/{code}/"


def carries_webhook_code(base_url: str) -> bool:
    """Whether a base URL is the whole webhook URL, secret code included."""
    match = _WEBHOOK.match((base_url or "").strip().rstrip("/"))
    return bool(match and match["code"])


def shown_root(root: str) -> str:
    """The webhook root as an error may show it: the code replaced by `…`."""
    match = _WEBHOOK.match(root.rstrip("/"))
    return shown_url(f"{match['root']}/rest/{match['user']}/…/" if match else root)


class Bitrix24Error(SourceError):
    """Bitrix24 refused a call; carries its `error` code (may be empty) and description."""

    def __init__(self, method: str, status: int | None, code: str, description: str):
        hint = ""
        if code == "QUERY_LIMIT_EXCEEDED":
            hint = " (the portal's request limit stayed exhausted through every retry)"
        where = f"HTTP {status} " if status is not None else ""
        super().__init__(f"Bitrix24 {method} answered {where}{code or '(no code)'}: {description}{hint}")
        self.method, self.status, self.code, self.description = method, status, code, description


# Wrong, expired or missing webhook code; and a webhook without the right (scope or user rights).
CREDENTIAL_CODES = {"NO_AUTH_FOUND", "INVALID_CREDENTIALS", "expired_token", "invalid_token", "WRONG_AUTH_TYPE"}
RIGHTS_CODES = {"insufficient_scope", "ACCESS_DENIED"}


class Bitrix24AuthError(Bitrix24Error, AuthError):
    """The portal refused the webhook: says where, and which setting or right to check."""

    def __init__(self, method: str, status: int | None, code: str, description: str, root: str):
        if code in RIGHTS_CODES:
            check = ("that the webhook has the crm scope and its user may read CRM contacts and deals "
                     "(Developer resources > Other > Incoming webhook)")
        else:
            check = (f"{setting_names('bitrix24', 'api_key')} (the webhook's code) and "
                     f"{setting_names('bitrix24', 'base_url')} (the portal and the webhook's user id)")
        head = " ".join(p for p in (f"HTTP {status}" if status is not None else "", code) if p)
        refused = credentials_refused("Bitrix24", shown_root(root), f"{head}: {description}" if description else head,
                                      who=f"the incoming webhook on {method}", check=check)
        SourceError.__init__(self, str(refused))
        self.method, self.status, self.code, self.description = method, status, code, description


def bitrix24_error(method: str, status: int | None, code: str, description: str, root: str) -> Bitrix24Error:
    if code in CREDENTIAL_CODES or code in RIGHTS_CODES or status == 401:
        return Bitrix24AuthError(method, status, code, description, root)
    return Bitrix24Error(method, status, code, description)


def php_pairs(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """`{"filter": {">DATE_MODIFY": t}, "select": ["ID"]}` -> `[("filter[>DATE_MODIFY]", t), ("select[]", "ID")]`."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += php_pairs(value, name)
        elif isinstance(value, (list, tuple)):
            pairs += [(f"{name}[]", str(v)) for v in value]
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


@dataclass
class BatchAnswer:
    """A `batch` answer with PHP's lists turned back into maps keyed by command name."""

    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    nexts: dict[str, Any] = field(default_factory=dict)


def _as_map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):  # PHP writes an empty or 0..n-keyed array as a JSON list
        return {str(i): v for i, v in enumerate(value)}
    return {}


def parse_batch(body: Any) -> BatchAnswer:
    inner = body.get("result") if isinstance(body, dict) else None
    if not isinstance(inner, dict) or "result" not in inner:
        raise SourceError("Bitrix24 batch: the answer has no result.result block")
    return BatchAnswer(_as_map(inner.get("result")), _as_map(inner.get("result_error")),
                       _as_map(inner.get("result_total")), _as_map(inner.get("result_next")))


def batch_errors_message(answer: BatchAnswer) -> str:
    return "; ".join(f"{name}: {e.get('error') or '(no code)'} {e.get('error_description', '')}".strip()
                     for name, e in answer.errors.items() if isinstance(e, dict))


def page_records(result: Any, where: str) -> list[Any]:
    """The rows of one list answer: a plain list (`crm.contact.list`) or `{"items": [...]}`
    (`crm.item.list`, `crm.stagehistory.list`)."""
    if isinstance(result, list):
        return result
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        return result["items"]
    raise SourceError(f"Bitrix24 {where}: the result is neither a list nor an items block")


class Bitrix24Client:
    def __init__(self, base_url: str, webhook_code: str | None, *, user_id: int = WEBHOOK_USER_ID,
                 batch_pages: int = BATCH_PAGES, attempts: int = 6, timeout: float = 30.0):
        self._root = webhook_url(base_url, webhook_code, user_id)
        self.batch_pages = max(0, min(int(batch_pages), BATCH_MAX_COMMANDS))
        self.session = retrying_session(timeout=timeout, attempts=attempts, raise_for_status=False)

    def call(self, method: str, params: dict[str, Any] | None = None, *, post: bool = False,
             form: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """One REST call; returns the whole answer (`result`, `next`, `total`, `time`)."""
        url = f"{self._root}{method}.json"
        pairs = php_pairs(params or {})
        try:
            if post:
                response = self.session.post(url, data=pairs + (form or []))
            else:
                response = self.session.get(url, params=pairs)
        except requests.RequestException as exc:  # its text would carry the URL, i.e. the secret
            raise SourceError(f"Bitrix24 {method}: {type(exc).__name__} after retries") from None
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"Bitrix24 {method}: answer is not JSON (HTTP {response.status_code})") from None
        if not isinstance(body, dict):
            raise SourceError(f"Bitrix24 {method}: answer is not a JSON object (HTTP {response.status_code})")
        if response.status_code != 200 or ("error" in body and "result" not in body):
            raise bitrix24_error(method, response.status_code, str(body.get("error") or ""),
                                 str(body.get("error_description") or ""), self._root)
        return body

    def list_pages(self, method: str, params: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
        """Yield (position, rows) for every page of a list method.

        The first page comes from a plain call and tells `total`; the remaining offsets are
        fetched `batch_pages` at a time through `batch` (one request each against the limit).
        Whatever appeared after `total` was counted is followed through `next`.
        """
        body = self.call(method, {**params, "start": 0})
        yield f"{method} start=0", page_records(body.get("result"), f"{method} start=0")
        following = body.get("next")
        if following is None:
            return
        total = int(body.get("total") or 0)
        if self.batch_pages:
            offsets = list(range(int(following), total, PAGE_SIZE))
            for i in range(0, len(offsets), self.batch_pages):
                chunk = offsets[i:i + self.batch_pages]
                answer = self._batch_pages(method, params, chunk)
                for start in chunk:
                    where = f"{method} start={start}"
                    yield where, page_records(answer.results.get(f"p{start}", []), where)
                following = answer.nexts.get(f"p{chunk[-1]}")
                if following is None:
                    return
        while following is not None:
            body = self.call(method, {**params, "start": following})
            where = f"{method} start={following}"
            yield where, page_records(body.get("result"), where)
            following = body.get("next")

    def _batch_pages(self, method: str, params: dict[str, Any], offsets: Iterable[int]):
        # Each command is itself a query string, URL-encoded once more as a form value.
        form = [("halt", "1")] + [(f"cmd[p{start}]", f"{method}?{urlencode(php_pairs({**params, 'start': start}))}")
                                  for start in offsets]
        answer = parse_batch(self.call("batch", post=True, form=form))
        if answer.errors:
            codes = {str(e.get("error") or "") for e in answer.errors.values() if isinstance(e, dict)}
            refused = sorted(codes & (CREDENTIAL_CODES | RIGHTS_CODES))
            raise bitrix24_error(f"batch of {method}", 200, refused[0] if refused else "BATCH_COMMAND_FAILED",
                                 batch_errors_message(answer), self._root)
        return answer
