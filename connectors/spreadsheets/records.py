"""One inbox file through its mapping entry: find the header, map the columns, check every row.

Yields plain dicts for the entry's table (in batches) and `quarantined(...)` items for what cannot
be used: the whole file (unreadable, header not found), a sheet (header lacks mapped columns), or
one row (bad bytes, wrong field count, no record id, a record id repeated in the file, an order
without a readable date or amount). Reasons name the file and columns, never personal values.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from connectors.common.quarantine import quarantined
from connectors.spreadsheets import readers
from connectors.spreadsheets.mapping import DATE_FIELDS, FLAG_FIELDS, PERSON_FIELDS, Entry, Mapping, fold
from connectors.spreadsheets.values import parse_amount, parse_date, parse_flag, parse_status

SOURCE = "spreadsheets"
BATCH = 10_000
_LOOKS_PERSONAL = re.compile(r"@|\d{5,}")


def _shown(cells: list[str]) -> str:
    """Header cells for an error message; a cell that looks like data (an address, a number) is masked."""
    return ", ".join(f"'{c}'" if not _LOOKS_PERSONAL.search(c) else "<value>" for c in cells if c) or "(none)"


def _spellings(entry: Entry, fields: list[str]) -> str:
    return ", ".join(" / ".join(f"'{n}'" for n in entry.columns[f]) + f" ({f})" for f in fields)


def _find_header(rows: list[readers.Row], entry: Entry) -> tuple[int, int]:
    """Index of the row naming the most mapped fields among the first rows, and its score."""
    best, score = -1, 0
    for i, row in enumerate(rows):
        if row.cells is None:
            continue
        s = entry.header_score(row.cells)
        if s > score:
            best, score = i, s
    return best, score


def file_records(file_name: str, data: bytes, file_hash: str, entry: Entry, mapping: Mapping) -> Iterator[Any]:
    try:
        sheets = readers.read(file_name, data, entry.header_score)
    except readers.Unreadable as exc:
        yield quarantined(SOURCE, file_name, f"{file_name}: unreadable: {exc}",
                          {"file": file_name, "bytes": len(data), "sha256": file_hash})
        return
    if not sheets:
        yield quarantined(SOURCE, file_name, f"{file_name}: the workbook has no worksheets", {"file": file_name})
        return
    chosen = [s for s in sheets if entry.wants_sheet(s.name)] if sheets[0].name else sheets
    if not chosen:
        yield quarantined(SOURCE, file_name, f"{file_name}: no sheet matches {', '.join(entry.sheets)} "
                          f"(mapping '{entry.name}'); sheets: {', '.join(s.name for s in sheets)}", {"file": file_name})
        return
    loaded, misfits = 0, []
    seen: dict[str, str] = {}  # record id -> where it was first seen, across the file's sheets
    for sheet in chosen:
        outcome: dict[str, Any] = {}
        for item in _sheet_records(file_name, sheet, file_hash, entry, mapping, outcome, seen):
            yield item
        if outcome.get("header_error"):
            misfits.append(outcome["header_error"])
        else:
            loaded += 1
    # Without a `sheets:` list, sheets that do not carry the header (a summary, a chart) are
    # skipped; they are an error only if no sheet at all fits, or if the mapping named them.
    report = misfits if (entry.sheets or not loaded) else []
    for where, reason, header in report:
        yield quarantined(SOURCE, where, reason, {"header": header})


def _sheet_records(file_name: str, sheet: readers.Sheet, file_hash: str, entry: Entry, mapping: Mapping,
                   outcome: dict[str, Any], seen: dict[str, str]) -> Iterator[Any]:
    where = file_name + (f" sheet '{sheet.name}'" if sheet.name else "")
    rows = iter(sheet.rows)
    head: list[readers.Row] = []
    for row in rows:
        head.append(row)
        if len(head) >= entry.header_search_rows:
            break
    at, _ = _find_header(head, entry)
    header = head[at].cells if at >= 0 else next((r.cells for r in head if r.cells), [])
    columns, missing = entry.locate(header) if at >= 0 else ({}, entry.required)
    expected = _spellings(entry, missing)
    if entry.table == "members" and at >= 0 and not missing and not PERSON_FIELDS & columns.keys():
        expected = "one of " + _spellings(entry, sorted(PERSON_FIELDS & entry.columns.keys()))
    if at < 0 or expected:
        found = f"columns found: {_shown(header)}" if at >= 0 else (
            f"no row among the first {entry.header_search_rows} names any mapped column; first row: {_shown(header)}")
        outcome["header_error"] = (where, f"{where}: mapping '{entry.name}' expects {expected} "
                                          f"but the header lacks them; {found}", header)
        return
    header_row = head[at]
    body = _chain(head[at + 1:], rows)
    yield from _rows(file_name, sheet, header_row, columns, body, file_hash, entry, mapping, seen)


def _chain(first: list[readers.Row], rest: Iterator[readers.Row]) -> Iterator[readers.Row]:
    yield from first
    yield from rest


def _rows(file_name: str, sheet: readers.Sheet, header_row: readers.Row, columns: dict[str, int],
          body: Iterator[readers.Row], file_hash: str, entry: Entry, mapping: Mapping,
          seen: dict[str, str]) -> Iterator[Any]:
    header = header_row.cells
    width = len(header)
    batch: list[dict[str, Any]] = []
    ref_prefix = mapping.by_name(entry.customer_ref_mapping).id_prefix if entry.customer_ref_mapping else None
    for row in body:
        if row.error:
            yield quarantined(SOURCE, row.position, row.error, row.raw)
            continue
        cells = row.cells
        if len(cells) != width:
            extra_blank = len(cells) > width and not any(cells[width:])
            if sheet.strict_width and not extra_blank:
                yield quarantined(SOURCE, row.position, f"{len(cells)} fields where the header has {width}", row.raw)
                continue
            if len(cells) > width and not extra_blank:
                yield quarantined(SOURCE, row.position, f"{len(cells)} cells where the header has {width}", row.raw)
                continue
            cells = (cells + [""] * width)[:width]
        if entry.footer and fold(next((c for c in cells if c), "")).startswith(entry.footer):
            continue  # "Итого" lines under a 1C report
        values = {f: cells[i] for f, i in columns.items()}
        rid = values.pop("record_id")
        if not rid:
            yield quarantined(SOURCE, row.position, "record id is empty", row.raw)
            continue
        record_id = entry.id_prefix + (f"{sheet.name}:" if entry.record_id_per_sheet else "") + rid
        if record_id in seen:
            yield quarantined(SOURCE, row.position, f"record id repeats {seen[record_id]}", row.raw)
            continue
        problem = _canonicalise(values, entry)
        if problem:
            yield quarantined(SOURCE, row.position, problem, row.raw)
            continue
        seen[record_id] = row.position
        if ref_prefix is not None and values.get("customer_ref"):
            values["customer_record_id"] = ref_prefix + values["customer_ref"]
        batch.append({
            **values,
            "record_id": record_id,
            "source_record_id": rid,
            "mapping_name": entry.name,
            "source_file": file_name,
            "source_sheet": sheet.name or None,
            "source_row": str(row.number),
            "source_position": row.position,
            "file_sha256": file_hash,
            "payload": json.dumps(dict(zip(header, cells)), ensure_ascii=False),
        })
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _canonicalise(values: dict[str, str], entry: Entry) -> str | None:
    """Rewrite dates, flags, amounts and statuses in place; the reason if an order is unusable.

    A member's unreadable birthday or flag keeps its original text (staging flags it: the person
    is still worth linking); an order without a date or amount would corrupt revenue, so it is
    refused.
    """
    for f in DATE_FIELDS & values.keys():
        if values[f]:
            iso = parse_date(values[f], entry.date_formats)
            if iso is None and entry.table == "orders":
                return f"{f} is not a date in the formats {', '.join(entry.date_formats)}"
            values[f] = iso or values[f]
        elif f == "ordered_at":
            return "ordered_at is empty"
    for f in FLAG_FIELDS & values.keys():
        if values[f]:
            values[f] = parse_flag(values[f], entry.flags) or values[f]
    if entry.table == "orders":
        amount = parse_amount(values["amount"]) if values["amount"] else None
        if amount is None:
            return "amount is empty" if not values["amount"] else "amount is not a number"
        values["amount"] = amount
        raw_status = values.get("status", "")
        values["status_raw"] = raw_status
        values["status"] = parse_status(raw_status, entry.statuses, entry.default_status)
    return None
