"""Turn the bytes of an inbox file into sheets of text rows, or say why the file is unreadable.

The file name is not trusted: 1C and web shops save HTML under `.xls`, Excel saves "Unicode text"
as UTF-16, and an encrypted xlsx is an OLE container, not a zip. The content decides the reader.

CSV exports from 1C and Excel are usually cp1251 with `;`, sometimes UTF-8 with a BOM, and may
start with a title block. Nothing in one line may cost the file: each line is decoded on its own
(a cp1251 line in a UTF-8 file is read right; bytes that are neither are that line's error), an
unbalanced quote costs the line it breaks (`_csv_rows`), and a field over csv's size limit its
own row. A workbook that cannot be read (corrupt zip or XML, a half-written sheet) is `Unreadable`
whatever the library raised, and its message never quotes cell text. The delimiter is the one
under which some early line looks most like the mapped header (the caller scores lines), which
also survives title rows and decimal commas. Cells come back as stripped text; workbook dates
become ISO text and integral numbers lose their `.0`, so a phone typed as a number stays a phone.
"""

from __future__ import annotations

import csv
import io
import re
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
    """The file's encoding if it has one: UTF-8 (with or without a BOM), else cp1251. Lines are
    still decoded one by one (`decode_line`), so a file that mixes them loses nothing to this guess."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


_HIGH_BYTES = bytes(range(0x80, 0x100))


def decode_line(raw: bytes) -> tuple[str | None, str | None]:
    """One line's text, or None and why not.

    UTF-8 first, then cp1251: Russian cp1251 text is practically never valid UTF-8, so a cp1251
    line pasted into a UTF-8 file (or the other way round) is read right. A line that is mostly
    valid UTF-8 with a few stray bytes is *not* re-read as cp1251 (that would garble every
    Cyrillic letter of it): it is refused, and the caller quarantines it with its number.
    """
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        utf8_error = exc
    high = len(raw) - len(raw.translate(None, _HIGH_BYTES))
    utf8_bytes = len(raw.decode("utf-8", "ignore").encode("utf-8")) - (len(raw) - high)  # in valid sequences
    if utf8_bytes * 2 > high:
        column = len(raw[:utf8_error.start].decode("utf-8", "replace")) + 1  # as an editor counts it
        return None, (f"byte 0x{raw[utf8_error.start]:02x} at column {column} is not valid UTF-8, though the rest "
                      "of the line is UTF-8 text")
    try:
        return raw.decode("cp1251"), None
    except UnicodeDecodeError as exc:
        return None, f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is neither UTF-8 nor cp1251 text"


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


def _cells(line: str, delimiter: str) -> list[str]:
    """One sample line's cells, each line on its own (a broken quote or a giant field in the first
    lines must not decide anything about the rest)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _choose_delimiter(sample: list[str], header_score: Callable[[list[str]], int]) -> str:
    def rank(d: str) -> tuple[int, int]:
        parsed = [_cells(line, d) for line in sample]
        best_header = max((header_score([c.strip() for c in cells]) for cells in parsed), default=0)
        widths = Counter(len(cells) for cells in parsed if len(cells) > 1)
        typical = widths.most_common(1)[0][0] if widths else 1
        return best_header, typical

    return max(DELIMITERS, key=rank)


# A quoted cell may span lines (an address, a comment typed with Enter). A quote still open after
# this many lines, or one whose lines do not make a row of the header's width, is unbalanced.
MAX_RECORD_LINES = 100
UNBALANCED = ("a quote opens a cell that no following line closes into a row (unbalanced quote); "
              "the line is skipped and reading resumes at the next line")


def _still_quoted(text: str, delimiter: str, quoted: bool) -> bool:
    """Whether a quoted field is open at the end of `text`, given whether one was at its start.

    Follows Python's csv reader (doublequote, not strict): a quote opens a field only at its
    start; inside a quoted field `""` is a quote and a lone `"` closes it.
    """
    if '"' not in text:
        return quoted
    at_start, i = not quoted, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == '"':
                if text[i + 1:i + 2] == '"':
                    i += 1
                else:
                    quoted = False
        elif c == '"' and at_start:
            quoted = True
        at_start = not quoted and c == delimiter
        i += 1
    return quoted


class _Feed:
    """The one line a persistent csv reader may take next: each record is parsed on its own, so a
    csv error (a field over the size limit) costs that record and the reader goes on."""

    def __init__(self):
        self.item: str | None = None

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.item is None:
            raise StopIteration
        item, self.item = self.item, None
        return item


