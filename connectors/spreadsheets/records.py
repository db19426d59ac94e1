"""One inbox file through its mapping entry: find the header, map the columns, check every row.

Yields plain dicts for the entry's table (in batches) and `quarantined(...)` items for what cannot
be used: the whole file (unreadable, header not found), a sheet (header lacks mapped columns), or
one row (bad bytes, an unbalanced quote, wrong field count, no record id, a record id repeated in
the file, an order without a readable date or amount, a consent or status value the vocabulary
does not know).

No personal data in a reason or a log line: they name the file, sheet, row, column and the kind
of problem. Cell values appear only where they are known not to be personal (a header cell that
does not look like a value, a consent word shaped like a word) and otherwise as a hash prefix
(`_masked`), so a reason can still be matched to the value in the quarantined row's `payload`,
which keeps the original row.

Every good row carries where it came from (file, sheet, row), its id within its mapping entry
(`source_record_id`: the row's id, prefixed with what makes it unique in the business: the file
and the sheet (`record_id_scope: file`, `record_id_per_sheet`) or the order's year (`year`); the
entry is a source system of its own downstream and this is its record id), the entry's `kind`,
the header each field was read from (`field_headers`, for evidence), and the file's export date
(`file_exported_at`, UTC ISO), which dates any consent the row states without a date column.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from typing import Any, Iterator

from connectors.common.quarantine import quarantined
from connectors.spreadsheets import readers
from connectors.spreadsheets.mapping import CONSENT_FIELDS, DATE_FIELDS, PERSON_FIELDS, Entry, fold
from connectors.spreadsheets.values import parse_amount, parse_consent, parse_date, parse_status

log = logging.getLogger(__name__)

SOURCE = "spreadsheets"
BATCH = 10_000
# An address, a long number (phone, card, passport), a date, a "+7 ...": data, not a header or a word.
_LOOKS_PERSONAL = re.compile(r"@|\d{5,}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\+\s*\d|\d[\s()-]+\d{2}")
# Every word capitalised ("Иванов Иван", "ИВАНОВА"): shaped like a name, so not repeated.
_NAME_SHAPED = re.compile(r"[A-ZА-ЯЁ][\w'-]*(\s+[A-ZА-ЯЁ][\w'.-]*)*")


def _masked(text: str) -> str:
    """A value that must not appear in clear: its length and a hash prefix (the quarantined row's
    payload holds the value itself)."""
    return f"<a value of {len(text)} characters, sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}>"


def _shown(cells: list[str]) -> str:
    """Header cells for an error message; a cell that looks like data (an address, a number, a
    date) is masked. Only a row that names a mapped column is ever shown: a header."""
    return ", ".join(f"'{c}'" if not _LOOKS_PERSONAL.search(c) else _masked(c) for c in cells if c) or "(none)"


def _shown_word(text: str) -> str:
    """A consent or status cell for a reason: a word ('может быть') is named so it can be added
    to the vocabulary; anything that may be personal (digits, an address, a name-shaped or long
    value) is masked."""
    if len(text) > 30 or re.search(r"\d|@", text) or _NAME_SHAPED.fullmatch(text.strip()):
        return _masked(text)
    return f"'{text}'"


def _spellings(entry: Entry, fields: list[str]) -> str:
    return ", ".join(" / ".join(f"'{n}'" for n in entry.columns[f]) + f" ({f})" for f in fields)


def _payload_keys(header: list[str]) -> list[str]:
    """Keys for a row's payload: a repeated header gets ` (2)`, ` (3)`; a blank one `column N`, so
    no cell of the original row overwrites another in the payload."""
    seen: Counter[str] = Counter()
    keys = []
    for i, name in enumerate(header):
        name = name or f"column {i + 1}"
        seen[name] += 1
        keys.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return keys


def _warn_duplicate_headers(where: str, header: list[str], columns: dict[str, int], entry: Entry) -> None:
    """A header written twice is reported, never silently resolved: a mapped field reads the first
    such column (the others stay in the payload); one warning per sheet names the columns."""
    positions: dict[str, list[int]] = {}
    for i, cell in enumerate(header):
        if cell:
            positions.setdefault(fold(cell), []).append(i)
    for folded, found in positions.items():
        if len(found) < 2:
            continue
        fields = sorted(f for f, i in columns.items() if i == found[0])
        use = f"; {', '.join(fields)} read from column {found[0] + 1}" if fields else ""
        log.warning("spreadsheets: %s: column %s appears %d times (columns %s)%s; the others are kept in the "
                    "payload only (mapping '%s'); rename them in the file to map them",
                    where, _shown([header[found[0]]]), len(found), ", ".join(str(i + 1) for i in found), use,
                    entry.name)


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


def file_records(file_name: str, data: bytes, file_hash: str, entry: Entry,
                 exported_at: str | None = None) -> Iterator[Any]:
    """`exported_at`: the file's export date (UTC ISO), written on every row as `file_exported_at`."""
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
        for item in _sheet_records(file_name, sheet, file_hash, entry, outcome, seen, exported_at):
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


