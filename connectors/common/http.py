"""One HTTP session factory so every connector retries the same way.

dlt's requests `Client` already retries 429/5xx and dropped connections with exponential backoff
and honours `Retry-After`; connectors add predicates for services that report overload inside an
HTTP 200 body (Unisender) or answer with a body that is not JSON.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.retry import DEFAULT_RETRY_STATUS

from cdp.destinations import destination as declared_destination
from cdp.systems import system as declared_system

RetryPredicate = Callable[[Optional[requests.Response], Optional[BaseException]], bool]


NOT_JSON = object()  # an answer's body that is not JSON, where a parsed body is expected
_PARSED = "_cdp_json"  # where `not_json` leaves the parsed body on the response, for `json_body`
# The shared retry schedule: exponential from this factor, no wait longer than the cap.
BACKOFF_SECONDS, MAX_RETRY_DELAY_SECONDS = 0.5, 20.0


def json_body(response: requests.Response) -> Any:
    """The response's JSON, parsed once: `not_json` (the retry check every answer passes) keeps what
    it parsed on the response and this returns it; otherwise orjson parses it here. `requests`'
    own `.json()` uses simplejson when installed (dlt brings it), several times slower than orjson:
    parsing each page twice that way was a fifth of an extract. Raises `ValueError` on a body that
    is not JSON, as `.json()` does."""
    cached = getattr(response, _PARSED, _PARSED)
    if cached is not _PARSED:
        return cached
    try:
        parsed = utf8_json(response.content)
    except orjson.JSONDecodeError:
        # JSON in another declared charset (`requests` decodes by the Content-Type), or not JSON:
        # then this raises as `.json()` does.
        parsed = requests.Response.json(response)
    setattr(response, _PARSED, parsed)
    return parsed


def utf8_json(content: bytes) -> Any:
    """UTF-8 JSON bytes parsed by orjson, a leading byte-order mark skipped; raises
    `orjson.JSONDecodeError` (a `ValueError`) on anything else."""
    return orjson.loads(_without_bom(content))


def _without_bom(content: bytes) -> bytes:
    """UTF-8 JSON after a byte-order mark, as some Windows servers send it: `requests`' `.json()`
    skips the mark, orjson refuses it."""
    return content[3:] if content[:3] == b"\xef\xbb\xbf" else content


def not_json(response: Optional[requests.Response], exception: Optional[BaseException]) -> bool:
    """A 200 that claims JSON but does not parse is a broken answer worth one more try."""
    if response is None or response.status_code != 200:
        return False
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    if not response.content:
        return False
    try:
        json_body(response)  # kept on the answer: the connector reads the same parse
    except ValueError:
        return True
    return False


def retrying_session(
    *,
    timeout: float = 30.0,
    attempts: int = 6,
    backoff: float = BACKOFF_SECONDS,
    max_delay: float = MAX_RETRY_DELAY_SECONDS,
    extra_conditions: Iterable[RetryPredicate] = (),
    raise_for_status: bool = True,
    status_codes: Sequence[int] = DEFAULT_RETRY_STATUS,
) -> requests.Session:
    """`status_codes=()` leaves every retry to `extra_conditions`: for services whose 429 can mean
    "a second" (retry) or "today's quota" (retrying is futile), told apart by the body or headers."""
    client = Client(
        request_timeout=timeout,
        request_max_attempts=attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=max_delay,
        respect_retry_after_header=True,
        retry_condition=[not_json, *extra_conditions],
        raise_for_status=raise_for_status,
        status_codes=status_codes,
    )
    return _json_parsed_once(_environment_read_once(client.session))


class _ParsedOnce(requests.Response):
    """An answer whose `.json()` is `json_body`: the one orjson parse, kept on the answer."""

    def json(self, **kwargs: Any) -> Any:
        return json_body(self)


def _json_parsed_once(session: requests.Session) -> requests.Session:
    """Every answer's `.json()` returns `json_body`'s single orjson parse. dlt's REST client reads a
    page with `.json()` (simplejson, several times slower) and a connector that checks the page's
    envelope read it again: three parses of every 1C and amoCRM page, about half of reading a 1C
    catalog at 100,000 people (0.47 of 1.03 s). Set on the answer after the retries, so the
    retry check's parse is the one kept; by its class, not a bound function on the instance, which
    would tie the answer to itself and keep a large body alive until the cycle collector runs."""
    send = session.send

    def sent(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = send(request, **kwargs)
        if type(response) is requests.Response:
            response.__class__ = _ParsedOnce
        return response

    session.send = sent  # type: ignore[method-assign]
    return session


def _environment_read_once(session: requests.Session) -> requests.Session:
    """`requests` reads the proxy and CA-bundle variables (a scan of the whole environment) for
    every request: a quarter of a RetailCRM cart read's 1.7 ms at 100,000 people, where the run
    asks for one cart at a time. The answer depends only on the host (NO_PROXY) and on the
    arguments, so it is kept per host for the session's life (one run); a variable changed while a
    run is going is seen by the next run."""
    merge = session.merge_environment_settings
    known: dict[tuple, dict[str, Any]] = {}

    def merged(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies or not isinstance(verify, (bool, type(None))) or cert is not None:
            return merge(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify)
        if key not in known:
            known[key] = merge(url, proxies, stream, verify, cert)
        found = known[key]
        return {**found, "proxies": dict(found["proxies"])}

    session.merge_environment_settings = merged  # type: ignore[method-assign]
    return session


@functools.cache
def compiled_path(selector: str) -> Any:
    """A `data_selector` for dlt's `paginate`, parsed once: given as text, dlt parses the JSONPath
    again for every page (jsonpath-ng's parser, 0.34 s of a 1C catalog's 360 pages at a million
    people)."""
    from dlt.common.jsonpath import compile_path

    return compile_path(selector)


class SourceError(RuntimeError):
    """An outside system answered in a way we cannot use; the message says which call and why."""


class AuthError(SourceError):
    """The service refused our credentials. Never retried (the next try would send the same
    secret); the message names the system, the address without secrets and what to check."""


# What each service answers a wrong or unauthorised secret with, over HTTP: 401 (wrong or missing
# credentials) and 403 (RetailCRM's wrong key, a key or user without the right).
AUTH_STATUSES = frozenset({401, 403})


def shown_url(url: str) -> str:
    """`scheme://host[:port]/path` with no user info, query or fragment: what an error may show
    (query strings carry keys and filter values; user info carries passwords)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def setting_names(system: str, *args: str) -> str:
    """The environment variables of a system's source arguments, as `cdp/systems.py` declares
    them (`ONEC_USER / ONEC_API_KEY`): the names an operator sets, in one place."""
    settings = declared_system(system).settings
    return " / ".join(settings[arg].env for arg in args)


