"""Unisender as a destination (connectors/common/destination.py): an audience is a contacts list.

- add: `importContacts` (≤500 rows a call) with `<kind>_list_ids`. It never sends `email_status` or
  `phone_status`: an import cannot re-subscribe someone who opted out (only the person can, through
  the activation link), and it does not mark anyone confirmed, so the account's double opt-in stays
  with the person. A contact the account holds as unsubscribed comes back in the import's `log`;
  that is a rejection with Unisender's own words.
- remove: `importContacts` with `<kind>_excluded_list_ids`, 500 a call, instead of one `exclude`
  per contact (§1: an exclusion is not an unsubscribe; the contact may be added again later).
- holding: the list's members read back through `async/exportContacts(list_id)`.
- An empty field is never sent: rows are grouped by the fields they carry, so a blank name never
  overwrites the one Unisender holds.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any, Sequence

import requests

from connectors.common.destination import AddressType, Contact, DestinationError, Holding, ListRef, Outcome
from connectors.common.http import SourceError
from connectors.unisender.client import UnisenderClient
from connectors.unisender.settings import IMPORT_BATCH

FIELD_NAMES = {"given_name": "Name"}  # our field -> Unisender's field


class UnisenderDestination:
    system = "unisender"
    max_batch = IMPORT_BATCH
    min_audience = 0

    def __init__(self, base_url: str, api_key: str, attempts: int = 6, poll_seconds: float = 0.2):
        self.api = UnisenderClient(base_url, api_key, attempts=attempts)
        self.poll_seconds = poll_seconds
        self._kinds: dict[str, AddressType] = {}

    def _call(self, what, *args, **kwargs) -> Any:
        try:
            return what(*args, **kwargs)
        except SourceError as exc:
            raise DestinationError(str(exc)) from None
        except requests.RequestException as exc:  # unreachable after the session's retries
            raise DestinationError(f"Unisender {self.api.base}: {type(exc).__name__}: {exc}") from None

    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        lists = {str(item["id"]): item["title"] for item in self._call(self.api.get_lists)}
        if known is not None and known.id in lists:
            ref = known
        else:
            found = next((i for i, title in lists.items() if title == name), None)
            ref = ListRef(found or str(self._call(self.api.call, "createList", {"title": name})["id"]), name)
        self._kinds[ref.id] = address_type
        return ref

    def _kind(self, ref: ListRef) -> AddressType:
        return self._kinds.get(ref.id, "email")

    def holding(self, ref: ListRef) -> set[str] | None:
        kind = self._kind(ref)
        params = [("field_names[0]", kind), ("field_names[1]", f"{kind}_list_ids"), ("list_id", ref.id)]
        task = self._call(self.api.call, "async/exportContacts", params)["task_uuid"]
        rows = self._call(self._download, task)
        return {(r.get(kind) or "").strip().lower() for r in rows
                if ref.id in (r.get(f"{kind}_list_ids") or "").split(",") and r.get(kind)}

    def _download(self, task: str) -> list[dict[str, str]]:
        for _ in range(600):
            result = self.api.call("async/getTaskResult", {"task_uuid": task})
            if result.get("status") == "completed":
                response = self.api.session.get(result["file_to_download"])
                response.raise_for_status()
                return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
            time.sleep(self.poll_seconds)
        raise SourceError(f"Unisender export task {task} did not complete")

    def describe(self, ref: ListRef) -> Holding:
        """Without a member count: counting means another export, and exports are limited to 20
        a minute (§1); the engine counts from the read-back it already made."""
        exists = ref.id in {str(item["id"]) for item in self._call(self.api.get_lists)}
        return Holding(exists=exists, status="active" if exists else "deleted",
                       url=f"https://cp.unisender.com/ru/v5/lists/{ref.id}")

    def _import(self, kind: str, names: list[str], rows: list[list[str]]) -> dict[str, Any]:
        params: list[tuple[str, Any]] = [(f"field_names[{i}]", n) for i, n in enumerate(names)]
        for r, row in enumerate(rows):
            params += [(f"data[{r}][{c}]", value) for c, value in enumerate(row)]
        params += [("overwrite_tags", 0), ("overwrite_lists", 0)]
        return self._call(self.api.call, "importContacts", params)

    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if len(contacts) > self.max_batch:
            raise ValueError(f"importContacts takes at most {self.max_batch} rows, got {len(contacts)}")
        kind = self._kind(ref)
        outcome = Outcome()
        groups: dict[tuple[str, ...], list[Contact]] = {}
        for c in contacts:  # one import per set of non-empty fields: a blank never overwrites
            groups.setdefault(tuple(sorted(k for k, v in c.fields.items() if v and k in FIELD_NAMES)), []).append(c)
        for fields, group in groups.items():
            names = [kind, f"{kind}_list_ids", *(FIELD_NAMES[f] for f in fields)]
            result = self._import(kind, names, [[c.identifier, ref.id, *(c.fields[f] for f in fields)] for c in group])
            bad = {int(e["index"]): f"{e.get('code', '')}: {e.get('message', '')}".strip(": ")
                   for e in result.get("log", []) if e.get("code") not in (None, "", "ok")}
            outcome.rejected |= {group[i].identifier: reason for i, reason in bad.items()}
            outcome.accepted += [c.identifier for i, c in enumerate(group) if i not in bad]
            outcome.detail = f"importContacts: {result.get('inserted', 0)} new, {result.get('updated', 0)} updated"
        return outcome

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        kind = self._kind(ref)
        outcome = Outcome()
        for start in range(0, len(identifiers), self.max_batch):
            chunk = list(identifiers[start:start + self.max_batch])
            self._import(kind, [kind, f"{kind}_excluded_list_ids"], [[i, ref.id] for i in chunk])
            outcome.accepted += chunk
        outcome.detail = f"importContacts {kind}_excluded_list_ids"
        return outcome

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        raise NotImplementedError("Unisender lists change by import and exclusion")

    def clear(self, ref: ListRef) -> Outcome:
        return self.remove(ref, sorted(self.holding(ref) or ()))
