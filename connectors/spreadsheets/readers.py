"""Turn a spreadsheet file into (position, cells) rows, or say exactly why a row is unreadable.

CSV exports from 1C and Excel are usually cp1251 with `;`, sometimes UTF-8 with a BOM; we sniff
both per file and per line, so one bad byte costs one line, not the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass
class Row:
    position: str  # "file.csv line 17" or "book.xlsx sheet 'Лист1' row 17"
    cells: list[str] | None
    raw: str
    error: str | None = None


def detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


def detect_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def read_csv(path: Path, data: bytes | None = None) -> tuple[list[str], Iterator[Row]]:
    data = path.read_bytes() if data is None else data
    encoding = detect_encoding(data)
    lines = data.splitlines()
    if not lines:
        return [], iter(())
    header_text = lines[0].decode(encoding, "replace").lstrip("\ufeff")
    delimiter = detect_delimiter(header_text)
    header = [h.strip() for h in next(csv.reader([header_text], delimiter=delimiter))]

    def rows() -> Iterator[Row]:
        for no, raw in enumerate(lines[1:], start=2):
            position = f"{path.name} line {no}"
            if not raw.strip():
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                yield Row(position, None, raw.decode(encoding, "backslashreplace"),
                          f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not valid {encoding}")
                continue
            cells = next(csv.reader([text], delimiter=delimiter))
            if len(cells) != len(header):
                yield Row(position, None, text, f"{len(cells)} fields where the header has {len(header)}")
                continue
            yield Row(position, [c.strip() for c in cells], text)

    return header, rows()


def read_xlsx(path: Path) -> Iterator[tuple[str, list[str], Iterator[Row]]]:
    """Every sheet of a workbook: (sheet name, header, rows)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    for sheet in book.worksheets:
        it = sheet.iter_rows(values_only=True)
        first = next(it, None)
        if not first:
            continue
        header = [str(c).strip() if c is not None else "" for c in first]

        def rows(it=it, sheet=sheet, header=header) -> Iterator[Row]:
            for no, values in enumerate(it, start=2):
                cells = ["" if v is None else (v.strftime("%d.%m.%Y") if hasattr(v, "strftime") else str(v)).strip() for v in values]
                if not any(cells):
                    continue
                cells = (cells + [""] * len(header))[: max(len(header), len(cells))]
                position = f"{path.name} sheet '{sheet.title}' row {no}"
                if len(cells) > len(header) and any(cells[len(header):]):
                    yield Row(position, None, repr(values), f"{len(cells)} cells where the header has {len(header)}")
                    continue
                yield Row(position, cells[: len(header)], repr(values))

        yield sheet.title, header, rows()


__all__ = ["Row", "read_csv", "read_xlsx", "detect_encoding", "detect_delimiter"]
