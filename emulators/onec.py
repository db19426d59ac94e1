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

Test hooks (Python, not HTTP): `edit_counterparty(ref, **fields)` writes a new `DataVersion`;
`add_record(set, record)` appends (also a broken record, for quarantine tests).

Run it alone:  python -m emulators.onec --data data/demo --port 8307 --api-key demo-key
(user name: `onec/infobase.json`, `odata` in the demo).
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

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
    cmp := operand (op operand)?; operand := literal | field | func | '(' expr ')'`."""

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

    def parse(self) -> Callable[[dict], Any]:
        fn = self.or_()
        if self.peek() is not None:
            raise _filter_error()
        return fn

    def or_(self):
        left = self.and_()
        while self.word("or"):
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda r: bool(a(r)) or bool(b(r)))(left, right)
        return left

    def and_(self):
        left = self.unary()
        while self.word("and"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda r: bool(a(r)) and bool(b(r)))(left, right)
        return left

    def unary(self):
        if self.word("not"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        left = self.operand()
        if self.word(*COMPARE):
            op = COMPARE[self.take()[1]]
            right = self.operand()

            def compare(r, left=left, right=right, op=op):
                a, b = left(r), right(r)
                if a is None or b is None:
                    return op(a, b) if op in (COMPARE["eq"], COMPARE["ne"]) else False
                try:
                    return op(a, b)
                except TypeError:
                    return False
            return compare
        return left

    def operand(self):
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.or_()
            if self.take() != ("punct", ")"):
                raise _filter_error()
            return inner
        if kind == "typed":
            prefix, literal = value.split("'", 1)
            literal = literal[:-1]
            const: Any = literal.lower() if prefix == "guid" else _normalise_datetime(literal)
            return lambda r: const
        if kind == "str":
            const = value[1:-1].replace("''", "'")
            return lambda r: const
        if kind == "num":
            num = float(value.rstrip("mdMDlL"))
            return lambda r: num
        if kind == "word":
            if value in ("true", "false"):
                flag = value == "true"
                return lambda r: flag
            if value == "null":
                return lambda r: None
            if value in ("substringof", "startswith") and self.peek() == ("punct", "("):
                return self.function(value)
            if value not in self.fields:
                raise _filter_error()
            return lambda r, f=value: _comparable(r.get(f))
        raise _filter_error()

    def function(self, name: str):
        self.take()
        first = self.or_()
        if self.take() != ("punct", ","):
            raise _filter_error()
        second = self.or_()
        if self.take() != ("punct", ")"):
            raise _filter_error()
        if name == "substringof":
            return lambda r: isinstance(second(r), str) and str(first(r)).lower() in second(r).lower()
        return lambda r: isinstance(first(r), str) and first(r).lower().startswith(str(second(r)).lower())


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


def compile_filter(text: str, fields: dict[str, str]) -> Callable[[dict], Any]:
    return _Parser(_tokens(text), fields).parse()


# --- rendering ------------------------------------------------------------------------------------
def _v(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 2)


def _new_version(previous: str) -> str:
    counter = struct.unpack(">II", base64.b64decode(previous))[0] if previous else 0
    return base64.b64encode(struct.pack(">II", counter + 1, 0)).decode()


class OneCEmulator(Emulator):
    name = "onec"

    def __init__(self, data_dir: str | Path, api_key: str = "demo-key", user: str | None = None):
        super().__init__()
        folder = Path(data_dir) / "onec"
        info = json.loads((folder / "infobase.json").read_text(encoding="utf-8"))
        self.user, self.password, self.infobase = user or info["user"], api_key, info["infobase"]
        self._data_lock = threading.Lock()
        self._generation = 0
        self._cache: dict[tuple, list[dict]] = {}
        cps = pd.read_parquet(folder / "counterparties.parquet")
        contacts: dict[str, list[dict]] = {}
        for row in pd.read_parquet(folder / "counterparty_contacts.parquet").sort_values(["ref_key", "line_number"]).to_dict("records"):
            contacts.setdefault(row["ref_key"], []).append(self._render_contact(row))
        products = pd.read_parquet(folder / "products.parquet")
        sales = pd.read_parquet(folder / "sales.parquet")
        items = pd.read_parquet(folder / "sale_items.parquet")
        lines: dict[str, list[dict]] = {}
        for row in items.to_dict("records"):
            lines.setdefault(row["ref_key"], []).append(self._render_line(row))
        self.sets: dict[str, list[dict]] = {
            COUNTERPARTIES: [self._render_counterparty(r, contacts.get(r["ref_key"], [])) for r in cps.to_dict("records")],
            PRODUCTS: [self._render_product(r) for r in products.to_dict("records")],
            SALES: [self._render_sale(r, lines.get(r["ref_key"], [])) for r in sales.to_dict("records")],
        }
        self.sets[SALE_LINES] = [line for doc in self.sets[SALES] for line in doc["Товары"]]

    # --- data as 1C shapes it -------------------------------------------------------------------
    @staticmethod
    def _render_contact(r: dict) -> dict:
        """A contact-information line: older releases fill `Представление` only; newer ones also
        the parsed `НомерТелефона`/`АдресЭП` and a JSON `Значение`."""
        r = {k: _v(v) for k, v in r.items()}
        line = {"Ref_Key": r["ref_key"], "LineNumber": str(r["line_number"]), "Тип": r["kind"],
                "Вид_Key": r["kind_key"] or EMPTY_REF, "Представление": r["presentation"]}
        if r["extended"]:
            is_phone, is_email = r["kind"] == "Телефон", r["kind"] == "АдресЭлектроннойПочты"
            line["НомерТелефона"] = re.sub(r"\D", "", r["presentation"]) if is_phone else ""
            line["АдресЭП"] = r["presentation"].strip() if is_email else ""
            line["Значение"] = json.dumps({"type": r["kind"], "value": r["presentation"]}, ensure_ascii=False)
        return line

    @staticmethod
    def _render_counterparty(r: dict, contacts: list[dict]) -> dict:
        r = {k: _v(v) for k, v in r.items()}
        return {
            "Ref_Key": r["ref_key"], "DataVersion": r["data_version"], "DeletionMark": bool(r["deletion_mark"]),
            "Parent_Key": r["parent_key"], "IsFolder": bool(r["is_folder"]), "Code": r["code"],
            "Description": r["description"], "НаименованиеПолное": r["full_name"],
            "ЮридическоеФизическоеЛицо": r["legal_form"], "ИНН": r["inn"], "КПП": r["kpp"],
            "ДатаСоздания": r["created_at"], "Комментарий": r["comment"],
            "КонтактнаяИнформация": contacts,
            "Predefined": False, "PredefinedDataName": "",
        }

    @staticmethod
    def _render_product(r: dict) -> dict:
        r = {k: _v(v) for k, v in r.items()}
        return {
            "Ref_Key": r["ref_key"], "DataVersion": r["data_version"], "DeletionMark": bool(r["deletion_mark"]),
            "Parent_Key": r["parent_key"], "IsFolder": bool(r["is_folder"]), "Code": r["code"],
            "Description": r["description"], "Артикул": r["article"], "ЕдиницаИзмерения_Key": PIECE_KEY,
            "ВидНоменклатуры": "" if r["is_folder"] else "Товар", "Predefined": False, "PredefinedDataName": "",
        }

    @staticmethod
    def _render_line(r: dict) -> dict:
        r = {k: _v(v) for k, v in r.items()}
        return {"Ref_Key": r["ref_key"], "LineNumber": str(r["line_number"]), "Номенклатура_Key": r["product_key"],
                "Количество": _num(r["quantity"]), "Цена": _num(r["price"]), "Сумма": _num(r["amount"]),
                "СтавкаНДС": r["vat_rate"], "СуммаНДС": _num(r["vat_amount"])}

    @staticmethod
    def _render_sale(r: dict, lines: list[dict]) -> dict:
        r = {k: _v(v) for k, v in r.items()}
        return {
            "Ref_Key": r["ref_key"], "DataVersion": r["data_version"], "DeletionMark": bool(r["deletion_mark"]),
            "Number": r["number"], "Date": r["date"], "Posted": bool(r["posted"]),
            "Контрагент_Key": r["counterparty_key"], "Склад_Key": r["store_key"], "ВалютаДокумента_Key": RUB_KEY,
            "СуммаДокумента": _num(r["amount"]), "СуммаВключаетНДС": True, "Комментарий": r["comment"],
            "Товары": lines, "Услуги": [],
        }

    # --- test hooks -------------------------------------------------------------------------------
    def edit_counterparty(self, ref_key: str, **fields: Any) -> dict:
        """Change a card the way a 1C user does: the platform writes a new `DataVersion`."""
        with self._data_lock:
            record = next(r for r in self.sets[COUNTERPARTIES] if r.get("Ref_Key") == ref_key)
            record.update(fields)
            record["DataVersion"] = _new_version(record["DataVersion"])
            self._generation += 1
            return dict(record)

    def add_record(self, entity_set: str, record: dict) -> None:
        with self._data_lock:
            self.sets[entity_set].append(record)
            if entity_set == SALES:
                self.sets[SALE_LINES].extend(record.get("Товары", []))
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
            body = {"odata.metadata": f"{base}$metadata#{name}/@Element", **self._project(record, req.param("$select"), fields)}
            return Response.json(200, body) if as_json else self._atom(base, name, [record], single=True)
        rows = self._query(name, req.param("$filter"), req.param("$orderby"))
        if count:
            return Response(200, str(len(rows)).encode(), "text/plain;charset=utf-8")
        total = len(rows)
        skip, top = self._int(req, "$skip", 0), self._int(req, "$top", None)
        page = rows[skip: skip + top if top is not None else None]
        select = req.param("$select")
        projected = [self._project(r, select, fields) for r in page]
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
        with self._data_lock:
            for record in self.sets[name]:
                if all(str(record.get(f)) == v for f, v in wanted.items()):
                    return record
        raise ODataError(404, "9", "Экземпляр сущности не найден")

    def _query(self, name: str, filter_text: str | None, orderby: str | None) -> list[dict]:
        """Filtered and ordered rows; cached per query until the data changes, because a client
        pages the same query many times."""
        with self._data_lock:
            cache_key = (name, filter_text, orderby, self._generation)
            if cache_key in self._cache:
                return self._cache[cache_key]
            rows = list(self.sets[name])
        fields = SCHEMA[name]
        if filter_text:
            predicate = compile_filter(filter_text, fields)
            rows = [r for r in rows if predicate(r)]
        for field, descending in reversed(self._order_keys(orderby, fields)):
            rows.sort(key=lambda r, f=field: _sort_key(r.get(f)), reverse=descending)
        with self._data_lock:
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[cache_key] = rows
        return rows

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
    def _project(record: dict, select: str | None, fields: dict[str, str]) -> dict:
        if not select:
            return dict(record)
        names = [s.strip() for s in select.split(",") if s.strip()]
        for n in names:
            if n not in fields:
                raise _segment_error(n)
        return {n: record.get(n) for n in names}

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
