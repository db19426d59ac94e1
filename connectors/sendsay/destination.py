"""Sendsay as a destination: one list group per audience.

How each interface call maps onto the API (../shared/specs/destinations.md §2; what is modelled
rather than read in the docs is marked in emulators/sendsay.py):
- `ensure_list`: `group.list`, else `group.create` with `type: list` and `addr_type` email|msisdn.
  One group holds one address type, as Sendsay's list groups do; ids look like `pl123`.
- `add`: `member.import` into the group (`-group.<id>` set "1", plus the given name under
  `base.firstName`), which is asynchronous: it answers a `track.id` and `track.get` is polled until
  the status is below 0 (-1 done, -2 error, -3 cancelled...). Up to SMALL_BATCH contacts go by
  `member.set` instead, which answers at once (a sync of three changes should not wait on a queue).
- `remove`: the same import with `-group.<id>` set "0". It takes members out of this group only:
  they are neither deleted (their history and other lists stay) nor put on a stop-list (a segment
  exit is not an unsubscribe). One import per batch rather than a call per member.
- `replace`: `group.clean` (async) then the imports. Used only when the engine asks for a whole-list
  replace; a mirror sync uses add/remove and never leaves the group empty in between.
- `clear`: `group.clean`.
- `holding`: `member.list` with `group`, paged; `describe` reads its `count`.
- Stop-lists: a member on "unsubscribed from all" or "blocked manually" must not be put back into a
  group. Sendsay's docs (sendsay-docs `stop-lists.md`) say such contacts are excluded from every
  issue even if they subscribe again; how a group write for them is answered is not documented.
  We never lift a stop-list (no `stoplist.delete`), and a refused row (`error/member/...`, as the
  emulator answers) comes back in `Outcome.rejected` with Sendsay's own reason.
- Double opt-in: `double_opt_in=True` sends `newbie.confirm: 1` so new members get Sendsay's
  confirmation letter (`confirm_letter` = the draft id, `newbie.letter.confirm`); otherwise 0,
  because the engine only sends addresses whose consent we already hold.

Phones travel as digits (Sendsay's msisdn form) and come back in the E.164 form the engine sent.
Transport (key header, REDIRECT, error envelope, 429/5xx retries) is the source side's
`SendsayClient`; every failure becomes a `DestinationError` naming the action, never an address.
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Sequence

import requests

from connectors.common.destination import AddressType, Contact, DestinationError, Holding, ListRef, Outcome
from connectors.common.http import SourceError, shown_url
from connectors.sendsay.client import SendsayClient, SendsayError
from connectors.sendsay.settings import (
    ADDR_TYPES, IMPORT_BATCH, MEMBER_PAGESIZE, SMALL_BATCH, TRACK_FAILED, TRACK_POLL_SECONDS, TRACK_TIMEOUT_SECONDS,
)

FIELD_DATAKEYS = {"first_name": "base.firstName", "given_name": "base.firstName", "last_name": "base.lastName"}


class SendsayDestination:
    system = "sendsay"
    max_batch = IMPORT_BATCH
    min_audience = 0

    def __init__(self, base_url: str, api_key: str, login: str, *, double_opt_in: bool = False,
                 confirm_letter: int | None = None, timeout: float = 60.0, attempts: int = 6,
                 poll: Sequence[float] = TRACK_POLL_SECONDS, track_timeout: float = TRACK_TIMEOUT_SECONDS):
        self.api = SendsayClient(base_url, login, api_key, timeout=timeout, attempts=attempts)
        self.double_opt_in, self.confirm_letter = double_opt_in, confirm_letter
        self.poll, self.track_timeout = tuple(poll), track_timeout
        self._types: dict[str, str] = {}  # group id -> Sendsay addr_type, learnt from group.list/create

    # --- transport ----------------------------------------------------------------------------
    def _call(self, action: str, **params: Any) -> dict[str, Any]:
        try:
            return self.api.call(action, **params)
        except SourceError as exc:
            raise DestinationError(str(exc)) from None
        except requests.RequestException as exc:  # unreachable after the session's retries
            raise self._down(action, exc) from None

    def _down(self, action: str, exc: Exception) -> DestinationError:
        return DestinationError(f"Sendsay {action}: {type(exc).__name__} reaching {shown_url(self.api.root)}")

    def _wait(self, action: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Poll `track.get` until the job's status is below 0; the finished track object."""
        if "track.id" not in answer:
            return answer  # done synchronously
        track, started, waits = answer["track.id"], time.monotonic(), iter(self.poll)
        delay = 0.0
        while True:
            obj = self._call("track.get", id=track).get("obj") or {}
            status = int(obj.get("status", 0))
            if status == -1:
                return obj
            if status < 0:
                raise DestinationError(f"Sendsay {action} track {track} ended {TRACK_FAILED.get(status, status)} "
                                       f"(status {status})")
            if time.monotonic() - started > self.track_timeout:
                raise DestinationError(f"Sendsay {action} track {track} still at status {status} after "
                                       f"{self.track_timeout:.0f} s; the next run retries")
            delay = next(waits, delay)
            time.sleep(delay)

    # --- lists --------------------------------------------------------------------------------
    def _groups(self) -> list[dict[str, Any]]:
        groups = self._call("group.list").get("list") or []
        for g in groups:
            self._types[str(g.get("id"))] = str(g.get("addr_type", "email"))
        return groups

    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        addr_type = ADDR_TYPES[address_type]
        groups = self._groups()
        if known is not None and any(g.get("id") == known.id for g in groups):
            return known
        for g in groups:
            if g.get("name") == name and g.get("type", "list") == "list" and g.get("addr_type") == addr_type:
                return ListRef(str(g["id"]), name)
        answer = self._call("group.create", name=name, type="list", addr_type=addr_type)
        gid = (answer.get("obj") or {}).get("id") or answer.get("id")
        if not gid:
            raise DestinationError("Sendsay group.create answered without a group id")
        self._types[str(gid)] = addr_type
        return ListRef(str(gid), name)

    def _addr_type(self, ref: ListRef) -> str:
        if ref.id not in self._types:
            self._groups()
        if ref.id not in self._types:
            raise DestinationError(f"Sendsay has no group {ref.id} ({ref.name}); it was deleted outside")
        return self._types[ref.id]

    def _members(self, ref: ListRef) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            answer = self._call("member.list", group=ref.id, page=page, pagesize=MEMBER_PAGESIZE,
                                sort="member.id", result="response")
            rows = answer.get("list")
            if not isinstance(rows, list):
                raise DestinationError(f"Sendsay member.list of {ref.id} page {page}: no list in the answer")
            yield from rows
            pages = answer.get("pages")
            if len(rows) < MEMBER_PAGESIZE or (isinstance(pages, int) and page >= pages):
                return
            page += 1

    def holding(self, ref: ListRef) -> set[str] | None:
        addr_type = self._addr_type(ref)
        return {_ours(str(m.get("member.email", "")), addr_type) for m in self._members(ref)}

    def describe(self, ref: ListRef) -> Holding:
        if ref.id not in {str(g.get("id")) for g in self._groups()}:
            return Holding(exists=False)
        answer = self._call("member.list", group=ref.id, page=1, pagesize=1, result="response")
        count = answer.get("count")
        return Holding(exists=True, size=int(count) if isinstance(count, int) else None, status="list")

    # --- membership ---------------------------------------------------------------------------
    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        if len(contacts) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} contacts per call; got {len(contacts)}")
        addr_type = self._addr_type(ref)
        if not contacts:
            return Outcome(detail="nothing to add")
        if len(contacts) <= SMALL_BATCH:
            return self._set_each(ref, addr_type, contacts)
        return self._import_groups_of_fields(ref, addr_type, contacts)

    def _import_groups_of_fields(self, ref: ListRef, addr_type: str, contacts: Sequence[Contact]) -> Outcome:
        """One import per set of fields the contacts carry, so no row carries a blank that would
        overwrite what Sendsay holds (the engine drops empty values; a column must not bring them back)."""
        by_keys: dict[tuple[str, ...], list[Contact]] = {}
        for c in contacts:
            by_keys.setdefault(tuple(sorted({FIELD_DATAKEYS[k] for k in c.fields if k in FIELD_DATAKEYS})), []).append(c)
        total = Outcome()
        for keys, group in by_keys.items():
            rows = [[_theirs(c.identifier, addr_type), "1",
                     *[{FIELD_DATAKEYS[k]: v for k, v in c.fields.items() if k in FIELD_DATAKEYS}[key] for key in keys]]
                    for c in group]
            part = self._import(ref, addr_type, [c.identifier for c in group],
                                ["member.email", f"-group.{ref.id}", *keys], rows, "add")
            total.accepted += part.accepted
            total.rejected.update(part.rejected)
            total.detail = "; ".join(x for x in (total.detail, part.detail) if x)
        return total

    def _set_each(self, ref: ListRef, addr_type: str, contacts: Sequence[Contact]) -> Outcome:
        out = Outcome(detail=f"member.set x{len(contacts)}")
        for c in contacts:
            datakey = [[f"-group.{ref.id}", "set", "1"]]
            datakey += [[FIELD_DATAKEYS[k], "set", v] for k, v in c.fields.items() if k in FIELD_DATAKEYS]
            try:
                self.api.call("member.set", email=_theirs(c.identifier, addr_type), addr_type=addr_type,
                              datakey=datakey, **self._confirm(), return_fresh_obj=0)
            except SendsayError as exc:
                if _row_level(exc.error_id):
                    out.rejected[c.identifier] = str(exc).split(": ", 1)[-1]
                    continue
                raise DestinationError(str(exc)) from None
            except SourceError as exc:
                raise DestinationError(str(exc)) from None
            except requests.RequestException as exc:
                raise self._down("member.set", exc) from None
            out.accepted.append(c.identifier)
        return out

    def _confirm(self) -> dict[str, Any]:
        if not self.double_opt_in:
            return {"newbie.confirm": 0}
        extra = {"newbie.letter.confirm": self.confirm_letter} if self.confirm_letter is not None else {}
        return {"newbie.confirm": 1, **extra}

    def _import(self, ref: ListRef, addr_type: str, identifiers: list[str], caption: list[str], rows: list[list[str]],
                what: str) -> Outcome:
        answer = self._call("member.import", addr_type=addr_type, charset="utf-8", **self._confirm(),
                            **{"users.list": {"caption": [{"datakey": k, "mode": "set"} for k in caption], "rows": rows}})
        track = self._wait("member.import", answer)
        result = track.get("result") or {}
        out = Outcome(detail=f"member.import track {answer.get('track.id')} done: {what} "
                             f"{result.get('added' if what == 'add' else 'removed', '?')} of {len(rows)}")
        refused = {}
        for err in result.get("errors") or []:
            if isinstance(err, dict) and isinstance(err.get("row"), int) and 0 <= err["row"] < len(identifiers):
                refused[identifiers[err["row"]]] = f"{err.get('id')}: {err.get('explain', '')}".rstrip(": ")
        out.rejected = refused
        out.accepted = [i for i in identifiers if i not in refused]
        return out

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        addr_type = self._addr_type(ref)
        out = Outcome()
        for start in range(0, len(identifiers), self.max_batch):
            chunk = list(identifiers[start:start + self.max_batch])
            part = self._import(ref, addr_type, chunk, ["member.email", f"-group.{ref.id}"],
                                [[_theirs(i, addr_type), "0"] for i in chunk], "remove")
            out.accepted += part.accepted
            out.rejected.update(part.rejected)
            out.detail = "; ".join(x for x in (out.detail, part.detail) if x)
        return out

    def clear(self, ref: ListRef) -> Outcome:
        self._addr_type(ref)
        self._wait("group.clean", self._call("group.clean", id=ref.id))
        return Outcome(detail=f"group.clean {ref.id} done")

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        cleared = self.clear(ref)
        out = Outcome(detail=cleared.detail)
        for start in range(0, len(contacts), self.max_batch):
            part = self.add(ref, contacts[start:start + self.max_batch])
            out.accepted += part.accepted
            out.rejected.update(part.rejected)
            out.detail = f"{out.detail}; {part.detail}"
        return out


def _row_level(error_id: Any) -> bool:
    """Errors about one member (its address, its stop-list), not about the call or the account."""
    return str(error_id).startswith(("error/member/", "error/group/addr_type"))


def _theirs(identifier: str, addr_type: str) -> str:
    return identifier.lstrip("+") if addr_type == "msisdn" else identifier


def _ours(address: str, addr_type: str) -> str:
    """A read-back address in the form we send: E.164 phones; e-mails trimmed and lower-cased, as
    Sendsay matches them (a member it already knew keeps the spelling it was first given, and
    comparing that spelling with ours would remove and re-add the member on every run)."""
    return f"+{address.lstrip('+')}" if addr_type == "msisdn" else address.strip().lower()


__all__ = ["SendsayDestination"]