def _fits(cells: list[str], width: int | None) -> bool:
    return width is None or len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def _csv_rows(file_name: str, raws: list[bytes], decode: Callable[[bytes], tuple[str | None, str | None]],
              delimiter: str, width: int | None) -> Iterator[Row]:
    """Lines -> rows, re-synchronising after a broken quote.

    A line that opens a quote it does not close is joined with the following lines only while that
    makes one row of the header's width (`width`, None when unknown); otherwise the quote is
    unbalanced: that line alone is refused and reading resumes at the next line. So an unbalanced
    quote costs the row it breaks, never the rest of the file, and no record grows to the csv field
    size limit (a field over it costs its own row).
    """
    feed = _Feed()
    reader = csv.reader(feed, delimiter=delimiter)

    def parse(text: str) -> tuple[list[str] | None, str | None]:
        feed.item = text
        try:
            return next(reader, []), None
        except csv.Error as exc:
            return None, f"cannot be read as CSV ({exc})"  # csv's messages carry no cell text

    i = 0
    while i < len(raws):
        no, position = i + 1, f"{file_name} line {i + 1}"
        text, error = decode(raws[i])
        if text is None:
            yield Row(no, position, None, raws[i].decode("utf-8", "backslashreplace"), error)
            i += 1
            continue
        chunk = [text]
        quoted = '"' in text and _still_quoted(text, delimiter, False)
        while quoted and i + len(chunk) < len(raws) and len(chunk) <= MAX_RECORD_LINES:
            more, _ = decode(raws[i + len(chunk)])
            if more is None:
                break
            chunk.append(more)
            quoted = _still_quoted(more, delimiter, quoted)
        raw = "\n".join(chunk)
        cells, error = (None, None) if quoted else parse(raw)
        if quoted or (len(chunk) > 1 and (cells is None or not _fits(cells, width))):
            yield Row(no, position, None, text, UNBALANCED)
            i += 1
            continue
        if cells is None:
            yield Row(no, position, None, raw, error)
        else:
            cells = [c.strip() for c in cells]
            if any(cells):
                yield Row(no, position, cells, raw)
        i += len(chunk)


def read_csv(file_name: str, data: bytes, header_score: Callable[[list[str]], int] = lambda cells: 0) -> Sheet:
    """Lines are decoded one by one (`decode_line`) unless the whole file is UTF-8; the delimiter and
    the header's width come from the first lines; rows come from `_csv_rows`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable(f"starts with a UTF-16 mark but is not UTF-16 text ({exc.reason})") from exc
    data = data.removeprefix(b"\xef\xbb\xbf")
    decode = _decode_utf8 if detect_encoding(data) == "utf-8" else decode_line
    raws = data.splitlines()
    sample = [text for text, _ in map(decode, raws[:SAMPLE_LINES]) if text is not None]
    delimiter = _choose_delimiter(sample, header_score)
    parsed = (_cells(line, delimiter) for line in sample)
    scored = [(header_score([c.strip() for c in cells]), len(cells)) for cells in parsed]
    score, width = max(scored, default=(0, 0), key=lambda s: s[0])
    return Sheet("", _csv_rows(file_name, raws, decode, delimiter, width if score > 0 else None), strict_width=True)


def _decode_utf8(raw: bytes) -> tuple[str, None]:
    return raw.decode("utf-8"), None


def _workbook_rows(file_name: str, sheet: str, values: Iterable[tuple]) -> list[Row]:
    out = []
    for no, row in enumerate(values, start=1):
        cells = [cell_text(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            out.append(Row(no, f"{file_name} sheet '{sheet}' row {no}", cells, repr(tuple(cells))))
    return out


def _failure(kind: str, exc: Exception) -> Unreadable:
    """`Unreadable` for whatever a workbook library raised. Quoted text in its message (a cell
    value, a shared string) is masked: a reason must never carry personal data."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(exc))[:160]
    if "encrypted" in message.lower():
        return Unreadable("the workbook is password-protected (encrypted); save it again without a password")
    return Unreadable(f"not a readable {kind} workbook ({type(exc).__name__}: {message})")


def read_xlsx(file_name: str, data: bytes) -> list[Sheet]:
    """Every worksheet, read eagerly so a corrupt part (a flipped byte, a half-written sheet XML)
    fails the whole file before any of its rows load."""
    from openpyxl import load_workbook

    book = None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = []
        for ws in book.worksheets:
            ws.reset_dimensions()  # some writers store a wrong used range; read what is there
            sheets.append(Sheet(ws.title, _workbook_rows(file_name, ws.title, ws.iter_rows(values_only=True)), False))
        return sheets
    except Exception as exc:  # zipfile, zlib, XML parsers, openpyxl itself: any of them on a bad file
        raise _failure("xlsx", exc) from exc
    finally:
        if book is not None:
            book.close()


def read_xls(file_name: str, data: bytes) -> list[Sheet]:
    """Legacy BIFF workbooks (Excel 97-2003, what older 1C configurations save) via xlrd."""
    import xlrd

    def value(book, cell):
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

    try:
        book = xlrd.open_workbook(file_contents=data)
        return [
            Sheet(sh.name, _workbook_rows(file_name, sh.name,
                                          ([value(book, c) for c in sh.row(r)] for r in range(sh.nrows))), False)
            for sh in book.sheets()
        ]
    except Exception as exc:  # xlrd raises XLRDError, struct.error, AssertionError... on bad files
        raise _failure("xls", exc) from exc


__all__ = ["Row", "Sheet", "Unreadable", "read", "read_csv", "read_xlsx", "read_xls", "sniff_kind", "detect_encoding",
           "decode_line", "cell_text"]
