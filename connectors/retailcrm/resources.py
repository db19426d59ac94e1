"""The two resources every journaled RetailCRM entity gets: its current records and its journal.

`<entity>` (merge on `id`): the first run pages through the whole list, after noting the
journal's newest id; every later run reads the journal from the noted id (`filter[sinceId]`) and
re-reads only the records it names through the list endpoint (`filter[ids][]`), so the table
stays current without a full page-through. Deleted records keep their last snapshot with
`is_deleted = true` and `deleted_at`. The noted id lives in the resource's dlt state, which is
committed together with the rows it produced: a run that dies loads nothing and moves nothing,
and the next one starts from the same id (merge makes the overlap harmless).

`<entity>_history` (merge on the history `id`): the journal items as received, from the id noted
on the first run (or from `history_start_date`) onwards, with its own cursor in state.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import dlt

from connectors.common.arrow import arrow_pages
from connectors.common.quarantine import quarantined
from connectors.retailcrm.helpers import Client, by_ids, get_json, history_pages, last_history_id, pages
from connectors.retailcrm.history import Touched, history_row, invalid_item, live, tombstone
from connectors.retailcrm.settings import Entity

Enrich = Callable[[Client, dict[str, Any]], dict[str, Any]]
FLAGS = {"is_deleted": {"data_type": "bool"}, "deleted_at": {"data_type": "text"}}
HISTORY_COLUMNS = {
    "id": {"data_type": "bigint"},
    "created_at": {"data_type": "text"},
    "created": {"data_type": "bool"},
    "deleted": {"data_type": "bool"},
    "source": {"data_type": "text"},
    "field": {"data_type": "text"},
    "old_value": {"data_type": "text"},
    "new_value": {"data_type": "text"},
}


def _invalid_record(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "record is not an object"
    if not isinstance(record.get("id"), int):
        return "record has no integer id"
    return None


def _records(client: Client, batches: Iterator[tuple[Any, list[Any]]], enrich: Enrich | None,
             hints: dict[str, Any]) -> Iterator[Any]:
    """Good records flagged live (and enriched), pages gathered into Arrow tables where their values
    fit the declared columns (`arrow_pages`); bad ones quarantined with where they came from."""
    return arrow_pages(_checked(client, batches, enrich), hints)


def _checked(client: Client, batches: Iterator[tuple[Any, list[Any]]], enrich: Enrich | None) -> Iterator[Any]:
    """Each page's good records as one list, each bad one as its quarantine item."""
    for position, records in batches:
        good = []
        for i, record in enumerate(records):
            reason = _invalid_record(record)
            if reason:
                yield quarantined("retailcrm", f"{position} item {i}", reason, record)
            else:
                good.append(live(enrich(client, record) if enrich else record))
        if good:
            yield good


def entity_resource(client: Client, entity: Entity, columns: dict[str, Any], enrich: Enrich | None = None):
    hints = {**columns, **FLAGS}

    @dlt.resource(name=entity.table, primary_key="id", write_disposition="merge", columns=hints)
    def records() -> Iterator[Any]:
        state = dlt.current.resource_state()
        since = state.get("history_since_id")
        if since is None:
            boundary = last_history_id(client, entity.history_path)
            full = ((f"{entity.list_path} page {n}", batch) for n, batch in pages(client, entity.list_path, entity.list_key))
            yield from _records(client, full, enrich, hints)
            state["history_since_id"] = boundary
            return
        touched, last = Touched(), since
        for call, items in history_pages(client, entity.history_path, since):
            for i, item in enumerate(items):
                reason = invalid_item(item, entity.ref_key)
                if reason:
                    yield quarantined("retailcrm", f"{entity.history_path} after {last} item {i}", reason, item)
                else:
                    touched.add(item, entity.ref_key)
            last = items[-1]["id"]
        yield from _records(client, by_ids(client, entity.list_path, entity.list_key, touched.to_reread), enrich, hints)
        gone = [tombstone(snapshot, at) for snapshot, at in touched.deleted.values()]
        if gone:
            yield gone
        state["history_since_id"] = last

    return records


def history_resource(client: Client, entity: Entity, start_date: str | None = None,
                     columns: dict[str, Any] | None = None):
    @dlt.resource(name=f"{entity.table}_history", primary_key="id", write_disposition="merge",
                  columns={**HISTORY_COLUMNS, entity.ref_key: {"data_type": "json"}, **(columns or {})})
    def journal() -> Iterator[Any]:
        state = dlt.current.resource_state()
        since = state.get("since_id")
        if since is None and not start_date:
            state["since_id"] = last_history_id(client, entity.history_path)
            return
        for call, items in history_pages(client, entity.history_path, since, start_date if since is None else None):
            good = []
            for i, item in enumerate(items):
                reason = invalid_item(item, entity.ref_key)
                if reason:
                    yield quarantined("retailcrm", f"{entity.history_path} after {since} item {i}", reason, item)
                else:
                    good.append(history_row(item))
            if good:
                yield good
            since = items[-1]["id"]
            state["since_id"] = since

    return journal


def corporate_contacts(client: Client, record: dict[str, Any]) -> dict[str, Any]:
    """A corporate customer's list entry names only its main contact; all contact persons come from
    `/customers-corporate/{id}/contacts`, added under the key the journal's snapshots use."""
    contacts: list[Any] = []
    page = 1
    while True:
        body = get_json(client, f"/customers-corporate/{record['id']}/contacts", {"by": "id", "limit": 100, "page": page})
        contacts += body.get("contacts") or []
        if page >= ((body.get("pagination") or {}).get("totalPageCount") or 1):
            break
        page += 1
    return {**record, "customerContacts": contacts}
