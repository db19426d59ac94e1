"""VK Ads as a destination: one remarketing users list per audience, MD5 sums of phones or e-mails.

Why it works this way (the docs' rules, ../shared/specs/destinations.md §5, and README.md here):
- A list is born from a file of 2,000–5,000,000 lines, so `ensure_list` finds the list by the ref
  the engine kept, else by name, and otherwise answers a ref with an empty id; the first `add` (or
  `replace`) creates the list, refused here under 2,000 (`AudienceTooSmall`) before any upload.
  Later calls resolve an empty-id ref by name.
- Changes are diff files on the same list (`base=<id>` adds, `base=-<id>` removes), so the list
  id, and every VK Ads audience built on it, stays. A diff needs 25–5,000,000 lines:
  - adds under 25 come back `rejected` with that reason and are sent by a later sync (a late add
    harms no one);
  - removals under 25 cannot wait (a withdrawn contact must leave now), so the removal diff is
    filled up to 25 lines with MD5 sums of values no person has (`_filler`): subtracting a sum the
    list does not hold changes nothing, so the withdrawn leave at once and the list, and every
    audience built on it, stays. (Deleting the list instead fails with 409 for a list an audience
    or look-alike uses, which is most of them, and would leave the withdrawn on it.)
- `replace` uploads the whole audience as a new list under the same name and deletes the old one.
- `clear` deletes the list (a list cannot be emptied in place).
- VK Ads does not list a list's members: `holding` is None; `describe` gives its counts.
"""

from __future__ import annotations

import logging
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
from connectors.common.hashing import is_hash
from connectors.vk_ads.client import VkAdsClient, VkAdsError

log = logging.getLogger(__name__)

PLATFORM = "VK Ads"
UI_URL = "https://ads.vk.com/hq/audience"
LIST_TYPES = {"phone": "phones", "email": "emails"}
GONE = ("pending_delete", "deleting", "deleted", "deleted_to_notify")
MIN_DIFF = 25


def _filler(list_id: int, count: int) -> list[str]:
    """MD5 sums of values that are no phone and no e-mail (so no person's), to bring a removal diff
    up to the platform's minimum: subtracting a sum the list does not hold changes nothing."""
    import hashlib

    return [hashlib.md5(f"cdp-lite removal filler {list_id} {n}".encode()).hexdigest() for n in range(max(count, 0))]


class ListInUse(DestinationError):
    """The list feeds a VK Ads audience or look-alike, so it cannot be deleted or replaced."""


