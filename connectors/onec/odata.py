"""1C:Enterprise standard OData as a dlt source `onec`: counterparties, products, sales documents
and their lines, as received, merged on `Ref_Key`.

Why it reads the way it does (1C's OData has no modified-at filter; ../shared/specs/sources.md §4):
- Catalogs (`counterparties`, `products`) are paged by `$top/$skip` in `Ref_Key` order, and only
  records whose opaque `DataVersion` differs from the one loaded are loaded. The first run reads
  whole records; later runs read only keys and versions and fetch the changed records by key
  (`_changed_since_last_run`). The versions loaded are read back from the raw table, which a load
  changes only when it succeeds, so a run that dies half-way loses nothing: the next one sees the
  same differences again. A second run over unchanged data loads nothing.
- Documents (`sales`) are read with `Date ge datetime'…'` from the newest `Date` loaded, minus
  a look-back window (default 30 days): 1C users edit, unpost, mark for deletion and back-date
  documents, and `DataVersion` cannot be filtered or ordered. Within the window, a document whose
  `DataVersion` equals the one loaded last run is not loaded again (its lines neither). Documents
  with 1C's empty date are asked for on every run (they cannot be windowed) and quarantined.
  Older edits need a full re-read (a fresh state, or an earlier `sales_since`). Paging is ordered
  by `Date, Ref_Key`, so rows written during a run land after the current offset.
- `sale_items` come from the `Товары` table part embedded in each document (the same snapshot as
  the header, no extra requests) and merge on `Ref_Key + LineNumber` with `Ref_Key` as the merge
  key, so a line removed from an edited document disappears too.
- Nothing is dropped for `DeletionMark`: marked records load with the flag (staging exposes
  `is_deleted`); a 1C purge only removes objects already marked, whose last state is kept.
- Field names stay 1C's own (dlt's `direct` naming; snake_case would turn Cyrillic into `x`).
  Datetimes stay text: 1C sends local time without a zone, staging attaches it. Nested table
  parts stay JSON columns (`max_table_nesting=0`).
- A record without a usable `Ref_Key`, or a document without a date, goes to `quarantine`.

Standalone:  ONEC_API_KEY=demo-key python -m connectors.onec odata --base-url http://127.0.0.1:8307
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable, Iterator

import dlt
from dlt.common.schema import Schema

from connectors.common.arrow import keep_dlt_columns, rows_as_arrow
from connectors.common.contracts import PII_CONTRACT, require_fields
from connectors.common.loaded import loaded_rows
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.onec.client import fetch_rows, make_client, pages
from connectors.onec.settings import (
    COUNTERPARTIES, COUNTERPARTY_FIELDS, DEFAULT_USER, EMPTY_DATE, EMPTY_REF, PAGE_SIZE, PRODUCT_FIELDS,
    PRODUCTS, SALE_LINES, SALES, SALES_FIELDS, SALES_LOOKBACK_DAYS, SALES_SINCE,
)

SYSTEM = "onec"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _columns(**types: str) -> dict[str, dict[str, str]]:
    """Column hints, one fresh dict per column: dlt writes the column name into the hint dict, so
    a dict shared between columns ends up naming them all the same."""
    return {name: {"data_type": t} for name, t in types.items()}


# The catalog's contact table part is a list: declared, so a page of cards can go to dlt as Arrow.
COUNTERPARTY_COLUMNS = dict(DataVersion="text", ДатаСоздания="text", КонтактнаяИнформация="json")
KEY_FIELDS = "Ref_Key,DataVersion"  # what a later run reads of a whole catalog
BY_KEY = 15  # records asked for by key in one `Ref_Key eq guid'…' or …` filter (URL length; specs §4)
SALES_COLUMNS = dict(Date="text", DataVersion="text", СуммаДокумента="double")
LINE_COLUMNS = dict(LineNumber="text", Количество="double", Цена="double", Сумма="double", СуммаНДС="double")


def _ref_issue(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "record is not an object"
    ref = record.get("Ref_Key")
    if not isinstance(ref, str) or not GUID.fullmatch(ref) or ref == EMPTY_REF:
        return "Ref_Key is not a 1C reference"
    if not isinstance(record.get("DataVersion"), str):
        return "DataVersion is missing"
    return None


def _sale_issue(record: Any) -> str | None:
    issue = _ref_issue(record)
    if issue:
        return issue
    date = record.get("Date")
    try:
        if not isinstance(date, str) or date.startswith(EMPTY_DATE[:10]):
            raise ValueError
        datetime.fromisoformat(date)
    except ValueError:
        return "document has no date (empty or unreadable Date)"
    lines = record.get(SALE_LINES)
    if not isinstance(lines, list) or not all(isinstance(x, dict) and str(x.get("LineNumber", "")).isdigit() for x in lines):
        return f"{SALE_LINES} is not a list of numbered lines"
    return None


def _screened(rows: Iterable[Any], where: str, issue) -> Iterator[Any]:
    for i, row in enumerate(rows):
        reason = issue(row)
        yield (quarantined(SYSTEM, f"{where} item {i}", reason, row) if reason else row)


def _new_versions(rows: list[Any], entity: str, where: str, versions: dict[str, str], fields: tuple[str, ...],
                  hints: dict[str, dict[str, str]] | None = None, issue=_ref_issue) -> Iterator[Any]:
    """Of full records, those whose `DataVersion` is new since the last load (their version noted,
    so a record listed twice by offset paging loads once), with `hints` as Arrow tables when the
    page's values take the declared types (common/arrow.py: dlt's row-by-row normaliser was 6 of a
    14.7 s full read at 100,000 people); quarantine rows for what `issue` refuses."""
    if rows:
        require_fields(rows[0], fields, system=SYSTEM, where=entity)
    changed = []
    for row in _screened(rows, f"{entity} {where}", issue):
        if not isinstance(row, dict):
            yield row  # a quarantine row
        elif versions.get(row["Ref_Key"]) != row["DataVersion"]:
            versions[row["Ref_Key"]] = row["DataVersion"]
            changed.append(row)
    if changed:
        yield changed if hints is None else rows_as_arrow(changed, hints, hint_name=str)


def _loaded_versions(table: str, dated_from: str | None = None) -> dict[str, str]:
    """`Ref_Key` → `DataVersion` of the records as loaded (documents: those dated from
    `dated_from`), read back from the raw table (connectors/common/loaded.py). In dlt's state, as
    before, a catalog's were 20 MB at a million people."""
    since = None if dated_from is None else ("Date", dated_from)
    return dict(loaded_rows(table, ("Ref_Key", "DataVersion"), since))


