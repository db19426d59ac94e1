"""1C:Enterprise standard OData interface emulator (`/<infobase>/odata/standard.odata/`), seeded
from the demo generator's `onec/` folder.

Faithful to what real publications are recorded doing (../shared/specs/sources.md §4; live probes
of an УТ 11 publication in Romandredan/odata1c-gate docs/probes P4 and P7):
- HTTP Basic with an infobase user (UTF-8 credentials); `401` with `WWW-Authenticate` otherwise.
- OData v3: Atom XML unless `$format=json` (or `Accept: application/json`); JSON light lists as
  `{"odata.metadata": ".../$metadata#Set", "value": [...]}`, a single entity as `#Set/@Element`.
- `$top`, `$skip`, `$filter`, `$orderby` (several keys, asc/desc), `$select` (metadata URL gets
  `&$select=`), `$inlinecount=allpages` (`"odata.count"` is a *string*), `/$count`, keys
  `Set(guid'…')` and `Set(Ref_Key=guid'…',LineNumber=1)`. Filters: `eq ne gt ge lt le and or not`,
  parentheses, `substringof()`/`startswith()`, literals `guid'…'`, `datetime'…'`, `'…'`, numbers,
  `true/false/null`. No server-side paging and no nextLink: a client pages with `$top/$skip`.
- Errors as `{"odata.error": {"code": "…", "message": {"lang": "ru", "value": "…"}}}`: `$filter`
  syntax → 400 code 14; an unknown field in `$select`/`$orderby` → 400 code 6 echoing the name;
  a missing key → 404 code 9; an unknown entity set → 404 (code 6 here: inferred, not recorded);
  a runtime failure → 500 code -1. Cyrillic path segments arrive percent-encoded (UTF-8).
- Records: GUIDs lower-case, `DataVersion` opaque base64, datetimes without a zone, `LineNumber`
  a string (Edm.Int64 in JSON v3), table parts embedded in the parent *and* published as their
  own set `Document_РеализацияТоваровУслуг_Товары`, `Parent@navigationLinkUrl` annotations.
1C itself has no rate limit; the `rate_limit_next` fault answers like a reverse proxy in front
of it (nginx `429` with `Retry-After`).

The seeded rows stay in Arrow columns and a record is built only for the rows an answer carries
(a million people as Python dicts would take gigabytes); filters the connector sends are evaluated
on the columns, anything else record by record with the same semantics.

Test hooks (Python, not HTTP): `edit_counterparty(ref, **fields)` and
`edit_record(set, ref, **fields)` change a record and write a new `DataVersion`;
`add_record(set, record)` appends (also a broken record, for quarantine tests);
`rename_field(set, old, new)` publishes a field under another name (schema drift).

Run it alone:  python -m emulators.onec --data data/demo --port 8307 --api-key demo-key
(user name: `onec/infobase.json`, `odata` in the demo).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import sys
import threading
from datetime import datetime, timezone
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from emulators.base import Emulator, Request, Response, cli

COUNTERPARTIES = "Catalog_Контрагенты"
PRODUCTS = "Catalog_Номенклатура"
SALES = "Document_РеализацияТоваровУслуг"
SALE_LINES = "Document_РеализацияТоваровУслуг_Товары"
CONTACTS_ROW = "Catalog_Контрагенты_КонтактнаяИнформация_RowType"
SALE_LINES_ROW = "Document_РеализацияТоваровУслуг_Товары_RowType"
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
RUB_KEY = "5f4b3a7e-5d6b-11e5-80d4-000c295e30eb"
PIECE_KEY = "5f4b3a7f-5d6b-11e5-80d4-000c295e30eb"

G, S, B, D, N, I64 = "Edm.Guid", "Edm.String", "Edm.Boolean", "Edm.DateTime", "Edm.Double", "Edm.Int64"
SCHEMA: dict[str, dict[str, str]] = {
    COUNTERPARTIES: {
        "Ref_Key": G, "DataVersion": S, "DeletionMark": B, "Parent_Key": G, "IsFolder": B, "Code": S,
        "Description": S, "НаименованиеПолное": S, "ЮридическоеФизическоеЛицо": S, "ИНН": S, "КПП": S,
        "ДатаСоздания": D, "Комментарий": S, "КонтактнаяИнформация": f"Collection(StandardODATA.{CONTACTS_ROW})",
        "Predefined": B, "PredefinedDataName": S,
    },
    PRODUCTS: {
        "Ref_Key": G, "DataVersion": S, "DeletionMark": B, "Parent_Key": G, "IsFolder": B, "Code": S,
        "Description": S, "Артикул": S, "ЕдиницаИзмерения_Key": G, "ВидНоменклатуры": S, "Predefined": B,
        "PredefinedDataName": S,
    },
    SALES: {
        "Ref_Key": G, "DataVersion": S, "DeletionMark": B, "Number": S, "Date": D, "Posted": B,
        "Контрагент_Key": G, "Склад_Key": G, "ВалютаДокумента_Key": G, "СуммаДокумента": N,
        "СуммаВключаетНДС": B, "Комментарий": S, "Товары": f"Collection(StandardODATA.{SALE_LINES_ROW})",
        "Услуги": "Collection(StandardODATA.Document_РеализацияТоваровУслуг_Услуги_RowType)",
    },
    SALE_LINES: {
        "Ref_Key": G, "LineNumber": I64, "Номенклатура_Key": G, "Количество": N, "Цена": N, "Сумма": N,
        "СтавкаНДС": S, "СуммаНДС": N,
    },
}
KEYS = {COUNTERPARTIES: ["Ref_Key"], PRODUCTS: ["Ref_Key"], SALES: ["Ref_Key"], SALE_LINES: ["Ref_Key", "LineNumber"]}
ROW_TYPES = {CONTACTS_ROW: {"LineNumber": I64, "Тип": S, "Вид_Key": G, "Представление": S, "НомерТелефона": S,
                            "АдресЭП": S, "Значение": S},
             SALE_LINES_ROW: {k: v for k, v in SCHEMA[SALE_LINES].items() if k != "Ref_Key"},
             "Document_РеализацияТоваровУслуг_Услуги_RowType": {"LineNumber": I64, "Содержание": S, "Сумма": N}}
NAVIGATION = {COUNTERPARTIES: {"Parent": COUNTERPARTIES}, PRODUCTS: {"Parent": PRODUCTS},
              SALES: {"Контрагент": COUNTERPARTIES}, SALE_LINES: {"Номенклатура": PRODUCTS}}


class ODataError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _filter_error() -> ODataError:
    return ODataError(400, "14", "Ошибка при разборе опции запроса $filter")


def _segment_error(name: str, status: int = 400) -> ODataError:
    return ODataError(status, "6", f"Сегмент пути {name} не найден!")


# --- $filter: tokenizer, recursive-descent parser, evaluation -------------------------------------
TOKEN = re.compile(r"""\s*(?:
    (?P<typed>(?:guid|datetime|datetimeoffset|time)'[^']*')
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?[mdMDlL]?)
  | (?P<punct>[(),])
  | (?P<word>[^\W\d][\w/]*)
)""", re.VERBOSE | re.UNICODE)
COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
           "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}
ARROW_COMPARE = {"eq": pc.equal, "ne": pc.not_equal, "gt": pc.greater, "ge": pc.greater_equal,
                 "lt": pc.less, "le": pc.less_equal}
MIRRORED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _filter_error()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _normalise_datetime(text: str) -> str:
    try:
        return datetime.fromisoformat(text).isoformat(timespec="seconds")
    except ValueError:
        raise _filter_error() from None


class _Parser:
    """`expr := or; or := and ('or' and)*; and := unary ('and' unary)*; unary := 'not' unary | cmp;
    cmp := operand (op operand)?; operand := literal | field | func | '(' expr ')'`.

    Builds a tree of tuples (`("or"|"and", a, b)`, `("not", x)`, `("cmp", op, a, b)`,
    `("func", name, a, b)`, `("field", name)`, `("const", value)`) so that one filter can be
    evaluated over columns where it can (`_Set.mask`) and record by record elsewhere (`_predicate`)."""

    def __init__(self, tokens: list[tuple[str, str]], fields: dict[str, str]):
        self.t, self.i, self.fields = tokens, 0, fields

    def peek(self) -> tuple[str, str] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.t):
            raise _filter_error()
        self.i += 1
        return self.t[self.i - 1]

    def word(self, *words: str) -> bool:
        nxt = self.peek()
        return nxt is not None and nxt[0] == "word" and nxt[1] in words

    def parse(self) -> tuple:
        node = self.or_()
        if self.peek() is not None:
            raise _filter_error()
        return node

    def or_(self) -> tuple:
        left = self.and_()
        while self.word("or"):
            self.take()
            left = ("or", left, self.and_())
        return left

    def and_(self) -> tuple:
        left = self.unary()
        while self.word("and"):
            self.take()
            left = ("and", left, self.unary())
        return left

    def unary(self) -> tuple:
        if self.word("not"):
            self.take()
            return ("not", self.unary())
        left = self.operand()
        if self.word(*COMPARE):
            op = self.take()[1]
            return ("cmp", op, left, self.operand())
        return left

    def operand(self) -> tuple:
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.or_()
            if self.take() != ("punct", ")"):
                raise _filter_error()
            return inner
        if kind == "typed":
            prefix, literal = value.split("'", 1)
            literal = literal[:-1]
            return ("const", literal.lower() if prefix == "guid" else _normalise_datetime(literal))
        if kind == "str":
            return ("const", value[1:-1].replace("''", "'"))
        if kind == "num":
            return ("const", float(value.rstrip("mdMDlL")))
        if kind == "word":
            if value in ("true", "false"):
                return ("const", value == "true")
            if value == "null":
                return ("const", None)
            if value in ("substringof", "startswith") and self.peek() == ("punct", "("):
                return self.function(value)
            if value not in self.fields:
                raise _filter_error()
            return ("field", value)
        raise _filter_error()

    def function(self, name: str) -> tuple:
        self.take()
        first = self.or_()
        if self.take() != ("punct", ","):
            raise _filter_error()
        second = self.or_()
        if self.take() != ("punct", ")"):
            raise _filter_error()
        return ("func", name, first, second)


def _predicate(node: tuple) -> Callable[[dict], Any]:
    kind = node[0]
    if kind == "const":
        return lambda r, value=node[1]: value
    if kind == "field":
        return lambda r, f=node[1]: _comparable(r.get(f))
    if kind == "not":
        inner = _predicate(node[1])
        return lambda r: not inner(r)
    first, second = _predicate(node[-2]), _predicate(node[-1])
    if kind == "or":
        return lambda r: bool(first(r)) or bool(second(r))
    if kind == "and":
        return lambda r: bool(first(r)) and bool(second(r))
    if kind == "func" and node[1] == "substringof":
        return lambda r: isinstance(second(r), str) and str(first(r)).lower() in second(r).lower()
    if kind == "func":
        return lambda r: isinstance(first(r), str) and first(r).lower().startswith(str(second(r)).lower())
    op = COMPARE[node[1]]

    def compare(r):
        a, b = first(r), second(r)
        if a is None or b is None:
            return op(a, b) if op in (COMPARE["eq"], COMPARE["ne"]) else False
        try:
            return op(a, b)
        except TypeError:
            return False
    return compare


def _fields(node: tuple) -> list[str]:
    if node[0] == "field":
        return [node[1]]
    return sorted({f for child in node[1:] if isinstance(child, tuple) for f in _fields(child)})


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.isdigit():
        return float(value)  # LineNumber travels as a string but compares as a number
    return value


def _sort_key(value: Any) -> tuple:
    """Nulls first, then numbers, then text: never compares a number with a string."""
    value = _comparable(value)
    return (value is not None, isinstance(value, str), value if value is not None else 0)


def parse_filter(text: str, fields: dict[str, str]) -> tuple:
    return _Parser(_tokens(text), fields).parse()


def compile_filter(text: str, fields: dict[str, str]) -> Callable[[dict], Any]:
    return _predicate(parse_filter(text, fields))


# --- the seeded data, column by column ------------------------------------------------------------
CHUNK = 50_000  # rows rendered at a time when a filter or a lookup has to look at records
ASCII_NON_DIGIT = r"[\x00-/:-\x7f]"
NON_DIGITS = re.compile(r"\D")


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 2)


def _nums(x: np.ndarray) -> list:
    """`_num` over an array: whole values and values already in cents (all of them in seeded data)
    in NumPy, where `round(x, 2)` is `x` itself; any other value through `_num`."""
    out = x.astype(object)
    small = np.abs(x) < 2 ** 53
    whole = (x == np.floor(x)) & small
    out[whole] = x[whole].astype(np.int64)
    for i in np.flatnonzero(~whole & ~((np.round(x, 2) == x) & small)):
        out[i] = _num(x[i])
    return out.tolist()


def _new_version(previous: str) -> str:
    counter = struct.unpack(">II", base64.b64decode(previous))[0] if previous else 0
    return base64.b64encode(struct.pack(">II", counter + 1, 0)).decode()


def _compact(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One chunk, 32-bit string offsets, and a dictionary for text that repeats (contact kinds,
    store and product keys, empty parents): the seeded data takes a few hundred MiB at a million
    people instead of gigabytes."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    if pa.types.is_boolean(column.type):
        column = column.fill_null(False)  # the records said `bool(value)`
    if pa.types.is_string(column.type):
        encoded = column.dictionary_encode()
        if len(encoded.dictionary) * 2 < len(column):
            return encoded
    return column


def _words(column: pa.Array) -> pa.Array:
    """The distinct values of a dictionary column, or a plain column itself."""
    return column.dictionary if pa.types.is_dictionary(column.type) else column


def _decoded(column: pa.Array) -> pa.Array:
    return column.dictionary.take(column.indices) if pa.types.is_dictionary(column.type) else column


def _reader(column: pa.Array) -> Callable[[np.ndarray], list]:
    """Python values of a column at some positions, through NumPy (many times faster than
    `to_pylist`); the words of a small dictionary are made Python strings once, shared by all the
    rows that use them."""
    if column.null_count:
        return lambda pos: column.take(pos).to_pylist()
    if pa.types.is_dictionary(column.type) and len(column.dictionary) <= 4096:
        words, indices = column.dictionary.to_numpy(zero_copy_only=False), column.indices.to_numpy()
        return lambda pos: words[indices[pos]].tolist()
    if pa.types.is_string(column.type) or pa.types.is_dictionary(column.type):
        return lambda pos: column.take(pos).to_numpy(zero_copy_only=False).tolist()
    values = column.to_numpy(zero_copy_only=False)
    return lambda pos: values[pos].tolist()


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Every position of the spans `[starts[i], ends[i])`, span after span."""
    counts = ends - starts
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def _split(flat: list, counts: np.ndarray) -> list[list]:
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _spans(parents: pa.Array, children: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """For each parent key, the span of the (sorted) child keys equal to it; empty when none is."""
    n = len(children)
    change = pc.fill_null(pc.not_equal(children[1:], children[:-1]), True).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(change) + 1]) if n else np.zeros(0, np.int64)
    ends = np.append(starts[1:], n)
    group = pc.index_in(parents, value_set=children.take(starts))
    found = group.is_valid().to_numpy(zero_copy_only=False)
    group = group.fill_null(0).to_numpy(zero_copy_only=False)
    return np.where(found, np.append(starts, 0)[group], 0), np.where(found, np.append(ends, 0)[group], 0)


