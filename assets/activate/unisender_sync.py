"""Sync an audience to a Unisender list: importContacts for newcomers (500 per call), `exclude`
for leavers (a segment exit is not an unsubscribe). Never sends `email_status`, so an import can
never re-subscribe someone who opted out."""

from __future__ import annotations

from connectors.unisender import UnisenderClient
from connectors.unisender.settings import IMPORT_BATCH

from assets.activate import state
from assets.activate.audience import Destination


def sync(con, client: UnisenderClient, dest: Destination, run_id: str, log) -> dict[str, int]:
    title = dest.options["list"]
    list_id = client.ensure_list(title)
    target = f"list:{list_id}"
    change = state.diff(con, "unisender", dest.segment, target, dest.audience_table)
    added = rejected = removed = 0
    for batch_no, start in enumerate(range(0, len(change.adds), IMPORT_BATCH), start=1):
        batch = change.adds.iloc[start:start + IMPORT_BATCH].reset_index(drop=True)
        rows = [{"email": r.identifier, "Name": r.given_name or ""} for r in batch.itertuples()]
        result = client.import_contacts(list_id, rows)
        bad = {int(entry["index"]) for entry in result.get("log", []) if entry.get("code") not in (None, "", "ok")}
        ok_rows = batch.drop(index=list(bad))
        state.record_sent(con, "unisender", dest.segment, target, ok_rows, "sent", run_id, dest.channel)
        state.record_sent(con, "unisender", dest.segment, target, batch.loc[list(bad)], "rejected", run_id, dest.channel)
        state.record_batch(con, run_id, "unisender", dest.segment, target, batch_no, "add", len(batch), len(ok_rows), len(bad),
                           "; ".join(sorted({e.get("code", "") for e in result.get("log", [])})))
        added += len(ok_rows)
        rejected += len(bad)
        log.info(f"unisender list {list_id}: batch {batch_no} sent {len(batch)}, accepted {len(ok_rows)}, rejected {len(bad)}")
    for email in change.removes:
        client.exclude(list_id, email)
        state.record_removed(con, "unisender", dest.segment, target, [email], run_id)
        removed += 1
    if change.removes:
        state.record_batch(con, run_id, "unisender", dest.segment, target, 0, "remove", removed, removed, 0)
    return {"list_id": list_id, "added": added, "rejected": rejected, "removed": removed}