def _sheet_records(file_name: str, sheet: readers.Sheet, file_hash: str, entry: Entry,
                   outcome: dict[str, Any], seen: dict[str, str], exported_at: str | None) -> Iterator[Any]:
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
    # An entry that maps name or contact columns but a file that has none of them is the wrong
    # file (the catch-all entry meeting a price list); an entry that maps none is an id-only file.
    if entry.table == "members" and at >= 0 and not missing and entry.has_person_fields \
            and not PERSON_FIELDS & columns.keys():
        expected = "one of " + _spellings(entry, sorted(PERSON_FIELDS & entry.columns.keys()))
    if at < 0 or expected:
        # Without a header row nothing of the file is shown: its first row is as likely to be data.
        found = f"columns found: {_shown(header)}" if at >= 0 else (
            f"no row among the first {entry.header_search_rows} names any mapped column")
        outcome["header_error"] = (where, f"{where}: mapping '{entry.name}' expects {expected} "
                                          f"but the header lacks them; {found}", header)
        return
    _warn_duplicate_headers(where, head[at].cells, columns, entry)
    header_row = head[at]
    body = _chain(head[at + 1:], rows)
    yield from _rows(file_name, sheet, header_row, columns, body, file_hash, entry, seen, exported_at)


def _chain(first: list[readers.Row], rest: Iterator[readers.Row]) -> Iterator[readers.Row]:
    yield from first
    yield from rest


def _scope(entry: Entry, file_name: str, sheet: readers.Sheet, values: dict[str, str]) -> str:
    """What makes a row's id unique in the business, prepended to it: the file (ids restart in
    every file), the order's year (numbers restart every year), nothing (ids stable across the
    entry's exports); then the sheet where ids restart per sheet."""
    scope = {"file": f"{file_name}:", "year": f"{values.get('ordered_at', '')[:4]}:"}.get(entry.record_id_scope, "")
    return scope + (f"{sheet.name}:" if entry.record_id_per_sheet else "")


def _rows(file_name: str, sheet: readers.Sheet, header_row: readers.Row, columns: dict[str, int],
          body: Iterator[readers.Row], file_hash: str, entry: Entry, seen: dict[str, str],
          exported_at: str | None) -> Iterator[Any]:
    header = header_row.cells
    width = len(header)
    keys = _payload_keys(header)
    batch: list[dict[str, Any]] = []
    headers = {f: header[i] for f, i in columns.items()}
    field_headers = json.dumps(headers, ensure_ascii=False)
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
        problem = _canonicalise(values, entry, headers)
        if problem:
            yield quarantined(SOURCE, row.position, problem, row.raw)
            continue
        source_record_id = _scope(entry, file_name, sheet, values) + rid
        record_id = entry.id_prefix + source_record_id
        if record_id in seen:
            yield quarantined(SOURCE, row.position, f"record id repeats {seen[record_id]}", row.raw)
            continue
        seen[record_id] = row.position
        if entry.table == "orders":
            # The buyer's record: in the members entry the order's reference points at, else in the
            # exporting system itself (a shop's order history naming its own customer ids), whether
            # or not that system exported a person file.
            values["customer_source_system"] = entry.customer_ref_mapping or entry.name
            values["customer_record_id"] = values.get("customer_ref") or None
        batch.append({
            **values,
            "record_id": record_id,
            "source_record_id": source_record_id,
            "mapping_name": entry.name,
            "mapping_kind": entry.kind,
            "field_headers": field_headers,
            "file_exported_at": exported_at,
            "source_file": file_name,
            "source_sheet": sheet.name or None,
            "source_row": str(row.number),
            "source_position": row.position,
            "file_sha256": file_hash,
            "payload": json.dumps(dict(zip(keys, cells)), ensure_ascii=False),
        })
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _canonicalise(values: dict[str, str], entry: Entry, headers: dict[str, str]) -> str | None:
    """Rewrite dates, consent, amounts and statuses in place; the reason if the row is unusable.

    A member's unreadable birthday keeps its original text (staging flags it: the person is still
    worth linking); an order without a date or amount would corrupt revenue, so it is refused. A
    consent or status word the vocabulary does not know refuses the row: guessing could turn a
    "no" into a grant, and dropping only the cell would hide that the file says something.
    """
    for f in DATE_FIELDS & values.keys():
        if values[f]:
            iso = parse_date(values[f], entry.date_formats)
            if iso is None and entry.table == "orders":
                return f"{f} is not a date in the formats {', '.join(entry.date_formats)}"
            values[f] = iso or values[f]
        elif f == "ordered_at":
            return "ordered_at is empty"
    for f in sorted(CONSENT_FIELDS & values.keys()):
        if values[f]:
            meaning = parse_consent(values[f], entry.consent)
            if meaning is None:
                what = "status" if f.endswith("_status") else "consent"
                return (f"{what} column '{headers[f]}' ({f}) holds {_shown_word(values[f])}, which the consent "
                        f"vocabulary of mapping '{entry.name}' does not know; add it to consent_values "
                        "(granted, revoked or none)")
            values[f] = meaning
    if entry.table == "orders":
        amount = parse_amount(values["amount"]) if values["amount"] else None
        if amount is None:
            return "amount is empty" if not values["amount"] else "amount is not a number"
        values["amount"] = amount
        raw_status = values.get("status", "")
        values["status_raw"] = raw_status
        values["status"] = parse_status(raw_status, entry.statuses, entry.default_status)
    return None