def _changed_since_last_run(client, entity: str, table: str, fields: tuple[str, ...], top: int,
                            hints: dict[str, dict[str, str]]) -> Iterator[Any]:
    """Every record of a catalog whose `DataVersion` is new since the last load.

    The first run reads the catalog page by page. Later runs read only the keys and versions
    (`$select=Ref_Key,DataVersion`, a tenth of the bytes) and fetch the records whose version
    moved by key, `BY_KEY` at a time; a page where more than a quarter moved, or where a key is
    unusable (to quarantine the whole record), is read again whole. A record edited between the
    two reads is loaded with its newer version; one that shifted out of a page read again is
    seen by the next run, because only versions that were loaded are noted. A renamed field is
    found on the first changed record: unchanged records load nothing that could be wrong."""
    dlt.current.resource_state().pop("data_versions", None)  # where earlier versions kept them
    versions = _loaded_versions(table)
    if not versions:
        for page_no, page in pages(client, entity, {"$orderby": "Ref_Key"}, top):
            yield from _new_versions(page, entity, f"page {page_no}", versions, fields, hints)
        return
    moved: list[str] = []

    def fetch(batch: list[str], where: str) -> Iterator[Any]:
        wanted = " or ".join(f"Ref_Key eq guid'{ref}'" for ref in batch)
        yield from _new_versions(fetch_rows(client, entity, {"$filter": wanted}, where), entity, where,
                                 versions, fields, hints)

    for page_no, keys in pages(client, entity, {"$orderby": "Ref_Key", "$select": KEY_FIELDS}, top):
        new, broken = [], False
        for k in keys:
            ref, version = (k.get("Ref_Key"), k.get("DataVersion")) if isinstance(k, dict) else (None, None)
            if isinstance(ref, str) and version is not None and versions.get(ref) == version:
                continue  # loaded as it is, so a usable key: no need to screen it again
            broken = broken or _ref_issue(k) is not None
            new.append(ref)
        if len(new) * 4 > len(keys) or broken:
            whole = {"$orderby": "Ref_Key", "$top": top, "$skip": (page_no - 1) * top}
            yield from _new_versions(fetch_rows(client, entity, whole, f"page {page_no}"), entity, f"page {page_no}",
                                     versions, fields, hints)
            continue
        moved += new
        while len(moved) >= BY_KEY:
            yield from fetch(moved[:BY_KEY], f"changed records to page {page_no}")
            del moved[:BY_KEY]
    if moved:
        yield from fetch(moved, "changed records at the end")