def destination_setting_names(destination: str, *args: str) -> str:
    """The same for a destination's settings, as `cdp/destinations.py` declares them."""
    settings = declared_destination(destination).settings
    return " / ".join(settings[arg].env for arg in args)


def credentials_refused(title: str, url: str, answer: str, *, who: str, check: str) -> AuthError:
    """One line for a refused secret: `<System> at <url> refused <who> (<answer>): check <check>`.
    `answer` is the status and the service's own words; no argument may carry the secret."""
    return AuthError(f"{title} at {shown_url(url)} refused {who} ({answer}): check {check}")


def describe_http_error(system: str, error: requests.HTTPError, detail_keys: tuple[str, ...]) -> SourceError:
    """Turn a final (post-retry) HTTP error into one line naming the call, the status and the
    service's own explanation, without the query string (it may carry keys or e-mails)."""
    response = error.response
    if response is not None:
        try:
            body: Any = json_body(response)
        except ValueError:
            body = NOT_JSON
        path = response.request.path_url.split("?")[0] if response.request is not None else "?"
        return status_error(system, response.request.method if response.request else "", path,
                            response.status_code, body, detail_keys)
    return SourceError(f"{system}: {error}")


def status_error(system: str, method: str | None, path: str, status: int, body: Any,
                 detail_keys: tuple[str, ...]) -> SourceError:
    """The same line from its parts; `body` is the answer's JSON, or NOT_JSON."""
    if body is NOT_JSON:
        detail = "non-JSON answer"
    else:
        detail = " ".join(str(body[k]) for k in detail_keys if isinstance(body, dict) and body.get(k))
    return SourceError(f"{system} {method or ''} {path} answered HTTP {status} after retries: {detail}".strip())
