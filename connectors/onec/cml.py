"""CommerceML 2 files → flat rows, streaming (`iterparse`), whatever the version and encoding.

What real exchange files look like (../shared/fixtures/1c_commerceml/ and their README):
- versions 2.03-2.10 (3.1 wraps each document in `<Контейнер>`); 2.07+ carry the namespace
  `urn:1C.ru:commerceml_2` (2.10: `…_210`), older ones none, so tags are matched by local name;
- the encoding is whatever the XML declaration says: 1C→site files are UTF-8 with a BOM, Bitrix
  site→1C order files windows-1251; expat honours the declaration;
- catalogue `import.xml` (`Каталог/Товары/Товар`), offers `offers.xml` (`ПакетПредложений/
  Предложения/Предложение` with prices, a total and per-warehouse stock as `<Склад ИдСклада=…
  КоличествоНаСкладе=…/>`); 2.09+ split packages `import___*`, `offers___*` (names), `prices___*`
  (`Цены`), `rests___*` (`Остатки/Остаток/Склад`), each element with `НомерВерсии` and
  `ПометкаУдаления`; an offer of a product with characteristics has the Ид `product#characteristic`;
- order documents `Документ` with `Контрагенты/Контрагент` (buyer), `Товары/Товар` and order
  status flags as `ЗначенияРеквизитов` name/value pairs; contact types vary (`Почта`,
  `Электронная почта`, `Телефон рабочий`, `ТелефонРабочий`, …).
Values stay text (sums with 2 or 4 decimals, dates ISO or `dd.mm.yyyy`): staging casts them.
A file that is not well-formed raises `CmlFileError` before any of its rows is returned, so a
truncated upload never loads half a package.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Iterator

ROOT = "КоммерческаяИнформация"
SECTIONS = {"catalog": "Каталог", "offers": "ПакетПредложений", "documents": "Документ", "classifier": "Классификатор"}
DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# What each kind of row needs to be usable; anything short of it goes to quarantine.
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4}")
NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


_T, _B, _I = "text", "bool", "bigint"
# Every column each kind of row has, typed, so a column that is empty in every file still exists.
COLUMNS: dict[str, dict[str, str]] = {
    "product": dict(product_id=_T, article=_T, barcode=_T, name=_T, description=_T, base_unit=_T, unit_code=_T,
                    group_ids=_T, properties=_T, requisites=_T, deletion_mark=_B, version=_T, catalog_id=_T,
                    only_changes=_B, position=_T, payload=_T),
    "offer": dict(offer_id=_T, product_id=_T, characteristic_id=_T, article=_T, name=_T, base_unit=_T,
                  characteristics=_T, quantity=_T, deletion_mark=_B, version=_T, package_id=_T, only_changes=_B,
                  position=_T, payload=_T),
    "offer_price": dict(offer_id=_T, price_type_id=_T, price_type_name=_T, price=_T, currency=_T, unit=_T,
                        coefficient=_T, presentation=_T, position=_T),
    "offer_stock": dict(offer_id=_T, warehouse_id=_T, quantity=_T, position=_T),
    "order": dict(order_id=_T, number=_T, order_date=_T, order_time=_T, operation=_T, role=_T, currency=_T, rate=_T,
                  amount=_T, comment=_T, deletion_mark=_B, counterparty_id=_T, status=_T, requisites=_T,
                  position=_T, payload=_T),
    "order_item": dict(order_id=_T, line_number=_I, product_id=_T, catalog_id=_T, name=_T, unit=_T, unit_code=_T,
                       price=_T, quantity=_T, amount=_T, requisites=_T),
    "counterparty": dict(counterparty_id=_T, name=_T, full_name=_T, surname=_T, given_name=_T, patronymic=_T,
                         birth_date=_T, inn=_T, kpp=_T, role=_T, address=_T, contacts=_T, order_id=_T, order_date=_T,
                         payload=_T),
}


class CmlFileError(ValueError):
    """The file cannot be read as a whole (not XML, truncated, not CommerceML)."""


@dataclass
class Row:
    kind: str  # product | offer | offer_price | offer_stock | order | order_item | counterparty
    data: dict[str, Any]


@dataclass
class BadDocument:
    position: str
    reason: str
    payload: str


@dataclass
class FileInfo:
    encoding: str
    schema_version: str | None = None
    generated_at: str | None = None
    sections: list[str] = field(default_factory=list)
    only_changes: bool | None = None


def declared_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    m = DECLARATION.match(data[:300])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def sniff_sections(data: bytes, encoding: str) -> set[str]:
    """Which sections a file has, by looking for their opening tags in its own encoding: cheap
    enough to run on every file for every table, so each table parses only files it needs."""
    found = set()
    for kind, tag in SECTIONS.items():
        try:
            marker = f"<{tag}".encode(encoding)
        except (LookupError, UnicodeEncodeError):
            return set(SECTIONS)  # unknown encoding: let the parser say what is wrong
        if marker in data or f":{tag}".encode(encoding, "ignore") in data:
            found.add(kind)
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(elem: ET.Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    text = elem.text.strip()
    return text or None


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _children(elem: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if elem is None else [c for c in elem if _local(c.tag) == name]


def _get(elem: ET.Element, name: str) -> str | None:
    return _text(_child(elem, name))


def _pairs(elem: ET.Element | None, item: str, key: str = "Наименование", value: str = "Значение") -> dict[str, Any]:
    """`<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование/><Значение/>` → {name: value}."""
    out: dict[str, Any] = {}
    for e in _children(elem, item):
        name = _get(e, key)
        if name is not None:
            values = [_text(v) for v in _children(e, value)]
            out[name] = values[0] if len(values) == 1 else values
    return out


def _xml(elem: ET.Element) -> str:
    text = ET.tostring(elem, encoding="unicode")
    return re.sub(r' xmlns(:\w+)?="[^"]*"', "", re.sub(r"<(/?)ns\d+:", r"<\1", text))


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() in ("true", "1", "да")


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


# --- catalogue ------------------------------------------------------------------------------------
def _product(elem: ET.Element, catalog_id: str | None, only_changes: bool | None) -> dict[str, Any]:
    unit = _child(elem, "БазоваяЕдиница")
    return {
        "product_id": _get(elem, "Ид"), "article": _get(elem, "Артикул"), "barcode": _get(elem, "Штрихкод"),
        "name": _get(elem, "Наименование"), "description": _get(elem, "Описание"),
        "base_unit": _text(unit) or (unit.get("НаименованиеПолное") if unit is not None else None),
        "unit_code": unit.get("Код") if unit is not None else None,
        "group_ids": _json([_text(g) for g in _children(_child(elem, "Группы"), "Ид")]),
        "properties": _json([{"id": _get(v, "Ид"), "value": _get(v, "Значение")}
                             for v in _children(_child(elem, "ЗначенияСвойств"), "ЗначенияСвойства")]),
        "requisites": _json(_pairs(_child(elem, "ЗначенияРеквизитов"), "ЗначениеРеквизита")),
        "deletion_mark": _flag(_get(elem, "ПометкаУдаления")), "version": _get(elem, "НомерВерсии"),
        "catalog_id": catalog_id, "only_changes": only_changes,
    }


def _offer_rows(elem: ET.Element, package_id: str | None, only_changes: bool | None, price_types: dict[str, str]) -> list[Row]:
    offer_id = _get(elem, "Ид")
    product_id, _, characteristic = (offer_id or "").partition("#")
    rows: list[Row] = []
    described = {_local(c.tag) for c in elem} - {"Ид", "Цены", "Остатки", "Склад", "НомерВерсии", "ПометкаУдаления"}
    if described:  # a prices-only or rests-only package says nothing about the offer itself
        unit = _child(elem, "БазоваяЕдиница")
        rows.append(Row("offer", {
            "offer_id": offer_id, "product_id": product_id or None, "characteristic_id": characteristic or None,
            "article": _get(elem, "Артикул"), "name": _get(elem, "Наименование"),
            "base_unit": _text(unit) or (unit.get("НаименованиеПолное") if unit is not None else None),
            "characteristics": _json([{"id": _get(c, "Ид"), "name": _get(c, "Наименование"), "value": _get(c, "Значение")}
                                      for c in _children(_child(elem, "ХарактеристикиТовара"), "ХарактеристикаТовара")]),
            "quantity": _get(elem, "Количество"), "deletion_mark": _flag(_get(elem, "ПометкаУдаления")),
            "version": _get(elem, "НомерВерсии"), "package_id": package_id, "only_changes": only_changes,
        }))
    for price in _children(_child(elem, "Цены"), "Цена"):
        type_id = _get(price, "ИдТипаЦены")
        rows.append(Row("offer_price", {
            "offer_id": offer_id, "price_type_id": type_id, "price_type_name": price_types.get(type_id or ""),
            "price": _get(price, "ЦенаЗаЕдиницу"), "currency": _get(price, "Валюта"), "unit": _get(price, "Единица"),
            "coefficient": _get(price, "Коэффициент"), "presentation": _get(price, "Представление"),
        }))
    for store in _children(elem, "Склад"):  # 2.07: <Склад ИдСклада="…" КоличествоНаСкладе="…"/>
        rows.append(Row("offer_stock", {"offer_id": offer_id, "warehouse_id": store.get("ИдСклада") or "",
                                        "quantity": store.get("КоличествоНаСкладе")}))
    for rest in _children(_child(elem, "Остатки"), "Остаток"):  # 2.09+: Остатки/Остаток/Склад/{Ид,Количество}
        stores = _children(rest, "Склад")
        for store in stores:
            rows.append(Row("offer_stock", {"offer_id": offer_id, "warehouse_id": _get(store, "Ид") or "",
                                            "quantity": _get(store, "Количество")}))
        if not stores:
            rows.append(Row("offer_stock", {"offer_id": offer_id, "warehouse_id": "", "quantity": _get(rest, "Количество")}))
    return rows


# --- documents ------------------------------------------------------------------------------------
CONTACT_EMAIL = ("почта", "электронная почта", "email", "e-mail", "адресэлектроннойпочты")


def _counterparty(elem: ET.Element) -> dict[str, Any]:
    contacts = [{"type": _get(c, "Тип") or _get(c, "КонтактВид"), "value": _get(c, "Значение")}
                for c in _children(_child(elem, "Контакты"), "Контакт")]
    address = _child(elem, "АдресРегистрации")
    address = _child(elem, "Адрес") if address is None else address
    return {
        "counterparty_id": _get(elem, "Ид"), "name": _get(elem, "Наименование"),
        "full_name": _get(elem, "ПолноеНаименование") or _get(elem, "ОфициальноеНаименование"),
        "surname": _get(elem, "Фамилия"), "given_name": _get(elem, "Имя"), "patronymic": _get(elem, "Отчество"),
        "birth_date": _get(elem, "ДатаРождения"), "inn": _get(elem, "ИНН"), "kpp": _get(elem, "КПП"),
        "role": _get(elem, "Роль"), "address": _get(address, "Представление") if address is not None else None,
        "contacts": json.dumps(contacts, ensure_ascii=False),
    }


def _document(elem: ET.Element, position: str) -> tuple[list[Row], BadDocument | None]:
    order_id, date, amount = _get(elem, "Ид"), _get(elem, "Дата"), _get(elem, "Сумма")
    buyers = [c for c in _children(_child(elem, "Контрагенты"), "Контрагент") if (_get(c, "Роль") or "Покупатель") == "Покупатель"]
    items = _children(_child(elem, "Товары"), "Товар")
    reason = None
    if not order_id:
        reason = "document has no Ид"
    elif not date or not DATE.fullmatch(date):
        reason = f"document date {date!r} is not a date"
    elif amount is not None and not NUMBER.fullmatch(amount.replace(" ", "").replace("\xa0", "")):
        reason = f"document sum {amount!r} is not a number"
    elif any(not _get(b, "Ид") for b in buyers):
        reason = "a buyer has no Ид"
    elif any(not _get(i, "Ид") for i in items):
        reason = "a line has no product Ид"
    if reason:
        return [], BadDocument(position, reason, _xml(elem))
    requisites = _pairs(_child(elem, "ЗначенияРеквизитов"), "ЗначениеРеквизита")
    rows = [Row("order", {
        "order_id": order_id, "number": _get(elem, "Номер"), "order_date": date, "order_time": _get(elem, "Время"),
        "operation": _get(elem, "ХозОперация"), "role": _get(elem, "Роль"), "currency": _get(elem, "Валюта"),
        "rate": _get(elem, "Курс"), "amount": amount, "comment": _get(elem, "Комментарий"),
        "deletion_mark": _flag(_get(elem, "ПометкаУдаления")),
        "counterparty_id": _get(buyers[0], "Ид") if buyers else None,
        "status": requisites.get("Статус заказа"), "requisites": _json(requisites),
        "position": position, "payload": _xml(elem),
    })]
    for no, item in enumerate(items, start=1):
        unit = _child(item, "БазоваяЕдиница")
        rows.append(Row("order_item", {
            "order_id": order_id, "line_number": no, "product_id": _get(item, "Ид"), "catalog_id": _get(item, "ИдКаталога"),
            "name": _get(item, "Наименование"), "unit": _text(unit), "unit_code": unit.get("Код") if unit is not None else None,
            "price": _get(item, "ЦенаЗаЕдиницу"), "quantity": _get(item, "Количество"), "amount": _get(item, "Сумма"),
            "requisites": _json(_pairs(_child(item, "ЗначенияРеквизитов"), "ЗначениеРеквизита")),
        }))
    for buyer in buyers:
        rows.append(Row("counterparty", {**_counterparty(buyer), "order_id": order_id, "order_date": date,
                                         "payload": _xml(buyer)}))
    return rows, None


# --- the walk ---------------------------------------------------------------------------------------
def parse(data: bytes, name: str) -> tuple[FileInfo, list[Row | BadDocument]]:
    """Every row of one file, or `CmlFileError` if the file cannot be read to its end."""
    info = FileInfo(encoding=declared_encoding(data))
    out: list[Row | BadDocument] = []
    path: list[str] = []
    counters: dict[str, int] = {}
    catalog_id = package_id = None
    only_changes: bool | None = None
    price_types: dict[str, str] = {}
    try:
        for event, elem in ET.iterparse(io.BytesIO(data), events=("start", "end")):
            tag = _local(elem.tag)
            if event == "start":
                path.append(tag)
                if len(path) == 1:
                    if tag != ROOT:
                        raise CmlFileError(f"root element is <{tag}>, not <{ROOT}>")
                    info.schema_version = elem.get("ВерсияСхемы")
                    info.generated_at = elem.get("ДатаФормирования")
                elif len(path) == 2 and tag in ("Каталог", "ПакетПредложений", "Классификатор"):
                    flag = elem.get("СодержитТолькоИзменения")
                    if flag is not None:
                        only_changes = info.only_changes = _flag(flag)
                if tag in SECTIONS.values() and tag not in info.sections:
                    info.sections.append(tag)
                continue
            inner = path[1:-1]
            if inner == ["Каталог"] and tag == "Ид":
                catalog_id = _text(elem)
            elif inner == ["ПакетПредложений"] and tag == "Ид":
                package_id = _text(elem)
            elif inner == ["ПакетПредложений", "ТипыЦен"] and tag == "ТипЦены":
                price_types[_get(elem, "Ид") or ""] = _get(elem, "Наименование") or ""
            elif inner == ["Каталог", "Товары"] and tag == "Товар":
                counters["Товар"] = counters.get("Товар", 0) + 1
                out.append(Row("product", {**_product(elem, catalog_id, only_changes),
                                           "position": f"{name} Товар {counters['Товар']}", "payload": _xml(elem)}))
                elem.clear()
            elif inner == ["ПакетПредложений", "Предложения"] and tag == "Предложение":
                counters["Предложение"] = counters.get("Предложение", 0) + 1
                for row in _offer_rows(elem, package_id, only_changes, price_types):
                    row.data["position"] = f"{name} Предложение {counters['Предложение']}"
                    if row.kind == "offer":
                        row.data["payload"] = _xml(elem)
                    out.append(row)
                elem.clear()
            elif tag == "Документ" and inner in ([], ["Контейнер"]):
                counters["Документ"] = counters.get("Документ", 0) + 1
                rows, bad = _document(elem, f"{name} Документ {counters['Документ']}")
                out.extend(rows or [bad])
                elem.clear()
            path.pop()
    except ET.ParseError as exc:
        raise CmlFileError(f"not well-formed XML ({info.encoding}): {exc}") from None
    except (LookupError, UnicodeDecodeError) as exc:
        raise CmlFileError(f"cannot decode as declared ({info.encoding}): {exc}") from None
    if not path and info.schema_version is None and not out:
        raise CmlFileError("empty file")
    return info, out


def rows_of(items: list[Row | BadDocument], kind: str) -> Iterator[dict[str, Any]]:
    return (i.data for i in items if isinstance(i, Row) and i.kind == kind)
