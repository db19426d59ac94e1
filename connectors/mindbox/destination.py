"""Mindbox as a destination: an audience is a static segmentation its customers are put into.

Mindbox has no fixed import endpoint: a project's manager creates operations (README.md lists the
three this client calls, with the default names in settings.py, each overridable). Per contact:

1. `import` operation: `{"customer": {email | mobilePhone, firstName..., "subscriptions":
   [{"pointOfContact": "Email"|"Sms", "isSubscribed": true, "valueByDefault": true}]}}`, the point of
   contact being the channel whose consent the engine checked. `valueByDefault: true` makes Mindbox
   apply the value only where the customer has no subscription state yet, so a customer who
   unsubscribed in Mindbox is never subscribed again by us. The answer's `customer.subscriptions`
   then says whether the customer is subscribed; one who is not comes back in `rejected` with that
   reason and is not put into the segment.
2. `segment` operation: `{"customer": {...}, "customerSegmentations": [{"segmentation": {"ids":
   {"externalId": S}}, "segment": {"ids": {"externalId": "in"}}}]}`; removal sends `"segment": null`.
   This is the "import of static segments" of Mindbox's help ("to take customers out of a
   segmentation, import them with no segment"), field names from the SDK's
   CustomerSegmentationResponseDTO.
3. `export` operation (read-back): `{"segmentation": ...}` answers an `exportId`; the same operation
   with `{"exportId"}` is polled until `exportResult.processingStatus` is "Ready", then the files at
   `exportResult.urls` are downloaded (`;`-separated CSV with `email` and `mobilePhone` columns).
   With no export operation configured `holding` answers None and `describe` no counts.

Why one sync call per contact and not the bulk CSV endpoint: `/v3/operations/bulk` exists, but its
CSV columns are defined per project and are not in public documentation, so a file we cannot
check against the docs could be silently misread. Sync calls answer per customer (validation
messages, subscription state), which is what the sync report needs. So up to `concurrency`
contacts (settings.CONCURRENT_CALLS) are in flight at once, on one pool of connections: a
real Mindbox answers over the network, and calls one after another spend the sync waiting. With
20 ms added to every answer (the emulator's slow_ms fault), 400 contacts took 17.4 s one by one
and 4.4 s four at a time. On loopback the emulator answers in about a millisecond and our side is
CPU-bound, so this does not shorten the benchmark's Mindbox sync (2,000 contacts: 4.0 s against
4.6 s). The client's 429 backoff (Retry-After honoured) keeps us inside the endpoint's limits.

Every write carries a fresh `transactionId` (kept across the session's retries of the same call),
so a call whose answer was lost is not applied twice. Phones travel as digits, as the SDK's
examples send them, and come back in the E.164 form the engine sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence, TypeVar

import requests

from connectors.common.destination import AddressType, Contact, DestinationError, Holding, ListRef, Outcome
from connectors.common.http import SourceError
from connectors.mindbox.client import MindboxClient, validation_text
from connectors.mindbox.settings import (
    BATCH, CONCURRENT_CALLS, CUSTOMER_FIELDS, DEFAULT_OPERATIONS, EXPORT_POLL_SECONDS, EXPORT_TIMEOUT_SECONDS,
    POINT_OF_CONTACT, SEGMENT_IN,
)

T = TypeVar("T")
R = TypeVar("R")


NOT_FOUND: list[dict[str, str]] = []  # the export's answer for a segmentation Mindbox does not know


class MindboxDestination:
    system = "mindbox"
    max_batch = BATCH
    min_audience = 0

    def __init__(self, base_url: str, api_key: str, endpoint_id: str, *, operation_import: str | None = None,
                 operation_segment: str | None = None, operation_export: str | None = None, brand: str | None = None,
                 auth_scheme: str = "SecretKey", timeout: float = 30.0, attempts: int = 6,
                 poll: Sequence[float] = EXPORT_POLL_SECONDS, export_timeout: float = EXPORT_TIMEOUT_SECONDS,
                 concurrency: int = CONCURRENT_CALLS):
        self.concurrency = max(1, int(concurrency))
        # One client for every thread: its pool keeps a connection per call in flight. A wrong auth
        # scheme fails here, not at a call.
        self.api = MindboxClient(base_url, endpoint_id, api_key, auth_scheme=auth_scheme, timeout=timeout,
                                 attempts=attempts, connections=self.concurrency)
        given = {"import": operation_import, "segment": operation_segment, "export": operation_export}
        self.operations = {k: (v if v is not None else DEFAULT_OPERATIONS[k]) for k, v in given.items()}
        self.brand = brand
        self.poll, self.export_timeout = tuple(poll), export_timeout

    def _each(self, call: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`call` on every item, up to `concurrency` at once, answers in the items' order. The first
        error stops the calls not yet started and is raised once those in flight are done, as the
        one-by-one loop raised it (so a refused key is not tried 500 times)."""
        if self.concurrency == 1 or len(items) <= 1:
            return [call(item) for item in items]
        stop = threading.Event()

        def guarded(item: T) -> R | None:
            if stop.is_set():
                return None
            try:
                return call(item)
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items)), thread_name_prefix="mindbox") as pool:
            futures = [pool.submit(guarded, item) for item in items]
        for future in futures:
            if future.exception() is not None:
                raise future.exception()
        return [future.result() for future in futures]

    def _call(self, kind: str, body: dict[str, Any], write: bool = True) -> dict[str, Any]:
        try:
            return self.api.call(self.operations[kind], body, str(uuid.uuid4()) if write else None)
        except SourceError as exc:
            raise DestinationError(str(exc)) from None

    # --- lists --------------------------------------------------------------------------------
    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        """The segmentation's external id is derived from the name and the address type, so the
        same audience always lands in the same segmentation; Mindbox segmentations are created in
        the admin (or by the first import naming them, as the project's operation is set up)."""
        if known is not None and known.id.startswith(f"cdp-{address_type}-"):
            return ListRef(known.id, name)
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
        return ListRef(f"cdp-{address_type}-{digest}", name)

    def holding(self, ref: ListRef) -> set[str] | None:
        rows = self._export(ref)
        if rows is None:
            return None
        if rows is NOT_FOUND:
            return set()
        column, ours = ("email", str.lower) if _kind(ref) == "email" else ("mobilePhone", _e164)
        return {ours(r[column].strip()) for r in rows if (r.get(column) or "").strip()}

    def describe(self, ref: ListRef) -> Holding:
        rows = self._export(ref)
        if rows is None:
            return Holding(exists=True, status="no read-back operation configured")
        if rows is NOT_FOUND:
            return Holding(exists=False, size=0, status="segmentation not found")
        return Holding(exists=True, size=len(rows), status="Ready")

    def _export(self, ref: ListRef) -> list[dict[str, str]] | None:
        if not self.operations["export"]:
            return None
        answer = self._call("export", {"segmentation": {"ids": {"externalId": ref.id}}}, write=False)
        if answer.get("status") == "ValidationError" and any(
                str(m.get("location", "")).startswith("/segmentation") for m in answer.get("validationMessages") or []):
            return NOT_FOUND  # nobody was ever put into it: Mindbox does not know it yet
        if answer.get("status") != "Success" or not answer.get("exportId"):
            raise DestinationError(f"Mindbox export of segmentation {ref.id} refused: {validation_text(answer)}")
        export_id, started, waits, delay = answer["exportId"], time.monotonic(), iter(self.poll), 0.0
        while True:
            result = (self._call("export", {"exportId": export_id}, write=False).get("exportResult") or {})
            if result.get("processingStatus") == "Ready":
                break
            if time.monotonic() - started > self.export_timeout:
                raise DestinationError(f"Mindbox export {export_id} not ready after {self.export_timeout:.0f} s")
            delay = next(waits, delay)
            time.sleep(delay)
        rows: list[dict[str, str]] = []
        for url in result.get("urls") or []:
            try:  # pre-signed file links: plain GET, never with our Authorization header
                response = requests.get(url, timeout=60)
                response.raise_for_status()
            except requests.RequestException as exc:
                raise DestinationError(f"Mindbox export {export_id}: file download failed ({type(exc).__name__})") from None
            rows += list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
        return rows

    # --- membership ---------------------------------------------------------------------------
    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if len(contacts) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} contacts per call; got {len(contacts)}")
        out = Outcome()
        for c, refused in zip(contacts, self._each(lambda c: self._put_in(ref, c), contacts)):
            if refused:
                out.rejected[c.identifier] = refused
            else:
                out.accepted.append(c.identifier)
        out.detail = f"{self.operations['import']} + {self.operations['segment']}: {len(out.accepted)} in, " \
                     f"{len(out.rejected)} rejected"
        return out

    def _put_in(self, ref: ListRef, c: Contact) -> str | None:
        """Import one customer and put them into the segment; the reason when Mindbox refuses."""
        point = POINT_OF_CONTACT[c.address_type]
        subscription = {"pointOfContact": point, "isSubscribed": True, "valueByDefault": True}
        if self.brand:
            subscription["brand"] = self.brand
        customer = {**_identity(c.identifier), **{CUSTOMER_FIELDS[k]: v for k, v in c.fields.items()
                                                  if k in CUSTOMER_FIELDS and v},
                    "subscriptions": [subscription]}
        answer = self._call("import", {"customer": customer})
        if answer.get("status") == "ValidationError":
            return validation_text(answer) or "ValidationError"
        held = [s for s in (answer.get("customer") or {}).get("subscriptions") or []
                if isinstance(s, dict) and s.get("pointOfContact") == point
                and (not self.brand or s.get("brand") in (None, self.brand))]
        if held and not all(s.get("isSubscribed") for s in held):
            return f"unsubscribed from {point} in Mindbox; not subscribed again and not put into the segment"
        answer = self._call("segment", _segment_body(c.identifier, ref, SEGMENT_IN))
        if answer.get("status") == "ValidationError":
            return validation_text(answer) or "ValidationError"
        return None

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        out = Outcome()
        answers = self._each(lambda i: self._call("segment", _segment_body(i, ref, None)), identifiers)
        for identifier, answer in zip(identifiers, answers):
            if answer.get("status") == "ValidationError":
                out.rejected[identifier] = validation_text(answer) or "ValidationError"
            else:
                out.accepted.append(identifier)
        out.detail = f"{self.operations['segment']} (no segment): {len(out.accepted)} out"
        return out

    def clear(self, ref: ListRef) -> Outcome:
        """Everyone the read-back finds is taken out; without a read-back operation there is no way
        to know who is in the segmentation, so this refuses rather than pretend."""
        held = self.holding(ref)
        if held is None:
            raise DestinationError(f"Mindbox segmentation {ref.id} cannot be emptied: set MINDBOX_OPERATION_EXPORT "
                                   "to an export operation so its members can be read and removed")
        return self.remove(ref, sorted(held))

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        raise NotImplementedError("Mindbox segment membership changes per customer; the engine removes and adds")


def _kind(ref: ListRef) -> str:
    return "phone" if ref.id.startswith("cdp-phone-") else "email"


def _identity(identifier: str) -> dict[str, str]:
    return {"mobilePhone": identifier.lstrip("+")} if identifier.startswith("+") else {"email": identifier}


def _e164(digits: str) -> str:
    return f"+{digits.lstrip('+')}"


def _segment_body(identifier: str, ref: ListRef, segment: str | None) -> dict[str, Any]:
    return {"customer": _identity(identifier), "customerSegmentations": [{
        "segmentation": {"ids": {"externalId": ref.id}},
        "segment": {"ids": {"externalId": segment}} if segment else None,
    }]}


__all__ = ["MindboxDestination"]