@dlt.source(schema=Schema(SYSTEM, normalizers={"names": "direct"}), max_table_nesting=0)
def onec_source(
    base_url: str = dlt.config.value,
    password: str = dlt.secrets.value,
    user: str = DEFAULT_USER,
    page_size: int = PAGE_SIZE,
    sales_lookback_days: int = SALES_LOOKBACK_DAYS,
    sales_since: str = SALES_SINCE,
    max_attempts: int = 6,
):
    schema = dlt.current.source_schema()
    if "iso_timestamp" in (schema.settings.get("detections") or []):
        schema.remove_type_detection("iso_timestamp")
    keep_dlt_columns()  # catalog pages and document lines arrive as Arrow tables
    client = make_client(base_url, user, password, attempts=max_attempts)

    @dlt.resource(name="counterparties", primary_key="Ref_Key", write_disposition="merge",
                  schema_contract=PII_CONTRACT, columns=_columns(**COUNTERPARTY_COLUMNS))
    def counterparties() -> Iterator[Any]:
        yield from _changed_since_last_run(client, COUNTERPARTIES, "counterparties", COUNTERPARTY_FIELDS, page_size,
                                           _columns(**COUNTERPARTY_COLUMNS))

    @dlt.resource(name="products", primary_key="Ref_Key", write_disposition="merge", columns=_columns(DataVersion="text"))
    def products() -> Iterator[Any]:
        yield from _changed_since_last_run(client, PRODUCTS, "products", PRODUCT_FIELDS, page_size,
                                           _columns(DataVersion="text"))

    @dlt.resource(name="sales", primary_key="Ref_Key", write_disposition="merge", columns=_columns(**SALES_COLUMNS))
    def sales(date=dlt.sources.incremental("Date", initial_value=sales_since, lag=sales_lookback_days * 86400,
                                           on_cursor_value_missing="include")) -> Iterator[Any]:
        window = f"Date ge datetime'{date.start_value}' or Date eq datetime'{EMPTY_DATE}'"
        params = {"$filter": window, "$orderby": "Date,Ref_Key"}
        dlt.current.resource_state().pop("window_versions", None)  # where earlier versions kept them
        # A document the look-back window reads again loads only when its version changed.
        loaded = _loaded_versions("sales", dated_from=str(date.start_value))
        for page_no, rows in pages(client, SALES, params, page_size):
            # dict rows: sale_items reads each document's lines from them
            yield from _new_versions(rows, SALES, f"page {page_no}", loaded, SALES_FIELDS, issue=_sale_issue)

    line_hints = _columns(**LINE_COLUMNS)

    @dlt.transformer(name="sale_items", data_from=sales, primary_key=("Ref_Key", "LineNumber"), merge_key="Ref_Key",
                     write_disposition="merge", columns=_columns(**LINE_COLUMNS))
    def sale_items(documents: Any) -> Iterator[Any]:
        documents = documents if isinstance(documents, list) else [documents]
        lines = [dict(line, Ref_Key=doc["Ref_Key"]) for doc in documents
                 if isinstance(doc, dict) and "Date" in doc for line in doc[SALE_LINES]]
        if lines:
            yield rows_as_arrow(lines, line_hints, hint_name=str)

    return counterparties, products, sales, sale_items, quarantine_resource()
