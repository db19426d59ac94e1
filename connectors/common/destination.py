"""What a destination client offers the sync engine (assets/activate).

Every destination a segment can reach (a mailing tool's list, an ad cabinet's audience, a file in
S3) is a client in `connectors/<system>/destination.py` implementing `DestinationClient`, declared
once in `cdp/destinations.py`. The engine owns the diff, the state, the consent gate and the
report; a client only speaks its platform: it creates or finds the list, says what the list holds
now, adds, removes, and (for platforms that can only take whole files or enforce a minimum size)
replaces or empties it. It never decides who is sent: it receives contacts already consented and
already normalised/hashed to the platform's rules.

Why a read-back: our own state says what we sent, not what the platform holds. A list emptied or
deleted outside is refilled only if the engine can ask the platform (`holding`). A platform that
cannot enumerate members (ad cabinets hold hashes it matched, not a member list) answers `None`
and reports only counts in `describe`; the engine then recreates the audience when the list it
recorded is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, Sequence, runtime_checkable

AddressType = Literal["email", "phone"]


@dataclass(frozen=True)
class Contact:
    # What is sent and what the platform keys the member by: a normalised address, or its hash
    # for platforms that take hashes. Unique within one audience.
    identifier: str
    address_type: AddressType
    # Extra fields the platform stores (given name, ...). Empty values are left out by the engine,
    # so a blank never overwrites what the platform holds.
    fields: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Outcome:
    accepted: list[str] = field(default_factory=list)  # identifiers the platform took
    rejected: dict[str, str] = field(default_factory=dict)  # identifier -> the platform's reason, as it said it
    detail: str = ""  # job / track / segment id and status, for the sync report


@dataclass(frozen=True)
class ListRef:
    """The platform's handle of one audience (a list id, a segment id, an S3 prefix)."""

    id: str
    name: str


@dataclass
class Holding:
    """What the platform reports about a list now (for the asset page and the sync report)."""

    exists: bool
    size: int | None = None  # members or uploaded records, as the platform counts them
    matched: int | None = None  # ad platforms: how many it matched to its users
    status: str = ""  # the platform's own status word (processed, ready, few_data, ...)
    url: str = ""  # where a marketer finds it in the platform's UI, if known


class DestinationError(RuntimeError):
    """The platform refused the call or is unreachable. The engine records it, keeps the pending
    changes for the next run and carries on with the other destinations."""


class AudienceTooSmall(DestinationError):
    """The platform's minimum audience is not met. Raised before anything is uploaded; the message
    names the platform, its minimum and the size."""

    def __init__(self, platform: str, minimum: int, size: int):
        self.platform, self.minimum, self.size = platform, minimum, size
        super().__init__(f"{platform} needs at least {minimum} contacts in an audience; this one has {size}, "
                         f"so nothing was uploaded")


@runtime_checkable
class DestinationClient(Protocol):
    system: str  # the name in cdp/destinations.py
    max_batch: int  # contacts per add/remove call
    min_audience: int  # 0 = no minimum

    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        """The list called `name` (a marketer's Russian name), created if missing. `known` is the
        ref the engine recorded last time: reuse it while the platform still has it (ad platforms'
        create quotas are small)."""

    def holding(self, ref: ListRef) -> set[str] | None:
        """Identifiers the list holds now, in the form they were sent; None if the platform cannot
        enumerate them."""

    def describe(self, ref: ListRef) -> Holding:
        """Counts and status the platform reports for the list."""

    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        """Put contacts on the list (at most max_batch). Never re-subscribes an address the
        platform holds as opted out; such a contact comes back in `rejected` with the reason."""

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        """Take identifiers off the list (a segment exit, not an unsubscribe), in bulk."""

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        """Make the list hold exactly `contacts` (ad platforms' whole-file replace). A client whose
        platform cannot do it raises NotImplementedError; the engine then removes and adds."""

    def clear(self, ref: ListRef) -> Outcome:
        """Leave the list holding no one (or delete it): used when withdrawals take an audience
        under the platform's minimum, so the withdrawn never stay behind."""
