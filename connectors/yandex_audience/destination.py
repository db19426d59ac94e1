"""Yandex Audience as a destination: one CRM segment per audience, SHA-256 hashes only.

Why it works this way (the docs' rules, ../shared/specs/destinations.md §4, and README.md here):
- A segment cannot exist empty: it is born from a file (`upload_csv_file` → `confirm`). So
  `ensure_list` finds the segment by the ref the engine kept, else by name, and otherwise answers a
  ref with an empty id; the first `add` (or `replace`) creates the segment, and every later call
  resolves an empty-id ref by name. Creating is refused here, before anything is uploaded, under the
  100-record minimum (`AudienceTooSmall`).
- The segment id is reused for every change (`modify_data`): creating and changing segments share
  a small quota (10 a minute, 100 an hour, 500 a day).
- Files always have the columns `email,phone` (each row fills one), because `modify_data` must keep
  the first upload's structure and an audience may carry both kinds.
- Removals are `subtraction` with `check_size=false`: withdrawn contacts leave even when the rest of
  the segment falls under 100 (Direct then stops using the segment until it has 100 again, which is
  what an under-minimum audience should get). Each removed hash is put in both columns, since a
  removal only has the hash and not whether it was an e-mail or a phone.
- `clear` deletes the segment: a file needs records, so a segment cannot be emptied in place.
- Yandex does not list a segment's members: `holding` is None; `describe` gives its counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from connectors.common.destination import (
    AddressType,
    AudienceTooSmall,
    Contact,
    DestinationError,
    Holding,
    ListRef,
    Outcome,
)
from connectors.common.hashing import not_hashes
from connectors.yandex_audience.client import YandexAudienceClient, YandexAudienceError

log = logging.getLogger(__name__)

PLATFORM = "Yandex Audience"
UI_URL = "https://audience.yandex.ru/"
PROCESSING = ("uploaded", "is_processed", "is_updated")
COLUMNS = ("email", "phone")
FIRST_POLL_SECONDS = 0.25  # the first wait for processing; doubled up to poll_interval (_wait)


def segment_file(contacts: Sequence[Contact]) -> bytes:
    lines = ["email,phone"]
    lines += [f"{c.identifier}," if c.address_type == "email" else f",{c.identifier}" for c in contacts]
    return ("\n".join(lines) + "\n").encode("utf-8")


def removal_file(identifiers: Sequence[str]) -> bytes:
    return ("\n".join(["email,phone", *(f"{h},{h}" for h in identifiers)]) + "\n").encode("utf-8")


class YandexAudienceDestination:
    system = "yandex_audience"
    max_batch = 1_000_000  # a file may be 1 GB; a million SHA-256 lines is about 66 MB
    min_audience = 100

    def __init__(self, base_url: str, api_key: str, *, poll_interval: float = 5.0, poll_timeout: float = 30.0,
                 attempts: int = 6, backoff: float = 0.5, minute_wait: float = 61.0):
        self.client = YandexAudienceClient(base_url, api_key, attempts=attempts, backoff=backoff, minute_wait=minute_wait)
        self.poll_interval, self.poll_timeout = poll_interval, poll_timeout
        self._created: dict[str, int] = {}  # name -> segment id made by this instance

    # --- finding the segment ------------------------------------------------------------------
    def _by_name(self, name: str) -> dict | None:
        found = [s for s in self.client.segments() if s.get("name") == name and s.get("type", "uploading") == "uploading"]
        return max(found, key=lambda s: int(s["id"])) if found else None

    def _segment_id(self, ref: ListRef) -> int | None:
        if ref.id:
            return int(ref.id)
        if ref.name in self._created:
            return self._created[ref.name]
        found = self._by_name(ref.name)
        return int(found["id"]) if found else None

    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        if known is not None and known.id:
            segment = self.client.segment(int(known.id))
            if segment is not None:
                if segment.get("name") != name:
                    self.client.rename(int(known.id), name)
                return ListRef(str(segment["id"]), name)
        found = self._by_name(name)
        if found is not None:
            return ListRef(str(found["id"]), name)
        return ListRef("", name)  # created by the first upload

    # --- reading back ---------------------------------------------------------------------------
    def holding(self, ref: ListRef) -> set[str] | None:
        return None

    def describe(self, ref: ListRef) -> Holding:
        segment_id = self._segment_id(ref)
        segment = self.client.segment(segment_id) if segment_id is not None else None
        if segment is None:
            return Holding(exists=False, url=UI_URL)
        return Holding(exists=True, size=segment.get("item_quantity"), matched=segment.get("matched_quantity"),
                       status=str(segment.get("status", "")), url=UI_URL)

    def _wait(self, segment_id: int) -> dict:
        """Poll until processing ends or `poll_timeout` passes (Yandex may take up to two hours; the
        status is then reported as it stands and read again by the next describe). The waits
        start at FIRST_POLL_SECONDS and double up to `poll_interval`: a small segment is often
        processed within a second, and a flat 5 s before the first look again was 10 of the 16 s
        of activation in a run with a 1 % change at 100,000 people (two segments). A slow one
        costs a few more reads of one segment, far inside the API's request limits."""
        deadline = time.monotonic() + self.poll_timeout
        delay = min(FIRST_POLL_SECONDS, self.poll_interval)
        while True:
            segment = self.client.segment(segment_id) or {}
            if segment.get("status") not in PROCESSING or time.monotonic() >= deadline:
                return segment
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, self.poll_interval)

    @staticmethod
    def _detail(action: str, segment: dict) -> str:
        return (f"segment {segment.get('id')} {action}: status {segment.get('status')}, "
                f"{segment.get('item_quantity')} records, {segment.get('valid_unique_quantity')} valid, "
                f"{segment.get('matched_quantity')} matched")

    # --- changes --------------------------------------------------------------------------------
    @staticmethod
    def _check(identifiers: Sequence[str]) -> None:
        bad = not_hashes("sha256", identifiers)
        if bad:
            raise DestinationError(f"{PLATFORM} takes SHA-256 hashes only: {bad} of {len(identifiers)} identifiers "
                                   "are not lower-case SHA-256 hex, so nothing was uploaded")

    def _create(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if len(contacts) < self.min_audience:
            raise AudienceTooSmall(PLATFORM, self.min_audience, len(contacts))
        draft = self.client.upload_csv(segment_file(contacts))
        segment_id = int(draft["id"])
        self.client.confirm(segment_id, ref.name, check_size=True)
        self._created[ref.name] = segment_id
        log.info("%s: segment %s created from %d records", PLATFORM, segment_id, len(contacts))
        return Outcome(accepted=[c.identifier for c in contacts], detail=self._detail("created", self._wait(segment_id)))

    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if not contacts:
            return Outcome(detail="nothing to add")
        self._check([c.identifier for c in contacts])
        segment_id = self._segment_id(ref)
        if segment_id is None:
            return self._create(ref, contacts)
        self.client.modify(segment_id, "addition", segment_file(contacts), check_size=False)
        log.info("%s: segment %s, %d records added", PLATFORM, segment_id, len(contacts))
        return Outcome(accepted=[c.identifier for c in contacts], detail=self._detail("added to", self._wait(segment_id)))

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        if not identifiers:
            return Outcome(detail="nothing to remove")
        self._check(identifiers)
        segment_id = self._segment_id(ref)
        if segment_id is None:
            return Outcome(accepted=list(identifiers), detail="no segment on Yandex Audience: nothing to remove")
        try:
            self.client.modify(segment_id, "subtraction", removal_file(identifiers), check_size=False)
        except YandexAudienceError as exc:
            if exc.status != 404:
                raise
            return Outcome(accepted=list(identifiers), detail=f"segment {segment_id} is gone: nothing to remove")
        log.info("%s: segment %s, %d records subtracted", PLATFORM, segment_id, len(identifiers))
        return Outcome(accepted=list(identifiers), detail=self._detail("subtracted from", self._wait(segment_id)))

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if len(contacts) < self.min_audience:
            raise AudienceTooSmall(PLATFORM, self.min_audience, len(contacts))
        self._check([c.identifier for c in contacts])
        segment_id = self._segment_id(ref)
        if segment_id is None:
            return self._create(ref, contacts)
        self.client.modify(segment_id, "replace", segment_file(contacts), check_size=True)
        log.info("%s: segment %s replaced by %d records", PLATFORM, segment_id, len(contacts))
        return Outcome(accepted=[c.identifier for c in contacts], detail=self._detail("replaced", self._wait(segment_id)))

    def clear(self, ref: ListRef) -> Outcome:
        segment_id = self._segment_id(ref)
        if segment_id is None or self.client.segment(segment_id) is None:
            return Outcome(detail="no segment on Yandex Audience: nothing to clear")
        self.client.delete(segment_id)
        self._created.pop(ref.name, None)
        log.info("%s: segment %s deleted", PLATFORM, segment_id)
        return Outcome(detail=f"segment {segment_id} deleted (a segment cannot be emptied in place); the next sync "
                              f"that reaches {self.min_audience} contacts creates a new one")
