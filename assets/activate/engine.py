"""One audience synced to one destination, the same way for every destination.

1. The independent consent gate (activation.consent_gate_offenders, a dbt view over the consent
   events themselves): any offender and nothing is sent; the offenders are named by hash.
2. The list is found or created (its handle remembered), and what it holds is read back. A platform
   that cannot enumerate (`holding` is None) is taken to hold what our state says. Within
   `read_back_hours` of the last read-back of the same list, the diff is first planned against our
   own record of the list (activation.sync_state), as for such a platform; when that plan has
   nothing to add or remove, the destination is not contacted at all. A read-back comes at least
   that often, and always when anything is to be sent or taken off. Why: reading every list back
   is most of a run with nothing new (12.7 s of 57 s for 18 audiences at 1 M people), and what
   it catches, a list edited by hand in the platform, is rare; Census and Hightouch diff against
   their own last sync and never read back at all. A list whose id the platform no longer knows
   is forgotten with everything recorded under it.
3. The diff, set-based in DuckDB: adds are audience members the list does not hold (so a list
   emptied outside is refilled, and contacts refused last time are retried); removes depend on the
   mode (mirror: everyone not in the audience; add_only and upsert: only those whose consent is
   gone). Members the list holds but our state lacks (a batch whose answer was lost in a kill) are
   recorded, not sent again.
4. Removes go first, so a contact who withdrew leaves even when the adds then fail. Under the
   platform's minimum nothing is added and the list is emptied (`clear`): no one who withdrew stays.
5. Adds in batches of the client's size; each batch's outcome is written before the next is sent.

A dry run stops after 3 and reports the plan. Every run writes one `sync_report` row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from assets.activate import state
from cdp.audiences import AudienceSpec
from connectors.common.destination import (
    AudienceTooSmall, Contact, DestinationClient, DestinationError, Holding, ListRef,
)


class ConsentGateViolation(RuntimeError):
    def __init__(self, spec: AudienceSpec, offenders: list[tuple[str, str]]):
        self.offenders = offenders
        named = ", ".join(f"{h} ({reason})" for h, reason in offenders[:20])
        more = f" and {len(offenders) - 20} more" if len(offenders) > 20 else ""
        super().__init__(f"{spec.segment} → {spec.destination}: {len(offenders)} outgoing address(es) have no consent by "
                         f"the consent events; nothing was sent. Offenders by sha256 prefix: {named}{more}")


@dataclass
class SyncReport:
    run_id: str
    destination: str
    segment: str
    list_name: str
    mode: str
    dry_run: bool
    list_id: str = ""
    status: str = "ok"  # ok | no_change | below_minimum | failed | blocked | planned
    audience: int = 0
    held_before: int | None = None
    added: int = 0
    removed: int = 0
    rejected: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    held_after: int | None = None
    matched: int | None = None
    message: str = ""
    read_back: bool = False  # this run asked the destination what the list holds
    holding: Holding | None = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "holding"}


def gate_offenders(con: duckdb.DuckDBPyConnection, spec: AudienceSpec) -> list[tuple[str, str]]:
    return con.execute("select address_hash, reason from activation.consent_gate_offenders "
                       "where destination = ? and segment = ? order by 1", [spec.destination, spec.segment]).fetchall()


def _plan(con, spec: AudienceSpec, target: str, present: set[str]) -> tuple[list[str], list[str], list[str]]:
    """(adds, removes, adopted): identifiers to send, to take off, and held but unrecorded."""
    con.register("_present", pa.table({"identifier": pa.array(sorted(present), pa.string())}))
    try:
        params = [spec.destination, spec.segment, target]
        state_rows = ("(select * from activation.sync_state where destination = ? and segment = ? and target = ?)")
        changed = (f"or a.identifier in (select s.identifier from {state_rows} s where s.fields_hash <> md5(coalesce(a.given_name, '')))"
                   if spec.mode == "upsert" else "")
        adds = [i for (i,) in con.execute(
            f"select a.identifier from activation.{spec.model} a where a.identifier not in (select identifier from _present) "
            f"{changed} order by 1", params if changed else []).fetchall()]
        leaving = f"select p.identifier from _present p anti join activation.{spec.model} a using (identifier)"
        if spec.mode == "mirror":
            removes = [i for (i,) in con.execute(leaving + " order by 1").fetchall()]
        else:  # only those whose address has lost its consent for the channel
            removes = [i for (i,) in con.execute(
                f"""select l.identifier from ({leaving}) l join {state_rows} s using (identifier)
                    where not exists (select 1 from marts.consent_current c where c.channel = ? and c.address = s.address
                                      and c.has_consent) order by 1""", [*params, spec.channel]).fetchall()]
        adopted = [i for (i,) in con.execute(
            f"select a.identifier from activation.{spec.model} a semi join _present using (identifier) "
            f"where a.identifier not in (select identifier from {state_rows}) order by 1", params).fetchall()]
        return adds, removes, adopted
    finally:
        con.unregister("_present")


def _contacts(con, spec: AudienceSpec, identifiers: list[str]) -> list[Contact]:
    con.register("_want", pa.table({"identifier": pa.array(identifiers, pa.string())}))
    try:
        rows = con.execute(f"select identifier, given_name from activation.{spec.model} semi join _want using (identifier) "
                           f"order by identifier").fetchall()
    finally:
        con.unregister("_want")
    # An empty value is never a field: a blank must not overwrite what the platform holds.
    return [Contact(i, spec.address_type, {"given_name": n} if n and n.strip() else {}) for i, n in rows]


def sync(con: duckdb.DuckDBPyConnection, client: DestinationClient, spec: AudienceSpec, run_id: str,
         dry_run: bool = False, log: Any = None, read_back_hours: float = 0.0) -> SyncReport:
    """Sync one audience; always returns the report (and writes it), never raises for a destination
    failure: the status says `failed` and the pending changes wait for the next run. A gate
    violation raises ConsentGateViolation after the report is written. `read_back_hours` 0 reads
    the destination back on every run."""
    state.ensure_tables(con)
    report = SyncReport(run_id, spec.destination, spec.segment, spec.list_name, spec.mode, dry_run)
    report.audience = con.execute(f"select count(*) from activation.{spec.model}").fetchall()[0][0]
    try:
        offenders = gate_offenders(con, spec)
        if offenders:
            error = ConsentGateViolation(spec, offenders)
            report.status, report.message = "blocked", str(error)
            raise error
        if dry_run or not _unchanged_by_our_record(con, client, spec, report, read_back_hours):
            _sync(con, client, spec, run_id, dry_run, report)
    except DestinationError as exc:
        report.status, report.message = "failed", str(exc)
    finally:
        state.write_report(con, report.row())
        if log is not None:
            (log.error if report.status in ("failed", "blocked") else log.info)(
                f"{spec.segment} → {spec.destination} «{spec.list_name}»: {report.status}, +{report.added} "
                f"-{report.removed}, {report.rejected} rejected. {report.message}".strip())
    return report


def _unchanged_by_our_record(con, client: DestinationClient, spec: AudienceSpec, report: SyncReport,
                             hours: float) -> bool:
    """True (and the report says so) when the list was read back less than `hours` ago and the
    audience, planned against our own record of the list, has nothing to add or remove."""
    known = state.known_list(con, spec)
    if hours <= 0 or known is None or not known.id:
        return False
    last = state.last_read_back(con, spec, known.id, hours)
    if last is None or report.audience < max(spec.min_audience, client.min_audience):
        return False
    present = state.identifiers(con, spec, known.id)
    adds, removes, _ = _plan(con, spec, known.id, present)
    if adds or removes:
        return False
    report.list_id, report.status = known.id, "no_change"
    report.held_before = report.held_after = len(present)
    report.matched = last[1]  # as the platform counted at that read-back
    report.message = (f"not read back: nothing to add or remove by our record of the list, which was last read "
                      f"back at {last[0]:%Y-%m-%d %H:%M} (read back at least every {hours:g} h)")
    return True


def _sync(con, client: DestinationClient, spec: AudienceSpec, run_id: str, dry_run: bool, report: SyncReport) -> None:
    known = state.known_list(con, spec)
    if known is None and spec.options.get("prefix"):
        known = ListRef(str(spec.options["prefix"]), spec.list_name)
    if dry_run:
        ref = known
        try:
            held = client.holding(ref) if ref else set()
        except DestinationError:
            held = None
    else:
        state.assign_segment(con, run_id, spec.segment)
        ref = client.ensure_list(spec.list_name, spec.address_type, known)
        if known is not None and known.id and ref.id != known.id:
            # The platform no longer has that list (deleted in its UI): what we recorded under it is
            # gone with it, and an id it hands out again must not inherit those rows.
            state.forget_target(con, spec, known.id)
        state.remember_list(con, spec, ref)
        held = client.holding(ref)
        report.read_back = True  # its members where the platform lists them, else the list itself
    target = ref.id if ref else ""
    report.list_id = target
    if held is not None and not dry_run:
        state.forget_missing(con, spec, target, held)
    present = held if held is not None else state.identifiers(con, spec, target)
    report.held_before = len(present)
    adds, removes, adopted = _plan(con, spec, target, present)
    minimum = max(spec.min_audience, client.min_audience)
    if dry_run:
        report.status = "planned"
        if report.audience < minimum:
            report.added, report.removed = 0, len(present)
            report.message = str(AudienceTooSmall(client.system, minimum, report.audience))
        else:
            report.added, report.removed = len(adds), len(removes)
        return
    state.record_sent(con, spec, target, adopted, run_id, action="confirmed")
    if report.audience < minimum:
        _clear(con, client, spec, ref, present, run_id, report, AudienceTooSmall(client.system, minimum, report.audience))
        return
    try:
        _remove(con, client, spec, ref, removes, run_id, report)
        _add(con, client, spec, ref, adds, run_id, report)
    except AudienceTooSmall as exc:  # the platform counts differently from us: same rule
        _clear(con, client, spec, ref, state.identifiers(con, spec, target) | present, run_id, report, exc)
        return
    if not (adds or removes):
        report.status = "no_change"
    ref = _settle_ref(con, client, spec, ref, report)
    _describe(client, ref, report)


def _settle_ref(con, client: DestinationClient, spec: AudienceSpec, ref: ListRef, report: SyncReport) -> ListRef:
    """Platforms that cannot create an empty list (Yandex Audience, VK Ads) answer `ensure_list`
    with an empty id and create the list on the first upload: look it up again and keep what was
    sent under its real id, or the next run would find nothing recorded and send everyone again."""
    if ref.id:
        return ref
    settled = client.ensure_list(spec.list_name, spec.address_type, ref)
    if settled.id:
        state.retarget(con, spec, ref.id, settled.id)
        state.remember_list(con, spec, settled)
        report.list_id = settled.id
    return settled


def _describe(client, ref: ListRef, report: SyncReport) -> None:
    try:
        holding = client.describe(ref)
    except DestinationError as exc:
        report.message = (report.message + f" (read-back failed: {exc})").strip()
        return
    if holding.size is None and report.held_before is not None:  # counted from our read-back and what changed
        holding.size = report.held_before + report.added - report.removed
    report.holding, report.held_after, report.matched = holding, holding.size, holding.matched


def _clear(con, client, spec, ref: ListRef, present: set[str], run_id: str, report: SyncReport, why: AudienceTooSmall) -> None:
    report.status, report.message = "below_minimum", str(why)
    if present:
        client.clear(ref)
        gone = sorted(present)
        state.record_removed(con, spec, ref.id, gone, run_id, "cleared: the audience is under the platform's minimum")
        state.record_batch(con, run_id, spec, ref.id, 0, "clear", len(gone), len(gone), 0, str(why))
        report.removed += len(gone)
    _describe(client, ref, report)


def _remove(con, client, spec, ref: ListRef, removes: list[str], run_id: str, report: SyncReport) -> None:
    for batch_no, start in enumerate(range(0, len(removes), client.max_batch), start=1):
        batch = removes[start:start + client.max_batch]
        try:
            outcome = client.remove(ref, batch)
        except NotImplementedError:  # whole-list platforms: replace with the audience, minus nothing else
            keep = _contacts(con, spec, sorted(state.identifiers(con, spec, ref.id) - set(removes)))
            outcome = client.replace(ref, keep)
            outcome.accepted = list(removes)
            state.record_removed(con, spec, ref.id, list(removes), run_id, "replaced")
            state.record_batch(con, run_id, spec, ref.id, batch_no, "replace", len(keep), len(keep), 0, outcome.detail)
            report.removed += len(removes)
            return
        state.record_removed(con, spec, ref.id, outcome.accepted, run_id, "left the audience")
        state.record_batch(con, run_id, spec, ref.id, batch_no, "remove", len(batch), len(outcome.accepted),
                           len(outcome.rejected), outcome.detail)
        report.removed += len(outcome.accepted)


def _add(con, client, spec, ref: ListRef, adds: list[str], run_id: str, report: SyncReport) -> None:
    for batch_no, start in enumerate(range(0, len(adds), client.max_batch), start=1):
        batch = _contacts(con, spec, adds[start:start + client.max_batch])
        outcome = client.add(ref, batch)
        state.record_sent(con, spec, ref.id, outcome.accepted, run_id)
        state.record_rejected(con, spec, ref.id, outcome.rejected, run_id)
        state.record_batch(con, run_id, spec, ref.id, batch_no, "add", len(batch), len(outcome.accepted),
                           len(outcome.rejected), outcome.detail)
        report.added += len(outcome.accepted)
        report.rejected += len(outcome.rejected)
        for reason in outcome.rejected.values():
            report.rejected_reasons[reason] = report.rejected_reasons.get(reason, 0) + 1
