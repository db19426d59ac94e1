"""Spreadsheet inbox as a dlt source: csv/xlsx/xls files in a folder or an S3 prefix, mapped by YAML.

Shops send what their tools export: 1C reports in cp1251 with a title block, Excel workbooks with
a sheet per event, legacy .xls. A mapping entry (connectors/spreadsheets/README.md) claims files
by name and says which table they feed (`members`: person-like rows; `orders`) and what each
column means; the header row is found by those column names, wherever it is.

Each file is read once per content: its SHA-256 (with the digest of its mapping entry) is kept in
dlt state and an unchanged file is skipped; on S3 the size and ETag let it be skipped without a
download. A changed file is read again and *replaces* its old rows: the tables merge with
delete-insert on `source_file` (merge key) and (`source_file`, `record_id`) (primary key), so rows
that left the file leave the table too, and rows of different files never replace each other.
`record_id` is unique within its entry wherever the business makes it so: prefixed per entry, and
with the file or the order's year where ids restart (`record_id_scope`); an entry whose ids are
stable across exports (a CRM's) has the same record in several files, and staging keeps the
newest export's row. A file that disappears from the inbox keeps its rows (moving processed files
aside is normal); `withdraw` takes a file's rows out (see `_withdrawals`).

Good rows land with our field names (values as text; dates ISO, consent and subscription-status
cells granted/revoked/none, amounts plain decimals) plus the whole original row as `payload`, the
mapping entry's name and kind (each entry is a source system of its own downstream) and the
file's export date (`file_exported_at`: its modification time, LastModified on S3, else the time
it was read), which dates consent stated without a date column. What cannot be used goes to
`quarantine`: a file that cannot be read at all, whatever its reader raised, or whose header
lacks mapped columns (one row naming the file and the columns it has), and single rows (bad bytes,
an unbalanced quote, wrong field count, no or repeated record id, an order without a readable date
or amount, a consent word the mapping's vocabulary does not know) with file, sheet, row and
reason. One file's failure never stops the others, and no reason or log line carries a value.

Standalone:  python -m connectors.spreadsheets --inbox data/demo/inbox
             python -m connectors.spreadsheets withdraw --inbox data/demo/inbox FILE...
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

import dlt

from connectors.common.arrow import keep_dlt_columns, rows_as_arrow
from connectors.common.batching import in_lists
from connectors.common.loaded import has_table
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.spreadsheets.inbox import Inbox, open_inbox
from connectors.spreadsheets.mapping import MEMBER_FIELDS, ORDER_FIELDS, Mapping, MappingError, load_mapping
from connectors.spreadsheets.records import SOURCE, file_records

log = logging.getLogger(__name__)

PROVENANCE = ("record_id", "source_record_id", "mapping_name", "mapping_kind", "source_file", "source_sheet",
              "source_row", "source_position", "file_sha256", "file_exported_at", "field_headers", "payload")


def _text_columns(names) -> dict[str, dict[str, str]]:
    """Every column declared as text (one dict each: dlt annotates them in place), so columns no
    file has mapped yet still exist for staging, and ISO dates are never re-typed by inference."""
    return {c: {"data_type": "text"} for c in names}


MEMBER_COLUMNS = (*PROVENANCE, *sorted(MEMBER_FIELDS))
ORDER_COLUMNS = (*PROVENANCE, *sorted(ORDER_FIELDS), "status_raw", "customer_source_system", "customer_record_id")
# A withdrawn file's tombstone: one row flagged here deletes every row of its `source_file` (the
# merge key) and is itself never stored.
WITHDRAWN = {"is_withdrawn": {"data_type": "bool", "hard_delete": True}}
# Parquet load files: DuckDB ingests them ~15x faster than the default INSERT statements (a 1 M
# customer demo inbox spent six minutes loading otherwise).
TABLE_HINTS = dict(primary_key=("source_file", "record_id"), merge_key="source_file", write_disposition="merge",
                   file_format="parquet")


def _withdrawals(names: list[str], table: str, hashes: dict[str, str], stamps: dict[str, str],
                 withdrawn: dict[str, str]) -> Iterator[Any]:
    """Tombstones for files taken out by `withdraw`: their rows leave the table in this load.

    The withdrawn version (its content hash) is remembered while the inbox still holds the file:
    exactly that file is not read again, a changed (fixed) one loads as usual, and once the file
    has left the inbox, putting it back loads it. A file never loaded has nothing to withdraw.
    """
    for name in names:
        yield {"source_file": name, "record_id": "", "is_withdrawn": True}
        loaded = hashes.pop(name, None)
        stamps.pop(name, None)
        if loaded:
            withdrawn[name] = loaded.split(":")[0]
            log.info("spreadsheets/%s: withdrew the rows of %s", table, name)


def _guarded(name: str, items: Iterator[Any]) -> Iterator[Any]:
    """Whatever reading one file raises becomes that file's quarantine row; the run goes on.

    The readers turn every known failure into a reason of their own; this is the net under them.
    Rows already passed on stay (the reason says so); the message of the error is not shown (it
    could quote a cell), only its type and where reading stopped.
    """
    passed = 0
    try:
        for item in items:
            passed += 1
            yield item
    except Exception as exc:
        done = "; rows read before the failure were kept" if passed else ""
        log.warning("spreadsheets: %s: reading failed (%s)%s", name, type(exc).__name__, done)
        yield quarantined(SOURCE, name, f"{name}: unreadable: reading failed ({type(exc).__name__}){done}",
                          {"file": name})


def _table_items(inbox: Inbox, mapping: Mapping, table: str, report_unmatched: bool,
                 withdraw: list[str], columns: dict[str, dict[str, Any]]) -> Iterator[Any]:
    """Rows of every new or changed file whose mapping entry feeds `table`.

    State per resource: `file_hashes` (name -> "<sha256>:<entry digest>", the authority),
    `file_stamps` (name -> size/mtime or size/ETag, a shortcut that avoids reading unchanged files)
    and `withdrawn` (name -> sha256 of the version taken out by `withdraw`).
    """
    state = dlt.current.resource_state()
    hashes: dict[str, str] = state.setdefault("file_hashes", {})
    stamps: dict[str, str] = state.setdefault("file_stamps", {})
    withdrawn: dict[str, str] = state.setdefault("withdrawn", {})
    if not has_table(table, columns):  # the table exists even before its first file arrives
        yield dlt.mark.materialize_table_schema()
    yield from _withdrawals(withdraw, table, hashes, stamps, withdrawn)
    read = skipped = 0
    warned: set[str] = set()
    listed: set[str] = set()
    for f in inbox.files():
        listed.add(f.name)
        entry = mapping.entry_for(f.name)
        if f.name in withdraw:
            continue
        if entry is None:
            if report_unmatched and stamps.get(f.name) != f.stamp:
                yield quarantined(SOURCE, f.name, f"{f.name}: no mapping entry's patterns match this file name",
                                  {"file": f.name})
                stamps[f.name] = f.stamp
            continue
        if entry.table != table:
            continue
        if stamps.get(f.name) == f.stamp and (f.name in withdrawn or hashes.get(f.name, "").endswith(":" + entry.digest)):
            skipped += 1
            continue
        try:
            data = inbox.read(f.name)
        except Exception as exc:  # vanished, no permission, the object store failing: tried again next run
            yield quarantined(SOURCE, f.name, f"{f.name}: could not be fetched from the inbox ({type(exc).__name__}); "
                              "it is tried again on the next run", {"file": f.name})
            continue
        file_hash = hashlib.sha256(data).hexdigest()
        key = f"{file_hash}:{entry.digest}"
        if withdrawn.get(f.name) == file_hash or hashes.get(f.name) == key:
            skipped += 1
        else:
            read += 1
            if not entry.has_person_fields and entry.name not in warned:
                warned.add(entry.name)
                log.warning("spreadsheets: mapping entry '%s' (file %s) maps no name, phone or e-mail column: its "
                            "records load with their ids only, so only orders naming those ids can reach them",
                            entry.name, f.name)
            exported = (f.modified_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
            for item in in_lists(_guarded(f.name, file_records(f.name, data, file_hash, entry,
                                                           exported.isoformat(timespec="seconds")))):
                # Arrow when every value takes its declared type (all text): dlt's row-by-row
                # normaliser was 5.4 of a 16.6 s inbox load at 100,000 people.
                yield rows_as_arrow(item, columns) if isinstance(item, list) else item
            hashes[f.name] = key
            withdrawn.pop(f.name, None)
        stamps[f.name] = f.stamp
    for name in set(withdrawn) - listed:  # a withdrawn file that leaves the inbox loads if it comes back
        del withdrawn[name]
    log.info("spreadsheets/%s: %d file(s) read, %d unchanged skipped (inbox %s)", table, read, skipped, inbox.location)


@dlt.source(name="spreadsheets", max_table_nesting=0)
def spreadsheets_source(
    inbox: str = dlt.config.value,
    mapping_path: Optional[str] = None,
    s3_endpoint_url: Optional[str] = None,
    s3_access_key_id: Optional[str] = dlt.secrets.value,
    s3_secret_access_key: Optional[str] = dlt.secrets.value,
    s3_region: Optional[str] = None,
    withdraw: Optional[list[str]] = None,
):
    """`inbox` is a folder path or `s3://bucket/prefix/`; the S3 arguments are used only for the latter.
    `withdraw`: file names (relative to the inbox) whose rows this run takes out (`_withdrawals`)."""
    withdraw = list(withdraw or [])
    bad = [n for n in withdraw if not n or "/" in n or "\\" in n or n in (".", "..")]
    if bad:
        raise ValueError(f"withdraw takes file names as the inbox lists them, not paths: {', '.join(bad)}")
    mapping = load_mapping(mapping_path)
    box = open_inbox(inbox, s3_endpoint_url=s3_endpoint_url, s3_access_key_id=s3_access_key_id,
                     s3_secret_access_key=s3_secret_access_key, s3_region=s3_region)

    keep_dlt_columns()  # rows arrive as Arrow tables

    @dlt.resource(name="members", columns={**_text_columns(MEMBER_COLUMNS), **WITHDRAWN}, **TABLE_HINTS)
    def members() -> Iterator[Any]:
        """Person-like rows of every members entry; also reports files no entry claims."""
        yield from _table_items(box, mapping, "members", True, withdraw, _text_columns(MEMBER_COLUMNS))

    @dlt.resource(name="orders", columns={**_text_columns(ORDER_COLUMNS), **WITHDRAWN}, **TABLE_HINTS)
    def orders() -> Iterator[Any]:
        yield from _table_items(box, mapping, "orders", False, withdraw, _text_columns(ORDER_COLUMNS))

    return members, orders, quarantine_resource()


__all__ = ["spreadsheets_source", "load_mapping", "MappingError"]