class VkAdsDestination:
    system = "vk_ads"
    max_batch = 1_000_000  # a file may be 128 MB; a million MD5 lines is about 33 MB
    min_audience = 2000
    min_diff = MIN_DIFF

    def __init__(self, base_url: str, client_id: str, api_key: str, *, attempts: int = 6, backoff: float = 0.5):
        self.client = VkAdsClient(base_url, client_id, api_key, attempts=attempts, backoff=backoff)
        self._created: dict[str, int] = {}

    # --- finding the list ---------------------------------------------------------------------
    def _by_name(self, name: str) -> dict | None:
        found = [item for item in self.client.users_lists(name)
                 if item.get("name") == name and not item.get("base") and item.get("status") not in GONE]
        return max(found, key=lambda item: int(item["id"])) if found else None

    def _list_id(self, ref: ListRef) -> int | None:
        if ref.id:
            return int(ref.id)
        if ref.name in self._created:
            return self._created[ref.name]
        found = self._by_name(ref.name)
        return int(found["id"]) if found else None

    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        if known is not None and known.id:
            item = self.client.users_list(int(known.id))
            if item is not None and item.get("status") not in GONE and not item.get("base"):
                if item.get("name") != name:
                    self.client.rename(int(known.id), name)
                return ListRef(str(item["id"]), name)
        found = self._by_name(name)
        return ListRef(str(found["id"]), name) if found else ListRef("", name)

    # --- reading back -------------------------------------------------------------------------
    def holding(self, ref: ListRef) -> set[str] | None:
        return None

    def describe(self, ref: ListRef) -> Holding:
        list_id = self._list_id(ref)
        item = self.client.users_list(list_id) if list_id is not None else None
        if item is None or item.get("status") in GONE:
            return Holding(exists=False, url=UI_URL)
        return Holding(exists=True, size=item.get("ids_count"), matched=item.get("matched_ids_count"),
                       status=str(item.get("status", "")), url=UI_URL)

    # --- changes --------------------------------------------------------------------------------
    @staticmethod
    def _split(contacts: Sequence[Contact], kind: str | None) -> tuple[list[Contact], dict[str, str]]:
        """Contacts fit for the list, and the rest with the reason (never sent in clear)."""
        fit, rejected = [], {}
        for c in contacts:
            if not is_hash("md5", c.identifier):
                rejected[c.identifier] = "not an MD5 sum: VK Ads lists get hashed identifiers only"
            elif kind is not None and LIST_TYPES[c.address_type] != kind:
                rejected[c.identifier] = f"the list holds {kind}; a {c.address_type} cannot go on it"
            else:
                fit.append(c)
        return fit, rejected

    @staticmethod
    def _line_errors(answer: dict, lines: Sequence[str]) -> dict[str, str]:
        """The platform's per-line refusals, keyed by the identifier on that line."""
        out = {}
        for error in answer.get("error") or []:
            number = int(error.get("line_number", 0))
            if 1 <= number <= len(lines):
                out[lines[number - 1]] = str(error.get("error_code", "refused"))
        return out

    def _create(self, ref: ListRef, contacts: Sequence[Contact]) -> tuple[int, Outcome]:
        kinds = {LIST_TYPES[c.address_type] for c in contacts}
        kind = LIST_TYPES["phone"] if "phones" in kinds else LIST_TYPES["email"]  # phones match better
        fit, rejected = self._split(contacts, kind)
        if len(fit) < self.min_audience:
            raise AudienceTooSmall(PLATFORM, self.min_audience, len(fit))
        lines = [c.identifier for c in fit]
        answer = self.client.upload(ref.name, kind, lines)
        rejected |= self._line_errors(answer, lines)
        list_id = int(answer["id"])
        self._created[ref.name] = list_id
        log.info("%s: list %s created from %d lines (%d refused)", PLATFORM, list_id, len(lines), len(rejected))
        return list_id, Outcome(accepted=[i for i in lines if i not in rejected], rejected=rejected,
                                detail=f"list {list_id} created ({kind}): status {answer.get('status')}, "
                                       f"{answer.get('ids_count')} ids")

    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if not contacts:
            return Outcome(detail="nothing to add")
        list_id = self._list_id(ref)
        if list_id is None:
            return self._create(ref, contacts)[1]
        item = self.client.users_list(list_id)
        if item is None or item.get("status") in GONE:
            raise DestinationError(f"{PLATFORM} list «{ref.name}» ({list_id}) is gone; the next sync uploads the "
                                   "audience again as a new list")
        fit, rejected = self._split(contacts, item.get("type"))
        if len(fit) < self.min_diff:
            reason = f"a diff needs at least {self.min_diff} lines; sent with a later sync"
            return Outcome(rejected=rejected | {c.identifier: reason for c in fit},
                           detail=f"list {list_id}: {len(fit)} adds wait for a diff of {self.min_diff}")
        lines = [c.identifier for c in fit]
        answer = self.client.upload(ref.name, str(item["type"]), lines, base=list_id)
        rejected |= self._line_errors(answer, lines)
        log.info("%s: list %s, diff of %d lines added", PLATFORM, list_id, len(lines))
        return Outcome(accepted=[i for i in lines if i not in rejected], rejected=rejected,
                       detail=f"list {list_id}: +{len(lines)} (diff {answer.get('id')})")

    def _delete(self, ref: ListRef, list_id: int, why: str) -> bool:
        try:
            return self.client.delete(list_id)
        except VkAdsError as exc:
            if exc.status != 409:
                raise
            raise ListInUse(f"{PLATFORM} list «{ref.name}» ({list_id}) is used by an audience or look-alike in VK Ads, "
                            f"so it cannot be deleted (HTTP 409); {why}. Take the list out of the audiences that use "
                            "it (VK Ads → Аудитории), then run the sync again") from None

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        if not identifiers:
            return Outcome(detail="nothing to remove")
        list_id = self._list_id(ref)
        if list_id is None:
            return Outcome(accepted=list(identifiers), detail=f"no {PLATFORM} list: nothing to remove")
        hashed = [i for i in identifiers if is_hash("md5", i)]
        rejected = {i: "not an MD5 sum: never sent" for i in identifiers if not is_hash("md5", i)}
        if not hashed:
            return Outcome(rejected=rejected, detail="nothing to remove")
        item = self.client.users_list(list_id)
        if item is None or item.get("status") in GONE:
            return Outcome(accepted=hashed, rejected=rejected, detail=f"list {list_id} is gone: nothing to remove")
        lines = hashed + _filler(list_id, self.min_diff - len(hashed))
        answer = self.client.upload(ref.name, str(item["type"]), lines, base=-list_id)
        log.info("%s: list %s, diff of %d lines removed (%d filler)", PLATFORM, list_id, len(lines), len(lines) - len(hashed))
        return Outcome(accepted=hashed, rejected=rejected, detail=f"list {list_id}: -{len(hashed)} (diff {answer.get('id')})")

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        old = self._list_id(ref)
        self._created.pop(ref.name, None)
        new, outcome = self._create(ref, contacts)
        if old is not None:
            try:
                self._delete(ref, old, "the replacement list was withdrawn again so the audience is not doubled")
            except ListInUse:
                self.client.delete(new)
                self._created[ref.name] = old
                raise
        outcome.detail = f"list {old} replaced by {new}: " + outcome.detail
        return outcome

    def clear(self, ref: ListRef) -> Outcome:
        list_id = self._list_id(ref)
        if list_id is None:
            return Outcome(detail=f"no {PLATFORM} list: nothing to clear")
        deleted = self._delete(ref, list_id, "the audience fell under the platform's minimum and must leave VK Ads")
        self._created.pop(ref.name, None)
        return Outcome(detail=f"list {list_id} deleted" if deleted else f"list {list_id} was already gone")