def _columns(table: pa.Table, names: dict[str, str]) -> dict[str, pa.Array]:
    return {field: _compact(table.column(source)) for field, source in names.items()}


def _record_maker(names: tuple[str, ...]) -> Callable[..., dict]:
    """A function building a record from one value per field, in the field order 1C answers with."""
    return lambda *values: dict(zip(names, values))


def _contact_line(ref: str, number: str, kind: str, kind_key: str, text: str, extended: bool) -> dict:
    """A contact-information line: older releases fill `Представление` only; newer ones also
    the parsed `НомерТелефона`/`АдресЭП` and a JSON `Значение`."""
    line = {"Ref_Key": ref, "LineNumber": number, "Тип": kind, "Вид_Key": kind_key, "Представление": text}
    if extended:
        is_phone, is_email = kind == "Телефон", kind == "АдресЭлектроннойПочты"
        line["НомерТелефона"] = NON_DIGITS.sub("", text) if is_phone else ""
        line["АдресЭП"] = text.strip() if is_email else ""
        if isinstance(kind, str) and isinstance(text, str):  # what `json.dumps` writes, several times faster
            line["Значение"] = f'{{"type": {encode_basestring(kind)}, "value": {encode_basestring(text)}}}'
        else:
            line["Значение"] = json.dumps({"type": kind, "value": text}, ensure_ascii=False)
    return line


