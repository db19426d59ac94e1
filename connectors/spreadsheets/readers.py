"""Turn the bytes of an inbox file into sheets of text rows, or say why the file is unreadable.

The file name is not trusted: 1C and web shops save HTML under `.xls`, Excel saves "Unicode text"
as UTF-16, and an encrypted xlsx is an OLE container, not a zip. The content decides the reader.

CSV exports from 1C and Excel are usually cp1251 with `;`, sometimes UTF-8 with a BOM, and may
start with a title block; the encoding is sniffed per file and decoding happens per line, so one
bad byte costs one line, not the file. The delimiter is the one under which some early line looks
most like the mapped header (the caller scores lines), which also survives title rows and decimal
commas. Cells come back as stripped text; workbook dates become ISO text and integral numbers
lose their `.0`, so a phone typed as a number stays a phone.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Callable, Iterable, Iterator

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DELIMITERS = (";", ",", "\t", "|")
SAMPLE_LINES = 40


class Unreadable(Exception):
    """The file as a whole cannot be read; the reason is shown to whoever fixes the file."""


@dataclass
class Row:
    number: int  # 1-based line (csv) or row (workbook) as the person sees it in their editor
    position: str  # "file.csv line 17" or "book.xlsx sheet 'Лист1' row 17"
    cells: list[str] | None
    raw: str
    error: str | None = None


@dataclass
class Sheet:
    name: str  # "" for csv
    rows: Iterable[Row]
    strict_width: bool  # csv: a line must have exactly the header's fields; workbooks drop trailing blanks


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if value.time() == time(0) else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


def sniff_kind(data: bytes) -> str:
    """'xlsx', 'xls' or 'csv' by content; raises `Unreadable` for what is none of them."""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise Unreadable("the file is empty")
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise Unreadable("the workbook is password-protected (encrypted); save it again without a password")
        return "xls"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype", b"<?xml", b"<table", b"{\\rtf")):
        raise Unreadable("this is an HTML/XML/RTF document saved under a spreadsheet name; save it as xlsx or csv")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    if b"\x00" in data[:4096] or data.startswith((b"%PDF", b"\x1f\x8b", b"Rar!", b"7z")):
        raise Unreadable("binary content that is neither xlsx, xls nor csv text")
    return "csv"


def read(file_name: str, data: bytes, header_score: Callable[[list[str]], int]) -> list[Sheet]:
    kind = sniff_kind(data)
    if kind == "xlsx":
        return read_xlsx(file_name, data)
    if kind == "xls":
        return read_xls(file_name, data)
    return [read_csv(file_name, data, header_score)]


def _choose_delimiter(sample: list[str], header_score: Callable[[list[str]], int]) -> str:
    def rank(d: str) -> tuple[int, int]:
        parsed = list(csv.reader(sample, delimiter=d))
        best_header = max((header_score([c.strip() for c in cells]) for cells in parsed), default=0)
        widths = Counter(len(cells) for cells in parsed if len(cells) > 1)
        typical = widths.most_common(1)[0][0] if widths else 1
        return best_header, typical

    return max(DELIMITERS, key=rank)


def read_csv(file_name: str, data: bytes, header_score: Callable[[list[str]], int] = lambda cells: 0) -> Sheet:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable(f"starts with a UTF-16 mark but is not UTF-16 text ({exc.reason})") from exc
    encoding = detect_encoding(data)
    lines = data.splitlines()
    sample = [line.decode(encoding, "replace").lstrip("\ufeff") for line in lines[:SAMPLE_LINES]]
    delimiter = _choose_delimiter(sample, header_score)

    def rows() -> Iterator[Row]:
        pending: list[Row] = []  # undecodable lines, reported in order with the parsed ones
        chunk: list[tuple[int, str]] = []  # (line number, text) of the lines the parser took for one record

        def text_lines() -> Iterator[str]:
            for no, raw in enumerate(lines, start=1):
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    pending.append(Row(no, f"{file_name} line {no}", None, raw.decode(encoding, "backslashreplace"),
                                       f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not valid {encoding}"))
                    continue
                text = text.lstrip("\ufeff") if no == 1 else text
                chunk.append((no, text))
                yield text + "\n"

        for cells in csv.reader(text_lines(), delimiter=delimiter):
            first, raw = chunk[0][0], "\n".join(t for _, t in chunk)
            chunk.clear()
            yield from pending
            pending.clear()
            if any(c.strip() for c in cells):
                yield Row(first, f"{file_name} line {first}", [c.strip() for c in cells], raw)
        yield from pending

    return Sheet("", rows(), strict_width=True)


def _workbook_rows(file_name: str, sheet: str, values: Iterable[tuple]) -> list[Row]:
    out = []
    for no, row in enumerate(values, start=1):
        cells = [cell_text(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            out.append(Row(no, f"{file_name} sheet '{sheet}' row {no}", cells, repr(tuple(cells))))
    return out


def read_xlsx(file_name: str, data: bytes) -> list[Sheet]:
    """Every worksheet, read eagerly so a corrupt part fails the whole file before any row loads."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = []
        for ws in book.worksheets:
            ws.reset_dimensions()  # some writers store a wrong used range; read what is there
            sheets.append(Sheet(ws.title, _workbook_rows(file_name, ws.title, ws.iter_rows(values_only=True)), False))
        book.close()
        return sheets
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise Unreadable(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})") from exc


def read_xls(file_name: str, data: bytes) -> list[Sheet]:
    """Legacy BIFF workbooks (Excel 97-2003, what older 1C configurations save) via xlrd."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:  # xlrd raises XLRDError, struct.error, AssertionError... on bad files
        message = str(exc)
        if "encrypted" in message.lower():
            raise Unreadable("the workbook is password-protected (encrypted); save it again without a password") from exc
        raise Unreadable(f"not a readable xls workbook ({type(exc).__name__}: {message})") from exc

    def value(cell):
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
            except (ValueError, OverflowError):
                return cell.value
        if cell.ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(cell.value)
        if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
            return None
        return cell.value

    return [
        Sheet(sh.name, _workbook_rows(file_name, sh.name, ([value(c) for c in sh.row(r)] for r in range(sh.nrows))), False)
        for sh in book.sheets()
    ]


__all__ = ["Row", "Sheet", "Unreadable", "read", "read_csv", "read_xlsx", "read_xls", "sniff_kind", "detect_encoding", "cell_text"]