class _Set:
    """One entity set: its seeded rows as Arrow `columns` (with `derived` renderers for the fields
    1C computes or nests), and the few rows written since through the test hooks as Python records
    (`edited` by position, `added` after the seeded rows). A record of a seeded row is built only
    when an answer carries it or a filter has to look at it."""

    def __init__(self, name: str, columns: dict[str, pa.Array], derived: dict[str, Callable[[np.ndarray], list]]):
        self.name, self.columns, self.derived = name, columns, derived
        self._readers = {field: _reader(column) for field, column in columns.items()}
        self.n = len(columns["Ref_Key"])
        self.edited: dict[int, dict] = {}
        self.added: list[dict] = []
        self.renamed: dict[str, str] = {}
        self._plain: dict[str, pa.Array | None] = {}

    def values(self, field: str, pos: np.ndarray) -> list:
        return (self.derived.get(field) or self._readers[field])(pos)

    def render(self, pos: np.ndarray, fields: list[str] | None = None) -> list[dict]:
        names = [f for f in (SCHEMA[self.name] if fields is None else fields) if f not in self.renamed]
        values = [self.values(f, pos) for f in names]
        if fields is None and self.renamed:
            names += self.renamed.values()
            values += [self.values(f, pos) for f in self.renamed]
        if not names:
            return [{} for _ in range(len(pos))]
        return list(map(_record_maker(tuple(names)), *values))

    def plain(self, field: str) -> pa.Array | None:
        """The column of `field` when every seeded value compares as itself and all sort in one
        class (flags, or text never all digits; no nulls): then Arrow's comparisons and sort give
        what `_predicate` and `_sort_key` would."""
        if field not in self._plain:
            column = self.columns.get(field)
            if column is None or field in self.derived or column.null_count:
                column = None
            elif pa.types.is_boolean(column.type):
                pass
            elif pa.types.is_string(_words(column).type):
                text = _words(column)
                maybe_digits = text.filter(pc.invert(pc.match_substring_regex(text, ASCII_NON_DIGIT)))
                if any(v.isdigit() for v in maybe_digits.to_pylist()):
                    column = None
            else:
                column = None
            self._plain[field] = column
        return None if field in self.renamed else self._plain[field]

    def mask(self, node: tuple) -> np.ndarray:
        """Whether each seeded row passes a filter: a plain column against a literal in Arrow, any
        other part of the filter record by record."""
        kind = node[0]
        if kind in ("or", "and"):
            first, second = self.mask(node[1]), self.mask(node[2])
            return first | second if kind == "or" else first & second
        if kind == "not":
            return ~self.mask(node[1])
        if kind == "cmp":
            found = self._compare(*node[1:])
            if found is not None:
                return found
        predicate, fields = _predicate(node), _fields(node)
        out = np.empty(self.n, dtype=bool)
        for start in range(0, self.n, CHUNK):
            rows = self.render(np.arange(start, min(start + CHUNK, self.n)), fields)
            out[start:start + len(rows)] = [bool(predicate(r)) for r in rows]
        return out

    def _compare(self, op: str, left: tuple, right: tuple) -> np.ndarray | None:
        if left[0] == "const" and right[0] == "field":
            op, left, right = MIRRORED[op], right, left
        if left[0] != "field" or right[0] != "const":
            return None
        column, value = self.plain(left[1]), right[1]
        if column is None:
            return None
        if pa.types.is_boolean(column.type) and isinstance(value, (bool, float)):
            return COMPARE[op](column.to_numpy(zero_copy_only=False), value)
        if not pa.types.is_boolean(column.type) and isinstance(value, str):
            found = ARROW_COMPARE[op](_words(column), value)
            if pa.types.is_dictionary(column.type):
                found = found.take(column.indices)
            return found.to_numpy(zero_copy_only=False)
        return np.full(self.n, op == "ne")  # text against a flag, a number or null: never equal, never ordered


def _seed(folder: Path) -> dict[str, _Set]:
    def read(name: str) -> pa.Table:
        return pq.read_table(folder / name)

    def constant(value: Any) -> Callable[[np.ndarray], list]:
        return lambda pos: [value] * len(pos)

    def numbers(column: pa.Array) -> Callable[[np.ndarray], list]:
        values = column.to_numpy(zero_copy_only=False)
        return lambda pos: _nums(values[pos])

    cps = read("counterparties.parquet")
    contacts = read("counterparty_contacts.parquet")
    contacts = contacts.take(pc.sort_indices(contacts, [("ref_key", "ascending"), ("line_number", "ascending")]))
    cp_starts, cp_ends = _spans(cps.column("ref_key"), contacts.column("ref_key").combine_chunks())
    kind_key = contacts.column("kind_key")
    contact = [_reader(_compact(column)) for column in (  # in the order of `_contact_line`'s arguments
        contacts.column("line_number").cast(pa.string()), contacts.column("kind"),
        pc.if_else(pc.fill_null(pc.equal(kind_key, ""), True), EMPTY_REF, kind_key),
        contacts.column("presentation"), contacts.column("extended"))]
    del contacts, kind_key
    cp = _columns(cps, {"Ref_Key": "ref_key", "DataVersion": "data_version", "DeletionMark": "deletion_mark",
                        "Parent_Key": "parent_key", "IsFolder": "is_folder", "Code": "code",
                        "Description": "description", "НаименованиеПолное": "full_name",
                        "ЮридическоеФизическоеЛицо": "legal_form", "ИНН": "inn", "КПП": "kpp",
                        "ДатаСоздания": "created_at", "Комментарий": "comment"})
    del cps

    def contact_lines(pos: np.ndarray) -> list[list[dict]]:
        starts, ends = cp_starts[pos], cp_ends[pos]
        at = _ranges(starts, ends)
        refs = np.repeat(cp["Ref_Key"].take(pos).to_numpy(zero_copy_only=False), ends - starts)
        lines = list(map(_contact_line, refs, *(read(at) for read in contact)))
        return _split(lines, ends - starts)

    products = _columns(read("products.parquet"), {
        "Ref_Key": "ref_key", "DataVersion": "data_version", "DeletionMark": "deletion_mark",
        "Parent_Key": "parent_key", "IsFolder": "is_folder", "Code": "code", "Description": "description",
        "Артикул": "article"})

    sales = read("sales.parquet")
    items = read("sale_items.parquet")
    items = items.take(pc.sort_indices(items, [("ref_key", "ascending")]))
    starts, ends = _spans(sales.column("ref_key"), items.column("ref_key").combine_chunks())
    items = items.take(_ranges(starts, ends))  # each document's lines together, in the documents' order
    line_offsets = np.concatenate([[0], np.cumsum(ends - starts)])
    del starts, ends
    sale = _columns(sales, {"Ref_Key": "ref_key", "DataVersion": "data_version", "DeletionMark": "deletion_mark",
                            "Number": "number", "Date": "date", "Posted": "posted",
                            "Контрагент_Key": "counterparty_key", "Склад_Key": "store_key", "Комментарий": "comment",
                            "amount": "amount"})
    del sales
    owner = np.repeat(np.arange(len(sale["Ref_Key"]), dtype=np.int32), np.diff(line_offsets))
    line = _columns(items, {"Номенклатура_Key": "product_key", "СтавкаНДС": "vat_rate",
                            "quantity": "quantity", "price": "price", "amount": "amount", "vat_amount": "vat_amount"})
    line["Ref_Key"] = pa.DictionaryArray.from_arrays(pa.array(owner), _decoded(sale["Ref_Key"]))
    line["LineNumber"] = _compact(items.column("line_number").cast(pa.string()))
    del items, owner
    lines = _Set(SALE_LINES, line, {
        "Количество": numbers(line["quantity"]), "Цена": numbers(line["price"]), "Сумма": numbers(line["amount"]),
        "СуммаНДС": numbers(line["vat_amount"])})

    def sale_lines(pos: np.ndarray) -> list[list[dict]]:
        starts, ends = line_offsets[pos], line_offsets[pos + 1]
        return _split(lines.render(_ranges(starts, ends)), ends - starts)

    pa.default_memory_pool().release_unused()  # the whole files read and sorted above: gone for good
    return {
        COUNTERPARTIES: _Set(COUNTERPARTIES, cp, {
            "КонтактнаяИнформация": contact_lines, "Predefined": constant(False), "PredefinedDataName": constant("")}),
        PRODUCTS: _Set(PRODUCTS, products, {
            "ЕдиницаИзмерения_Key": constant(PIECE_KEY), "Predefined": constant(False),
            "PredefinedDataName": constant(""),
            "ВидНоменклатуры": lambda pos: ["" if f else "Товар" for f in products["IsFolder"].take(pos).to_pylist()]}),
        SALES: _Set(SALES, sale, {
            "ВалютаДокумента_Key": constant(RUB_KEY), "СуммаДокумента": numbers(sale["amount"]),
            "СуммаВключаетНДС": constant(True), "Товары": sale_lines, "Услуги": lambda pos: [[] for _ in pos]}),
        SALE_LINES: lines,
    }


class OneCEmulator(Emulator):
    name = "onec"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", user: str | None = None):
        super().__init__()
        folder = Path(data_dir) / "onec"
        info = json.loads((folder / "infobase.json").read_text(encoding="utf-8"))
        self.user, self.password, self.infobase = user or info["user"], api_key, info["infobase"]
        self._data_lock = threading.RLock()
        self._generation = 0
        self._cache: dict[tuple, np.ndarray] = {}
        self.sets: dict[str, _Set] = _seed(folder)

    # --- test hooks -------------------------------------------------------------------------------
    def edit_counterparty(self, ref_key: str, **fields: Any) -> dict:
        """Change a card the way a 1C user does: the platform writes a new `DataVersion`."""
        return self.edit_record(COUNTERPARTIES, ref_key, **fields)

    def edit_record(self, entity_set: str, ref_key: str, **fields: Any) -> dict:
        """Change a card or a document's header; the platform writes a new `DataVersion`."""
        s = self.sets[entity_set]
        with self._data_lock:
            at = self._find(s, ["Ref_Key"], ref_key, lambda r: r.get("Ref_Key") == ref_key)
            if at is None:
                raise KeyError(ref_key)
            record = dict(self._rows(s, [at])[0], **fields)
            record["DataVersion"] = _new_version(record["DataVersion"])
            if at < s.n:
                s.edited[at] = record
            else:
                s.added[at - s.n] = record
            self._generation += 1
            return dict(record)

    def add_record(self, entity_set: str, record: dict) -> None:
        with self._data_lock:
            self.sets[entity_set].added.append(record)
            if entity_set == SALES:
                self.sets[SALE_LINES].added.extend(record.get("Товары", []))
            self._generation += 1

    def rename_field(self, entity_set: str, old: str, new: str) -> None:
        """Publish field `old` of every record now in the set as `new` from now on, as a changed 1C
        configuration would (a schema-drift test); records added later keep their own fields."""
        with self._data_lock:
            s = self.sets[entity_set]
            for record in [*s.edited.values(), *s.added]:
                record[new] = record.pop(old)
            s.renamed[next((f for f, name in s.renamed.items() if name == old), old)] = new
            self._generation += 1

    # --- HTTP ---------------------------------------------------------------------------------------
    def rate_limited(self, req: Request) -> Response:
        body = b"<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"
        return Response(429, body, "text/html", {"Retry-After": str(self.faults.retry_after)})

    def server_error(self, status: int) -> Response:
        if status == 500:  # 1C's own answer to a runtime failure; 503 comes from the proxy
            return self._error(ODataError(500, "-1", "Произошла внутренняя ошибка OData сервиса. "
                                          "Дополнительные сведения можно найти в технологическом журнале."), True)
        return super().server_error(status)

    def route(self, req: Request) -> Response:
        path = unquote(req.path, encoding="utf-8", errors="strict")
        m = re.fullmatch(r"(?:/[^/]+)?/odata/standard\.odata(?:/(.*))?", path)
        if not m:
            return Response(404, b"Not Found", "text/plain; charset=utf-8")
        if not self._authorised(req):
            return Response(401, "Требуется аутентификация".encode("utf-8"), "text/plain; charset=utf-8",
                            {"WWW-Authenticate": 'Basic realm="1C:Enterprise"'})
        as_json = req.param("$format", "").lower() == "json" or "application/json" in req.headers.get("accept", "")
        base = f"http://{req.headers.get('host', 'localhost')}/{self.infobase}/odata/standard.odata/"
        try:
            if req.method != "GET":
                raise ODataError(405, "1", "Метод не поддерживается для этого ресурса")
            resource = m.group(1) or ""
            if resource == "$metadata":
                return Response(200, self._metadata().encode("utf-8"), "application/xml;charset=utf-8")
            if resource == "":
                return self._service_document(base, as_json)
            return self._resource(req, resource, base, as_json)
        except ODataError as err:
            return self._error(err, as_json)

    def _authorised(self, req: Request) -> bool:
        header = req.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.user and password == self.password

    def _resource(self, req: Request, resource: str, base: str, as_json: bool) -> Response:
        m = re.fullmatch(r"([^()/]+)(?:\((.*)\))?(/\$count)?", resource)
        if not m or m.group(1) not in self.sets:
            raise _segment_error((m.group(1) if m else resource.split("/")[0]), status=404)
        name, key, count = m.group(1), m.group(2), m.group(3)
        fields = SCHEMA[name]
        if key is not None:
            record = self._by_key(name, key)
            body = {"odata.metadata": f"{base}$metadata#{name}/@Element",
                    **self._project(record, self._selected(req.param("$select"), fields))}
            return Response.json(200, body) if as_json else self._atom(base, name, [record], single=True)
        ids = self._query(name, req.param("$filter"), req.param("$orderby"))
        if count:
            return Response(200, str(len(ids)).encode(), "text/plain;charset=utf-8")
        total = len(ids)
        skip, top = self._int(req, "$skip", 0), self._int(req, "$top", None)
        page = ids[skip: skip + top if top is not None else None]
        select = req.param("$select")
        names = self._selected(select, fields) if len(page) else None
        projected = self._rows(self.sets[name], page, names)
        if names is not None:
            projected = [self._project(r, names) for r in projected]
        if not as_json:
            return self._atom(base, name, projected)
        meta = f"{base}$metadata#{name}" + (f"&$select={select}" if select else "")
        body: dict[str, Any] = {"odata.metadata": meta}
        if req.param("$inlinecount") == "allpages":
            body["odata.count"] = str(total)
        body["value"] = projected
        return Response.json(200, body)

    @staticmethod
    def _int(req: Request, name: str, default: int | None) -> int | None:
        raw = req.param(name)
        if raw is None:
            return default
        if not str(raw).isdigit():
            raise ODataError(400, "14", f"Ошибка при разборе опции запроса {name}")
        return int(raw)

    def _by_key(self, name: str, key: str) -> dict:
        parts = dict(re.findall(r"(\w+)=([^,]+)", key)) if "=" in key else {"Ref_Key": key}
        wanted = {}
        for field, literal in parts.items():
            if field not in KEYS[name]:
                raise _segment_error(field)
            g = re.fullmatch(r"guid'([0-9a-fA-F-]{36})'", literal.strip())
            wanted[field] = g.group(1).lower() if g else literal.strip().strip("'")
        if set(wanted) != set(KEYS[name]):
            raise ODataError(400, "14", "Ошибка при разборе ключа сущности")
        s = self.sets[name]
        at = self._find(s, list(wanted), wanted["Ref_Key"],
                        lambda r: all(str(r.get(f)) == v for f, v in wanted.items()))
        if at is None:
            raise ODataError(404, "9", "Экземпляр сущности не найден")
        return self._rows(s, [at])[0]

    def _find(self, s: _Set, fields: list[str], ref: Any, match: Callable[[dict], bool]) -> int | None:
        """Position of the first record `match` accepts (it looks at `fields`); of the seeded rows
        only those whose `Ref_Key` may equal `ref` are rendered to ask it."""
        with self._data_lock:
            edited, added = list(s.edited), len(s.added)
        if s.plain("Ref_Key") is not None and isinstance(ref, str):
            seeded = np.flatnonzero(s.mask(("cmp", "eq", ("field", "Ref_Key"), ("const", ref))))
        else:
            seeded = np.arange(s.n)
        candidates = np.concatenate([np.union1d(seeded, edited), np.arange(s.n, s.n + added)]).astype(np.int64)
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start:start + CHUNK]
            for at, record in zip(chunk.tolist(), self._rows(s, chunk, fields)):
                if match(record):
                    return at
        return None

    def _rows(self, s: _Set, ids: np.ndarray | list[int], fields: list[str] | None = None) -> list[dict]:
        """The records at positions `ids`, each a new dict: seeded rows rendered from the columns
        (only `fields` when given), written ones copied."""
        with self._data_lock:
            edited, added = dict(s.edited), list(s.added)
        ids = np.asarray(ids, dtype=np.int64)
        seeded = ids[ids < s.n]
        if edited:
            seeded = seeded[~np.isin(seeded, list(edited))]
        rendered = s.render(seeded, fields)
        if len(seeded) == len(ids):
            return rendered
        rest = iter(rendered)
        return [dict(edited[i]) if i in edited else dict(added[i - s.n]) if i >= s.n else next(rest)
                for i in ids.tolist()]

    def _query(self, name: str, filter_text: str | None, orderby: str | None) -> np.ndarray:
        """Positions of the filtered and ordered rows; cached per query until the data changes,
        because a client pages the same query many times."""
        with self._data_lock:
            cache_key = (name, filter_text, orderby, self._generation)
            if cache_key in self._cache:
                return self._cache[cache_key]
            s = self.sets[name]
            edited, added = dict(s.edited), list(s.added)
        fields = SCHEMA[name]
        node = parse_filter(filter_text, fields) if filter_text else None
        keys = self._order_keys(orderby, fields)
        if node is None:
            ids = np.arange(s.n + len(added))
        else:
            passed = s.mask(node)
            predicate = _predicate(node)
            for at, record in edited.items():
                passed[at] = bool(predicate(record))
            ids = np.concatenate([np.flatnonzero(passed),
                                  np.array([s.n + i for i, r in enumerate(added) if predicate(r)], dtype=np.int64)])
        if keys:
            ids = self._ordered(s, ids, keys, edited)
        ids = ids.astype(np.int32)
        with self._data_lock:
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[cache_key] = ids
        return ids

    def _ordered(self, s: _Set, ids: np.ndarray, keys: list[tuple[str, bool]], edited: dict[int, dict]) -> np.ndarray:
        """`ids` sorted stably by `keys`: in Arrow when they are all plain seeded columns, else by
        `_sort_key` over the records."""
        columns = [s.plain(field) for field, _ in keys]
        written = (ids >= s.n).any() or (edited and np.isin(ids, list(edited)).any())
        if not written and all(c is not None for c in columns):
            table = pa.table({str(i): _decoded(c.take(ids)) for i, c in enumerate(columns)})
            order = pc.sort_indices(table, [(str(i), "descending" if desc else "ascending")
                                            for i, (_, desc) in enumerate(keys)])
            return ids[order.to_numpy()]
        rows = self._rows(s, ids, [field for field, _ in keys])
        order = list(range(len(ids)))
        for field, descending in reversed(keys):
            order.sort(key=lambda i, f=field: _sort_key(rows[i].get(f)), reverse=descending)
        return ids[np.array(order, dtype=np.int64)]

    @staticmethod
    def _order_keys(orderby: str | None, fields: dict[str, str]) -> list[tuple[str, bool]]:
        keys = []
        for part in filter(None, (p.strip() for p in (orderby or "").split(","))):
            bits = part.split()
            if bits[0] not in fields:
                raise _segment_error(bits[0])
            if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
                raise ODataError(400, "14", "Ошибка при разборе опции запроса $orderby")
            keys.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
        return keys

    @staticmethod
    def _selected(select: str | None, fields: dict[str, str]) -> list[str] | None:
        if not select:
            return None
        names = [s.strip() for s in select.split(",") if s.strip()]
        for n in names:
            if n not in fields:
                raise _segment_error(n)
        return names

    @staticmethod
    def _project(record: dict, names: list[str] | None) -> dict:
        return dict(record) if names is None else {n: record.get(n) for n in names}

    def _error(self, err: ODataError, as_json: bool) -> Response:
        if as_json:
            return Response.json(err.status, {"odata.error": {"code": err.code, "message": {"lang": "ru", "value": err.message}}})
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
                f'<m:code>{err.code}</m:code><m:message xml:lang="ru">{escape(err.message)}</m:message></m:error>')
        return Response(err.status, body.encode("utf-8"), "application/xml;charset=utf-8")

    # --- documents in XML ----------------------------------------------------------------------------
    def _service_document(self, base: str, as_json: bool) -> Response:
        if as_json:
            return Response.json(200, {"odata.metadata": f"{base}$metadata",
                                       "value": [{"name": s, "url": s} for s in SCHEMA]})
        items = "".join(f'<collection href="{s}"><atom:title>{s}</atom:title></collection>' for s in SCHEMA)
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<service xmlns="http://www.w3.org/2007/app" '
                f'xmlns:atom="http://www.w3.org/2005/Atom" xml:base={quoteattr(base)}><workspace>'
                f"<atom:title>Default</atom:title>{items}</workspace></service>")
        return Response(200, body.encode("utf-8"), "application/xml;charset=utf-8")

    @staticmethod
    def _metadata() -> str:
        def props(fields: dict[str, str]) -> str:
            return "".join(f'<Property Name="{n}" Type="{t}" Nullable="{"false" if n in ("Ref_Key", "LineNumber") else "true"}"/>'
                           for n, t in fields.items())

        types = []
        for name, fields in SCHEMA.items():
            keys = "".join(f'<PropertyRef Name="{k}"/>' for k in KEYS[name])
            nav = "".join(f'<NavigationProperty Name="{n}" Relationship="StandardODATA.{name}_{n}" FromRole="Begin" ToRole="End"/>'
                          for n in NAVIGATION[name])
            types.append(f'<EntityType Name="{name}" OpenType="true"><Key>{keys}</Key>{props(fields)}{nav}</EntityType>')
        complex_types = "".join(f'<ComplexType Name="{n}">{props(f)}</ComplexType>' for n, f in ROW_TYPES.items())
        assoc = "".join(f'<Association Name="{name}_{n}"><End Role="Begin" Type="StandardODATA.{name}" Multiplicity="*"/>'
                        f'<End Role="End" Type="StandardODATA.{target}" Multiplicity="0..1"/></Association>'
                        for name, navs in NAVIGATION.items() for n, target in navs.items())
        sets = "".join(f'<EntitySet Name="{n}" EntityType="StandardODATA.{n}"/>' for n in SCHEMA)
        funcs = ('<FunctionImport Name="Post" IsBindable="true" IsSideEffecting="true">'
                 f'<Parameter Name="bindingParameter" Type="StandardODATA.{SALES}"/>'
                 '<Parameter Name="PostingModeOperational" Type="Edm.Boolean"/></FunctionImport>')
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">'
                '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
                'm:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">'
                '<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">'
                f'{"".join(types)}{complex_types}{assoc}'
                f'<EntityContainer Name="StandardODATA" m:IsDefaultEntityContainer="true">{sets}{funcs}</EntityContainer>'
                "</Schema></edmx:DataServices></edmx:Edmx>")

    def _atom(self, base: str, name: str, records: list[dict], single: bool = False) -> Response:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

        def value(v: Any) -> str:
            if isinstance(v, list):
                return "".join(f"<d:element>{''.join(f'<d:{k}>{value(x)}</d:{k}>' for k, x in el.items())}</d:element>" for el in v)
            if isinstance(v, bool):
                return str(v).lower()
            return "" if v is None else escape(str(v))

        def entry(r: dict) -> str:
            props = "".join(f"<d:{k}>{value(v)}</d:{k}>" for k, v in r.items())
            key = ",".join(f"{k}=guid'{r.get(k)}'" if k == "Ref_Key" else f"{k}={r.get(k)}" for k in KEYS[name]) \
                if len(KEYS[name]) > 1 else f"guid'{r.get('Ref_Key')}'"
            return (f"<entry><id>{escape(base)}{name}({escape(key)})</id>"
                    f'<category term="StandardODATA.{name}" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>'
                    f'<title type="text"/><updated>{now}</updated><author/><content type="application/xml">'
                    f"<m:properties>{props}</m:properties></content></entry>")

        ns = ('xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
              f'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xml:base={quoteattr(base)}')
        if single:
            body = entry(records[0]).replace("<entry>", f"<entry {ns}>", 1)
        else:
            body = (f"<feed {ns}><id>{escape(base)}{name}</id><title type=\"text\">{name}</title><updated>{now}</updated>"
                    + "".join(entry(r) for r in records) + "</feed>")
        return Response(200, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8"), "application/atom+xml;charset=utf-8")


def main() -> None:
    # The demo stack may pass `--rate-limit N` to every emulator; 1C has no rate limit to lift.
    if "--rate-limit" in sys.argv:
        at = sys.argv.index("--rate-limit")
        del sys.argv[at:at + 2]
    cli(lambda a: OneCEmulator(a.data, api_key=a.api_key), __doc__.splitlines()[0], 8307)


if __name__ == "__main__":
    main()
