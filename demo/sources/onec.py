"""1C:Trade Management of the shop's offline stores: counterparties, store sales, products, and
the CommerceML exchange folder 1C writes for the web site.

Who is there: every RetailCRM customer with an `externalId` ("ЦБ-001234") IS the 1C counterparty
with that `Code` (RetailCRM's 1C module keeps the two in step), plus buyers known only to the
stores ("ТТ-…" codes), about 35 % of all people together. Stores also create a second card for a
returning buyer now and then (often marked for deletion later), keep a few companies, one
"Розничный покупатель" card for anonymous till sales, and group folders — none of those is a
person.

Messy the way 1C data is: the full name in one `Description` ("Фамилия Имя Отчество", sometimes
upper case, ё typed as е, patronymic missing), phones typed at the till in any spelling in the
`КонтактнаяИнформация` table part (old rows with `Представление` only, newer ones also with
`НомерТелефона`/`АдресЭП`/`Значение`), e-mail rarely asked, `DeletionMark` on some cards and
documents, unposted drafts, document numbers that restart every year, and one document whose date
was lost in an import (`0001-01-01T00:00:00`).

Files (flat; the emulator renders the OData shape): `counterparties.parquet`,
`counterparty_contacts.parquet` (the contact table part, one row per line), `sales.parquet`,
`sale_items.parquet`, `products.parquet`, `infobase.json`
(OData user and publication). CommerceML under `exchange/`: the catalogue (`import.xml`,
`offers.xml`, UTF-8 with BOM, 2.07) and the last three months of person sales as `Заказ товара`
documents (windows-1251, 2.05; the newest file 2.07 with the namespace), plus a truncated copy of
one orders file, as an interrupted upload leaves it.

Ground truth: `onec` rows keyed by the counterparty `Ref_Key`; `commerceml` rows keyed by the
counterparty `Ид` in the orders files, which is the same `Ref_Key` (a CommerceML buyer is its own
record, linked to the 1C card through that id).
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from demo import names as N
from demo.generate import _email_variants, _format_phones, _where_applied
from demo.sources import SourceData, World

SYSTEM = "onec"
ODATA_USER = "odata"  # a dedicated infobase user with read rights on the OData composition
INFOBASE = "trade"
NODE = "000c295e30eb"  # the MAC part of the GUIDs this infobase generates
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
PERSON_SHARE = 0.35
STORES = [("ЕВ", "ТЦ Европейский"), ("ТС", "ТЦ Мега Тёплый Стан"), ("ТВ", "ул. Тверская, 12")]
CATEGORY_GROUPS = {"lenses_daily": "Линзы", "lenses_biweekly": "Линзы", "lenses_monthly": "Линзы",
                   "lenses_color": "Линзы", "care_solution": "Растворы", "eye_drops": "Капли",
                   "accessories": "Аксессуары", "glasses": "Очки"}
COMPANY_WORDS = ["Оптика", "Зрение", "Линза", "Взгляд", "Окулюс", "Визус", "Медтехника", "Ритейл"]
EXCHANGE_DAYS = 92
CATALOG_ID = "bd72d8f9-55bc-11d9-848a-00112f43529a"
PRICE_TYPE_ID = "bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4"


# --- text in Arrow ------------------------------------------------------------------------------
# Columns are made as Arrow arrays where they can be: a Python string per row costs ~0.1 us to
# make and again to convert when the DataFrame or the XML is built (per row and column).
_STR = pa.large_string()  # what pandas' `str` columns hold
_BIN = pa.large_binary()  # windows-1251 text of the CommerceML order files


def _text(values) -> pa.Array:
    """Text (a NumPy array of str/None, a pandas Series or an Arrow array) as Arrow large_string;
    integers are written in decimal."""
    if isinstance(values, pd.Series):
        values = pa.array(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = np.asarray(values)
        values = pa.array(values if values.dtype.kind in "iub" else values.astype(object))
    return values.cast(_STR)


def _cat(*parts) -> pa.Array:
    """Element-wise concatenation of text columns and str constants; null where any part is null."""
    return pc.binary_join_element_wise(*(pa.scalar(x, _STR) if isinstance(x, str) else _text(x) for x in parts),
                                       pa.scalar("", _STR))


def _where(mask: np.ndarray, yes, no) -> pa.Array:
    """`np.where` for text: `yes`/`no` are text columns or str constants."""
    yes, no = (pa.scalar(x, _STR) if isinstance(x, str) else _text(x) for x in (yes, no))
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), yes, no)


def _pick(options: list[str], idx: np.ndarray) -> pa.Array:
    """options[idx] as Arrow text."""
    return pc.take(pa.array(options, _STR), pa.array(np.asarray(idx, dtype=np.int64)))


def _frame(columns: dict) -> pd.DataFrame:
    """A DataFrame built through Arrow: NumPy text becomes pandas' `str` columns ~3x faster than in
    `pd.DataFrame(...)`. Scalars are repeated; pandas columns are kept as they are, dtype and all."""
    n = max(len(v) for v in columns.values() if not np.isscalar(v))
    arrays = {}
    for name, values in columns.items():
        if isinstance(values, pd.Series):
            continue
        if np.isscalar(values):
            values = np.full(n, values, dtype=object if isinstance(values, str) else None)
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = np.asarray(values)
            values = _text(values) if values.dtype.kind in "OU" else pa.array(values)
        arrays[name] = values
    frame = pa.table(arrays).to_pandas()
    for position, (name, values) in enumerate(columns.items()):
        if isinstance(values, pd.Series):
            frame.insert(position, name, values.reset_index(drop=True))
    return frame


def _yo(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """ё typed as е where `mask` says so."""
    return _where_applied(mask, values, lambda text: pc.replace_substring(pc.replace_substring(text, "ё", "е"), "Ё", "Е"))


def _upper(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return _where_applied(mask, values, pc.utf8_upper)


# --- ids and stamps -----------------------------------------------------------------------------
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_columns(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded lower-case hex of non-negative integers as a (n, width) matrix of ASCII codes."""
    shifts = np.arange(4 * (width - 1), -1, -4, dtype=np.uint64)
    return _HEX_DIGITS[(np.asarray(values).astype(np.uint64)[:, None] >> shifts) & np.uint64(15)]


def _ascii_text(*blocks: np.ndarray | str, n: int) -> pa.Array:
    """Rows of ASCII-code matrices and constant strings glued side by side, as Arrow text: the
    glued bytes are the string data, with no Python string per row."""
    cols = [np.broadcast_to(np.frombuffer(b.encode(), dtype=np.uint8), (n, len(b))) if isinstance(b, str) else b for b in blocks]
    width = sum(c.shape[1] for c in cols)
    data = np.ascontiguousarray(np.concatenate(cols, axis=1)) if n else np.zeros((0, width), np.uint8)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.Array.from_buffers(_STR, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _ascii_digits(digits: np.ndarray) -> np.ndarray:
    """Decimal digits 0..9 as their ASCII codes (for `_ascii_text`)."""
    return (np.asarray(digits) + ord("0")).astype(np.uint8)


def _distinct(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    """Whether the (a, b, c, d) rows are all different (a < 2**32; b, d < 2**16). A 64-bit key of
    a, b and d nearly always settles it (0.02 s vs 0.1 s for a 4-column duplicate check per 400k)."""
    key = (a.astype(np.uint64) << np.uint64(32)) | (b.astype(np.uint64) << np.uint64(16)) | d.astype(np.uint64)
    return pd.Series(key).is_unique or not pd.DataFrame({"a": a, "b": b, "c": c, "d": d}).duplicated().any()


def _guids(rng: np.random.Generator, n: int) -> pa.Array:
    """1C-looking GUIDs (version-1 layout, this infobase's node), unique within the call."""
    while True:
        a = rng.integers(0, 2**32, n, dtype=np.uint64)
        b, c, d = rng.integers(0, 2**16, n), rng.integers(0, 2**8, n), rng.integers(0, 2**16, n)
        if _distinct(a, b, c, d):
            break
    # Hex digits from a byte matrix: 0.02 s vs 0.22 s with an f-string per GUID (per 200k people).
    return _ascii_text(_hex_columns(a, 8), "-", _hex_columns(b, 4), "-11", _hex_columns(c, 2), "-",
                       _hex_columns(d, 4), f"-{NODE}", n=n)


# `DataVersion` as 1C sends it: base64 of an 8-byte counter, opaque to clients. The counter is
# 1..59, so every possible value is encoded once here and looked up.
_DATA_VERSIONS = [base64.b64encode(struct.pack(">II", v, 0)).decode() for v in range(60)]


def _data_versions(rng: np.random.Generator, n: int) -> pa.Array:
    return _pick(_DATA_VERSIONS, rng.integers(1, 60, n))


def _iso(seconds: np.ndarray) -> pa.Array:
    """Unix seconds -> 'YYYY-MM-DDTHH:MM:SS'. Arrow's cast writes the date and time with a space,
    which becomes the 'T': 0.03 s vs 0.2 s with pandas' strftime per 200k people."""
    text = pc.cast(pa.array(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")), _STR)
    return pc.utf8_replace_slice(text, 10, 11, "T")


def _seconds(text) -> np.ndarray:
    """'YYYY-MM-DD[T ]HH:MM:SS' -> Unix seconds (Arrow's ISO-8601 parser)."""
    return pc.cast(pc.cast(_text(text), pa.timestamp("s")), pa.int64()).to_numpy()


# --- who has a card ---------------------------------------------------------------------------
def _person_cards(rng: np.random.Generator, world: World) -> pd.DataFrame:
    p, crm = world.persons, world.crm_customers
    crm_person = np.asarray(world.extra["retailcrm_person_id"])
    linked = crm["externalId"].notna().to_numpy()
    created_crm = _seconds(crm["createdAt"])
    a = pd.DataFrame({
        "person_idx": crm_person[linked] - 1,
        "code": crm["externalId"].to_numpy()[linked],
        "created": created_crm[linked] + rng.integers(600, 5 * 86400, int(linked.sum())),
        "group": "online",
    })
    offline_pool = np.flatnonzero(~p.in_crm)
    want = max(0.0, PERSON_SHARE * p.n - len(a))
    share = float(np.clip(want / max(len(offline_pool), 1), 0.1, 1.0))
    offline = offline_pool[rng.random(len(offline_pool)) < share]
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    start = int(pd.Timestamp("2021-06-01").timestamp())
    b = pd.DataFrame({"person_idx": offline, "created": rng.integers(start, as_of - 86400 * 3, len(offline)), "group": "stores"})
    # A returning buyer the cashier did not find gets a second card.
    base = pd.concat([a, b], ignore_index=True)
    dup = base[rng.random(len(base)) < 0.02].copy()
    dup["created"] = np.minimum(dup["created"].to_numpy() + rng.integers(86400, 400 * 86400, len(dup)), as_of - 86400)
    dup["group"] = "stores"
    dup["code"] = None
    cards = pd.concat([base, dup.assign(is_dup=True)], ignore_index=True)
    cards["is_dup"] = cards["is_dup"].fillna(False).astype(bool)
    cards = cards.iloc[np.argsort(rng.random(len(cards)), kind="stable")].reset_index(drop=True)
    store_code = cards["code"].isna().to_numpy()
    cards.loc[store_code, "code"] = np.char.add("ТТ-", np.char.zfill(np.arange(1, store_code.sum() + 1).astype(str), 6))
    return cards


def _person_descriptions(rng, p, idx: np.ndarray) -> pa.Array:
    n = len(idx)
    patr = np.where(rng.random(n) < 0.08, "", p.patronymic[idx])
    full = _cat(p.surname[idx], " ", p.given[idx], _where(patr == "", "", _cat(" ", patr)))
    full = _yo(full, rng.random(n) < 0.35)
    full = _upper(full, rng.random(n) < 0.06)
    return _where(rng.random(n) < 0.03, _cat(full, " "), full)


KIND_KEYS = {"Телефон": "a1f0c2e4-5d6b-11e5-80d4-000c295e30eb", "АдресЭлектроннойПочты": "a1f0c2e5-5d6b-11e5-80d4-000c295e30eb",
             "Адрес": "a1f0c2e6-5d6b-11e5-80d4-000c295e30eb"}
LINE_KINDS = ["Телефон", "Телефон", "АдресЭлектроннойПочты", "Адрес"]  # the table part's lines, in order


def _where_formatted(mask: np.ndarray, numbers: np.ndarray, style: np.ndarray, other) -> np.ndarray:
    """`np.where(mask, _format_phones(numbers, style), other)`, formatting only the numbers used."""
    out = np.full(len(mask), other, dtype=object) if other is None else np.array(other, dtype=object)
    out[mask] = _format_phones(numbers[mask], style[mask])
    return out


def _contact_rows(rng, p, refs: pa.Array, idx: np.ndarray, is_dup: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The `КонтактнаяИнформация` table part as a long table (one row per line), plus each card's
    main phone and e-mail as typed. `extended` rows come from a newer 1C release that also fills
    `НомерТелефона`/`АдресЭП`/`Значение`."""
    n = len(idx)
    phone = _format_phones(p.mobile[idx], rng.integers(0, 7, n))
    other = rng.random(n) < 0.04  # the other number
    phone = _where_formatted(other, p.mobile2[idx], rng.integers(0, 7, n), phone)
    phone = np.where(rng.random(n) < np.where(is_dup, 0.05, 0.12), None, phone)
    second = rng.random(n) < 0.08
    second = _where_formatted(second, p.mobile2[idx], rng.integers(0, 7, n), None)
    email = _email_variants(rng, p.email[idx])
    email = np.where(rng.random(n) < 0.5, email, None)
    has_address, house = rng.random(n) < 0.3, rng.integers(1, 120, n)
    address = np.full(n, None, dtype=object)
    address[has_address] = p.city[idx][has_address] + ", ул. Ленина, д. " + house[has_address].astype(str)
    extended = rng.random(n) < 0.4
    # One column per line kind, in table-part order; reading the filled cells row by row gives the
    # lines card by card without a sort.
    values = np.stack([phone, second, email, address], axis=1)
    has = pd.notna(values)
    card, slot = np.nonzero(has)
    rows = _frame({"ref_key": pc.take(refs, pa.array(card)), "kind": _pick(LINE_KINDS, slot), "presentation": values[has],
                   "extended": extended[card], "line_number": np.cumsum(has, axis=1)[has],
                   "kind_key": _pick([KIND_KEYS[k] for k in LINE_KINDS], slot)})
    return rows, phone, email


def _counterparties(rng, world: World, cards: pd.DataFrame):
    """The `Catalog_Контрагенты` rows (folders, person cards, companies, the anonymous retail buyer),
    their contact lines, and each person card's main phone and e-mail (in the person rows' order)."""
    p = world.persons
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    n = len(cards)
    folders = pd.DataFrame({
        "ref_key": _guids(rng, 3).to_pylist(), "code": ["ЦБ-000002", "ЦБ-000003", "ЦБ-000004"],
        "description": ["Интернет-магазин", "Розничные покупатели", "Организации"], "is_folder": True,
    })
    folder_of = dict(zip(["online", "stores", "companies"], folders["ref_key"]))
    idx = cards["person_idx"].to_numpy()
    refs = _guids(rng, n)
    contacts, phone, email = _contact_rows(rng, p, refs, idx, cards["is_dup"].to_numpy())
    desc = _person_descriptions(rng, p, idx)
    deleted = (rng.random(n) < 0.015) | (cards["is_dup"].to_numpy() & (rng.random(n) < 0.5))
    persons = _frame({
        "ref_key": refs, "code": cards["code"], "description": desc,
        "full_name": _upper(desc, rng.random(n) < 0.1),
        "legal_form": "ФизическоеЛицо", "inn": "", "kpp": "",
        "parent_key": cards["group"].map(folder_of), "is_folder": False, "deletion_mark": deleted,
        "created_at": _iso(np.minimum(cards["created"].to_numpy(), as_of - 3600)),
        "comment": np.where(cards["is_dup"], "Завели на кассе", ""),
        "person_id": p.person_id[idx], "kind": "person",
    })
    k = max(2, n // 150)
    words = np.asarray(COMPANY_WORDS, dtype=object)
    brand = pd.Series(words[rng.integers(0, len(words), k)] + "-" + rng.integers(1, 99, k).astype(str))
    office = _format_phones(np.char.add("495", np.char.zfill(rng.integers(0, 10**7, k).astype(str), 7)).astype(object), rng.integers(0, 7, k))
    companies = pd.DataFrame({
        "ref_key": _guids(rng, k).to_pylist(), "code": np.char.add("ОП-", np.char.zfill(np.arange(1, k + 1).astype(str), 5)),
        "description": brand + " ООО", "full_name": "ООО \"" + brand + "\"", "legal_form": "ЮридическоеЛицо",
        # Digit matrices draw the same stream as one small call per company did.
        "inn": _ascii_text(_ascii_digits(rng.integers(0, 10, (k, 10))), n=k).to_pylist(),
        "kpp": _ascii_text("7701", _ascii_digits(rng.integers(0, 10, (k, 5))), n=k).to_pylist(),
        "parent_key": folder_of["companies"], "is_folder": False, "deletion_mark": False,
        "created_at": _iso(rng.integers(int(pd.Timestamp("2021-01-01").timestamp()), as_of - 86400, k)).to_pylist(), "comment": "",
        "person_id": None, "kind": "company",
    })
    contacts = pd.concat([contacts, pd.DataFrame({"ref_key": companies["ref_key"], "kind": "Телефон", "presentation": office,
                                                  "extended": False, "line_number": 1, "kind_key": KIND_KEYS["Телефон"]})],
                         ignore_index=True)
    retail = pd.DataFrame({
        "ref_key": _guids(rng, 1).to_pylist(), "code": ["ЦБ-000001"], "description": ["Розничный покупатель"],
        "full_name": ["Розничный покупатель"], "legal_form": "ФизическоеЛицо", "inn": "", "kpp": "",
        "parent_key": EMPTY_REF, "is_folder": False, "deletion_mark": False, "created_at": "2021-01-11T09:00:00",
        "comment": "Для чеков без карты покупателя", "person_id": None, "kind": "retail",
    })
    folders = folders.assign(full_name="", legal_form="", inn="", kpp="", parent_key=EMPTY_REF, deletion_mark=False,
                             created_at=EMPTY_DATE, comment="", person_id=None, kind="folder")
    table = pd.concat([folders, persons, companies, retail], ignore_index=True)
    table["data_version"] = pd.Series(_data_versions(rng, len(table)))
    table["person_id"] = table["person_id"].astype("Int64")
    main = {"phone": phone, "email": email}  # aligned with the person rows of `table`
    return table, contacts, main


# --- what they bought ---------------------------------------------------------------------------
def _products(rng) -> pd.DataFrame:
    groups = sorted(set(CATEGORY_GROUPS.values()))
    group_keys = dict(zip(groups, _guids(rng, len(groups)).to_pylist()))
    n = len(N.PRODUCTS)
    rows = pd.DataFrame({
        "ref_key": _guids(rng, n).to_pylist(), "code": [f"00-{i:08d}" for i in range(1, n + 1)],
        "description": [x[1] for x in N.PRODUCTS], "article": [x[0] for x in N.PRODUCTS],
        "parent_key": [group_keys[CATEGORY_GROUPS[x[2]]] for x in N.PRODUCTS], "is_folder": False,
        "price": [float(x[3]) for x in N.PRODUCTS], "vat_rate": ["БезНДС" if x[2].startswith("lenses") else "НДС20" for x in N.PRODUCTS],
    })
    folders = pd.DataFrame({"ref_key": list(group_keys.values()), "code": [f"00-G{i:07d}" for i in range(1, len(groups) + 1)],
                            "description": groups, "article": "", "parent_key": EMPTY_REF, "is_folder": True,
                            "price": 0.0, "vat_rate": ""})
    table = pd.concat([folders, rows], ignore_index=True)
    table["deletion_mark"] = False
    table["data_version"] = pd.Series(_data_versions(rng, len(table)))
    return table


def _sales(rng, world: World, cps: pd.DataFrame, products: pd.DataFrame):
    """Store sale documents and their lines, plus how they link (row numbers, for the exchange
    files): `counterparty` (cps row per sale), `sale` (sales row per line), `product` (row of
    `products` per line)."""
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    start_all = int(pd.Timestamp("2022-01-01").timestamp())
    kind = cps["kind"]
    buyer_rows = np.flatnonzero(((kind == "person") | (kind == "company")).to_numpy())
    company = (kind == "company").to_numpy()[buyer_rows]
    online = pc.starts_with(pc.take(_text(cps["code"]), pa.array(buyer_rows)), "ЦБ-").to_numpy(zero_copy_only=False)
    n_docs = rng.poisson(np.where(company, 6.0, np.where(online, 0.8, 1.5)))
    doc_row = np.repeat(buyer_rows, n_docs)  # the counterparty of each document, as a cps row
    doc_company = np.repeat(company, n_docs)
    created = np.repeat(_seconds(pc.take(_text(cps["created_at"]), pa.array(buyer_rows))), n_docs)
    anonymous = int(len(doc_row) * 0.25)
    retail_row = np.flatnonzero((kind == "retail").to_numpy())[0]
    doc_row = np.concatenate([doc_row, np.full(anonymous, retail_row)])
    doc_company = np.concatenate([doc_company, np.zeros(anonymous, bool)])
    doc_retail = np.arange(len(doc_row)) >= len(doc_row) - anonymous
    created = np.concatenate([created, np.full(anonymous, start_all)])
    m = len(doc_row)
    lo = np.maximum(created, start_all)
    day = lo + (rng.random(m) ** 0.8 * np.maximum(as_of - 3600 - lo, 3600)).astype(np.int64)
    day = day - day % 86400 + rng.integers(10 * 3600, 22 * 3600, m)
    day = np.minimum(day, as_of - 600)
    order = np.argsort(day, kind="stable")
    doc_row, doc_company, doc_retail, day = doc_row[order], doc_company[order], doc_retail[order], day[order]
    store = rng.integers(0, len(STORES), m)
    year = pd.to_datetime(day, unit="s").year.to_numpy()
    seq = pd.Series(1, index=range(m)).groupby([store, year]).cumsum().to_numpy()
    number = _cat(_pick([s[0] for s in STORES], store), "00-", pc.utf8_lpad(_text(seq), 6, "0"))
    deleted = rng.random(m) < 0.01
    posted = ~deleted & (rng.random(m) > 0.02)
    date = _iso(day)
    if m > 100:  # an import that lost the document date
        date = _where(np.arange(m) == rng.integers(0, m), EMPTY_DATE, date)
    ref = _guids(rng, m)

    goods = products[~products["is_folder"]].reset_index(drop=True)
    n_lines = 1 + rng.poisson(np.where(doc_company, 2.0, 0.6))
    line_doc = np.repeat(np.arange(m), n_lines)
    k = len(line_doc)
    fav = rng.integers(0, 8, m)
    prod = np.where(rng.random(k) < 0.6, fav[line_doc], rng.integers(0, len(goods), k))
    qty = np.where(doc_company[line_doc], rng.integers(5, 31, k), 1 + (rng.random(k) < 0.3)).astype(float)
    price = goods["price"].to_numpy()[prod] * np.where(rng.random(k) < 0.1, 0.95, 1.0)
    price = price.round(2)
    amount = (qty * price).round(2)
    vat20 = (goods["vat_rate"] == "НДС20").to_numpy()[prod]
    vat_amount = np.where(vat20, (amount * 20 / 120).round(2), 0.0)
    line_no = pd.Series(1, index=range(k)).groupby(line_doc).cumsum().to_numpy()
    items = _frame({"ref_key": pc.take(ref, pa.array(line_doc)), "line_number": line_no,
                    "product_key": pc.take(_text(goods["ref_key"]), pa.array(prod)), "quantity": qty, "price": price,
                    "amount": amount, "vat_rate": pc.take(_text(goods["vat_rate"]), pa.array(prod)), "vat_amount": vat_amount})
    totals = items.groupby(line_doc)["amount"].sum().reindex(range(m)).to_numpy()
    store_keys = _guids(rng, len(STORES))
    sales = _frame({
        "ref_key": ref, "number": number, "date": date, "posted": posted, "deletion_mark": deleted,
        "data_version": _data_versions(rng, m), "counterparty_key": pc.take(_text(cps["ref_key"]), pa.array(doc_row)),
        "store_key": pc.take(store_keys, pa.array(store)), "store_name": _pick([s[1] for s in STORES], store),
        "amount": totals.round(2), "comment": _where(doc_retail, "Чек ККМ", ""),
    })
    product_row = np.flatnonzero(~products["is_folder"].to_numpy())[prod]
    return sales, items, {"counterparty": doc_row, "sale": line_doc, "product": product_row}


# --- CommerceML ---------------------------------------------------------------------------------
# The order files are assembled column-wise, straight as windows-1251 bytes: each piece of a
# document is an Arrow binary column, the pieces are joined per row, and the documents of a month
# lie one after another in the result's data buffer, which is written as it is. Per 200k people
# this takes ~0.2 s where f-strings per document and line took ~1.6 s (and at 1M people decoding
# plus re-encoding one joined text alone took ~1.2 s).
def _cp1251(values) -> pa.Array:
    """Text as windows-1251 bytes, the way `str.encode("cp1251", errors="xmlcharrefreplace")` writes
    it. The column is encoded in one go: windows-1251 has one byte per character, so the values'
    lengths in characters place them in the encoded bytes. Should a character be missing from it,
    each distinct value is encoded on its own, with character references."""
    if isinstance(values, pa.Array) and pa.types.is_large_binary(values.type):
        return values
    text = _text(values)
    if pc.all(pc.string_is_ascii(text)).as_py() is not False:
        return text.cast(_BIN)
    filled = text.fill_null("")
    try:
        data = _buffer(filled).to_pybytes().decode("utf-8").encode("cp1251")
    except UnicodeEncodeError:
        codes = text.dictionary_encode()
        encoded = [value.encode("cp1251", errors="xmlcharrefreplace") for value in codes.dictionary.to_pylist()]
        return pc.take(pa.array(encoded, _BIN), codes.indices)
    offsets = np.concatenate([[0], np.cumsum(pc.utf8_length(filled).to_numpy())]).astype(np.int64)
    encoded = pa.Array.from_buffers(_BIN, len(filled), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return encoded if text.null_count == 0 else pc.if_else(pc.is_valid(text), encoded, pa.scalar(None, _BIN))


def _bcat(*parts) -> pa.Array:
    """`_cat` for windows-1251 bytes: constants are encoded, text columns go through `_cp1251`."""
    return pc.binary_join_element_wise(
        *(pa.scalar(x.encode("cp1251"), _BIN) if isinstance(x, str) else _cp1251(x) for x in parts), pa.scalar(b"", _BIN))


def _escape(values) -> pa.Array:
    """xml.sax.saxutils.escape for a whole column."""
    text = _text(values)
    for char, entity in (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;")):
        text = pc.replace_substring(text, char, entity)
    return text


def _fixed2(values) -> pa.Array:
    """`f"{v:.2f}"` for amounts already rounded to cents (so `v * 100` is within a hair of an integer)."""
    cents = np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64)
    sign, cents = _pick(["", "-"], cents < 0), np.abs(cents)
    return _cat(sign, cents // 100, ".", pc.utf8_lpad(_text(cents % 100), 2, "0"))


def _flag(values) -> pa.Array:
    return _pick(["false", "true"], np.asarray(values, dtype=bool))


def _buffer(values: pa.Array) -> pa.Buffer:
    """All values of a null-free large_binary/large_string Arrow array, one after another: they
    already lie so in the array's data buffer, which is handed on without a copy (writing
    `b"".join(values.to_pylist())` would first copy ~150 MB at 1M people)."""
    if not len(values):
        return pa.py_buffer(b"")
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset: values.offset + len(values) + 1]
    return values.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _cml_header(version: str, stamp: str, namespace: bool) -> str:
    ns = ' xmlns="urn:1C.ru:commerceml_2" xmlns:xs="http://www.w3.org/2001/XMLSchema"' if namespace else ""
    return (f'<КоммерческаяИнформация{ns} ВерсияСхемы="{version}" ДатаФормирования="{stamp}" '
            'ФорматДаты="ДФ=yyyy-MM-dd; ДЛФ=DT" ФорматВремени="ДФ=ЧЧ:мм:сс; ДЛФ=T" РазделительДатаВремя="T" '
            'ФорматСуммы="ЧЦ=18; ЧДЦ=2; ЧРД=." ФорматКоличества="ЧЦ=18; ЧДЦ=2; ЧРД=.">\n')


def _cml_contacts(rng, phone: np.ndarray, email: np.ndarray) -> pa.Array:
    """`<Контакты>` per document: e-mail, then phone, each only if the card has one, with a type
    label drawn per contact in that order. One draw with per-draw bounds gives exactly the
    sequence of one scalar draw per contact."""
    has = np.stack([pd.notna(email), pd.notna(phone)], axis=1)
    picks = np.zeros(has.shape, dtype=np.int64)
    picks[has] = rng.integers(0, np.broadcast_to(np.asarray([2, 3]), has.shape)[has])
    email_kind = _pick(["Почта", "Электронная почта"], picks[:, 0])
    phone_kind = _pick(["Телефон рабочий", "ТелефонРабочий", "Телефон"], picks[:, 1])
    email_xml = _bcat("<Контакт><Тип>", email_kind, "</Тип><Значение>", _escape(email), "</Значение></Контакт>")
    phone_xml = _bcat("<Контакт><Тип>", phone_kind, "</Тип><Значение>", _escape(phone), "</Значение></Контакт>")
    return _bcat("<Контакты>", email_xml.fill_null(b""), phone_xml.fill_null(b""), "</Контакты>")


def _cml_names(description) -> tuple[pa.Array, pa.Array, pa.Array]:
    """From a card's one-line name: `<Фамилия>`/`<Имя>`/`<Отчество>` (its first three words),
    the display name ("Имя Фамилия", or the whole name if it is one word) and the trimmed name."""
    full = pc.utf8_trim_whitespace(_text(description))
    words = pc.utf8_split_whitespace(full)
    word = [_escape(pc.binary_join(pc.list_slice(words, i, i + 1), pa.scalar("", _STR))) for i in range(3)]  # "" if none
    tags = [pc.if_else(pc.equal(w, ""), pa.scalar(b"", _BIN), _bcat(f"<{tag}>", w, f"</{tag}>"))
            for tag, w in zip(("Фамилия", "Имя", "Отчество"), word)]
    full_xml = _cp1251(_escape(full))
    display = pc.if_else(pc.greater_equal(pc.list_value_length(words), 2), _bcat(word[1], " ", word[0]), full_xml)
    return _bcat(*tags), display, full_xml


def _cml_goods(price, quantity, amount, product: np.ndarray, products: pd.DataFrame) -> pa.Array:
    """One `<Товар>` per sale line; the product part is made once per product and looked up."""
    head = _bcat("<Товар><Ид>", products["ref_key"], f"</Ид><ИдКаталога>{CATALOG_ID}</ИдКаталога><Наименование>",
                 _escape(products["description"]), "</Наименование>"
                 '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>'
                 "<ЦенаЗаЕдиницу>")
    return _bcat(
        pc.take(head, pa.array(product)), _fixed2(price), "</ЦенаЗаЕдиницу><Количество>", _fixed2(quantity),
        "</Количество><Сумма>", _fixed2(amount), "</Сумма><ЗначенияРеквизитов>"
        "<ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>"
        "<ЗначениеРеквизита><Наименование>ТипНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>"
        "</ЗначенияРеквизитов></Товар>")


def _cml_documents(rng, docs: pd.DataFrame, buyers: pd.DataFrame, phone, email, goods: pa.Array) -> pa.Array:
    """One `<Документ>` ("Заказ товара") per sale; `buyers`, `phone`, `email` and `goods` (the
    joined `<Товар>` elements) are per document."""
    names, display, full = _cml_names(buyers["description"])
    date = _text(docs["date"])
    return _bcat(
        "  <Документ>\n    <Ид>", docs["ref_key"], "</Ид><Номер>", _escape(docs["number"]), "</Номер><Дата>",
        pc.utf8_slice_codeunits(date, 0, 10), "</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль>"
        "<Валюта>руб</Валюта><Курс>1</Курс><Сумма>", _fixed2(docs["amount"]),
        "</Сумма>\n    <Контрагенты><Контрагент><Ид>", buyers["ref_key"], "</Ид><Наименование>", display,
        "</Наименование><ПолноеНаименование>", full, "</ПолноеНаименование>", names,
        "<Роль>Покупатель</Роль>", _cml_contacts(rng, phone, email), "</Контрагент></Контрагенты>\n    <Время>",
        pc.utf8_slice_codeunits(date, 11), "</Время><Комментарий></Комментарий><ПометкаУдаления>", _flag(docs["deletion_mark"]),
        "</ПометкаУдаления>\n    <Товары>", goods, "</Товары>\n"
        "    <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Проведен</Наименование><Значение>", _flag(docs["posted"]),
        "</Значение></ЗначениеРеквизита><ЗначениеРеквизита><Наименование>Склад</Наименование><Значение>",
        _escape(docs["store_name"]), "</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>\n  </Документ>\n")


def _write_orders(rng, world: World, out: Path, cps, sales, items, products, links, contacts) -> tuple[pd.DataFrame, int, int]:
    """Person sales of the last three months as monthly `Заказ товара` files, cp1251 like the
    Bitrix exchange; returns the counterparties written (for the truth), documents, broken files."""
    as_of = pd.Timestamp(world.cfg.as_of)
    window = (as_of - timedelta(days=EXCHANGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    person_rows = np.flatnonzero((cps["kind"] == "person").to_numpy())  # person i <-> contacts["phone"][i]
    person_of_row = np.full(len(cps), -1)
    person_of_row[person_rows] = np.arange(len(person_rows))
    person_of = person_of_row[links["counterparty"]]
    recent = np.flatnonzero((sales["date"] >= window).to_numpy() & (person_of >= 0))
    month = pc.utf8_slice_codeunits(pc.take(_text(sales["date"]), pa.array(recent)), 0, 7).to_numpy(zero_copy_only=False)
    rows = recent[np.argsort(month, kind="stable")]  # sales rows in the order the files hold them
    month, buyer = np.sort(month, kind="stable"), person_of[rows]

    # Lines of those documents, document by document in file order, lines in order.
    doc_of_sale = np.full(len(sales), -1)
    doc_of_sale[rows] = np.arange(len(rows))
    line_doc = doc_of_sale[links["sale"]]
    lines = np.flatnonzero(line_doc >= 0)
    lines = lines[np.argsort(line_doc[lines], kind="stable")]
    goods = _cml_goods(items["price"].to_numpy()[lines], items["quantity"].to_numpy()[lines], items["amount"].to_numpy()[lines],
                       links["product"][lines], products)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(line_doc[lines], minlength=len(rows)))])
    goods = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), goods), pa.scalar(b"", _BIN))
    docs = sales[["ref_key", "number", "date", "amount", "deletion_mark", "posted", "store_name"]].iloc[rows]
    xml = _cml_documents(rng, docs, cps[["ref_key", "description"]].iloc[person_rows[buyer]],
                         contacts["phone"][buyer], contacts["email"][buyer], goods)

    months, starts = np.unique(month, return_index=True)
    ends = np.append(starts[1:], len(rows))
    written: list[Path] = []
    for i, (month_name, start, end) in enumerate(zip(months, starts, ends)):
        newest = i == len(months) - 1
        stamp = (pd.Timestamp(month_name + "-01") + pd.offsets.MonthEnd(0)).strftime("%Y-%m-%dT23:10:00")
        head = ('<?xml version="1.0" encoding="windows-1251"?>\n'
                + _cml_header("2.07" if newest else "2.05", min(stamp, as_of.strftime("%Y-%m-%dT%H:%M:%S")), newest))
        path = out / f"orders_{month_name.replace('-', '')}.xml"
        with open(path, "wb") as f:
            f.write(head.encode("cp1251"))
            f.write(_buffer(xml.slice(start, end - start)))
            f.write("</КоммерческаяИнформация>\n".encode("cp1251"))
        written.append(path)
    broken = 0
    if written:  # the upload of the newest file was cut once; 1C sent it again in full
        data = written[-1].read_bytes()
        (out / f"{written[-1].stem}_attempt1.xml").write_bytes(data[: int(len(data) * 0.6)])
        broken = 1
    buyers = cps.iloc[person_rows[pd.unique(person_of[recent])]].set_index("ref_key")  # in order of their first sale
    return buyers, len(rows), broken


def _write_catalogue(out: Path, products: pd.DataFrame, stamp: str) -> None:
    """1C→site catalogue: groups and goods (`import.xml`), prices and stock (`offers.xml`)."""
    head = ('\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
            f'xmlns:xs="http://www.w3.org/2001/XMLSchema" ВерсияСхемы="2.07" ДатаФормирования="{stamp}">\n')
    groups = products[products["is_folder"]]
    goods = products[~products["is_folder"]]
    owner = "<Владелец><Ид>ef8f948c-8403-11da-9ae9-000d884f5d77</Ид><Наименование>Линзы и Оптика</Наименование></Владелец>"
    imp = [head, f"<Классификатор><Ид>{CATALOG_ID}</Ид><Наименование>Классификатор (Каталог товаров)</Наименование>{owner}<Группы>"]
    imp += [f"<Группа><Ид>{g.ref_key}</Ид><Наименование>{escape(g.description)}</Наименование></Группа>" for g in groups.itertuples()]
    imp.append(f'</Группы></Классификатор>\n<Каталог СодержитТолькоИзменения="false"><Ид>{CATALOG_ID}</Ид>'
               f"<ИдКлассификатора>{CATALOG_ID}</ИдКлассификатора><Наименование>Каталог товаров</Наименование>{owner}<Товары>\n")
    imp += [f"<Товар><Ид>{g.ref_key}</Ид><Артикул>{escape(g.article)}</Артикул><Наименование>{escape(g.description)}</Наименование>"
            '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>'
            f"<Группы><Ид>{g.parent_key}</Ид></Группы><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование>"
            "<Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Товар>\n" for g in goods.itertuples()]
    imp.append("</Товары></Каталог>\n</КоммерческаяИнформация>\n")
    (out / "import.xml").write_text("".join(imp), encoding="utf-8")
    off = [head, f'<ПакетПредложений СодержитТолькоИзменения="false"><Ид>{CATALOG_ID}#</Ид><Наименование>Пакет предложений</Наименование>'
           f"<ИдКаталога>{CATALOG_ID}</ИдКаталога><ИдКлассификатора>{CATALOG_ID}</ИдКлассификатора>{owner}"
           f"<ТипыЦен><ТипЦены><Ид>{PRICE_TYPE_ID}</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен><Склады>"]
    store_ids = [f"b61125{90 + i:02x}-41ba-11dd-ac9d-0015e9b8c48d" for i in range(len(STORES))]
    off += [f"<Склад><Ид>{sid}</Ид><Наименование>{escape(name)}</Наименование></Склад>" for sid, (_, name) in zip(store_ids, STORES)]
    off.append("</Склады><Предложения>\n")
    for i, g in enumerate(goods.itertuples()):
        stock = [(i * 7 + j * 3) % 25 for j in range(len(STORES))]
        off.append(f"<Предложение><Ид>{g.ref_key}</Ид><Артикул>{escape(g.article)}</Артикул><Наименование>{escape(g.description)}</Наименование>"
                   f"<Цены><Цена><Представление>{g.price:.0f} RUB за шт</Представление><ИдТипаЦены>{PRICE_TYPE_ID}</ИдТипаЦены>"
                   f"<ЦенаЗаЕдиницу>{g.price:.0f}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена></Цены><Количество>{sum(stock)}</Количество>"
                   + "".join(f'<Склад ИдСклада="{sid}" КоличествоНаСкладе="{q}"/>' for sid, q in zip(store_ids, stock))
                   + "</Предложение>\n")
    off.append("</Предложения></ПакетПредложений>\n</КоммерческаяИнформация>\n")
    (out / "offers.xml").write_text("".join(off), encoding="utf-8")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def build(world: World) -> SourceData:
    rng = world.rng(SYSTEM)
    out = world.dir(SYSTEM)
    exchange = out / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    cards = _person_cards(rng, world)
    cps, contact_rows, contacts = _counterparties(rng, world, cards)
    products = _products(rng)
    sales, items, links = _sales(rng, world, cps, products)

    _write_parquet(cps.drop(columns=["person_id", "kind"]), out / "counterparties.parquet")
    _write_parquet(contact_rows, out / "counterparty_contacts.parquet")
    _write_parquet(products.drop(columns=["price", "vat_rate"]), out / "products.parquet")
    _write_parquet(sales.drop(columns=["store_name"]), out / "sales.parquet")
    _write_parquet(items, out / "sale_items.parquet")
    (out / "infobase.json").write_text(json.dumps({"infobase": INFOBASE, "user": ODATA_USER}), encoding="utf-8")

    stamp = pd.Timestamp(world.cfg.as_of).strftime("%Y-%m-%dT%H:%M:%S")
    _write_catalogue(exchange, products, stamp)
    buyers, n_docs, broken = _write_orders(rng, world, exchange, cps, sales, items, products, links, contacts)

    people = cps[cps["kind"] == "person"]
    truth = pd.concat([
        pd.DataFrame({"source_system": SYSTEM, "source_record_id": people["ref_key"], "person_id": people["person_id"].astype(int)}),
        pd.DataFrame({"source_system": "commerceml", "source_record_id": buyers.index, "person_id": buyers["person_id"].astype(int)}),
    ], ignore_index=True)
    rows = {
        "onec.counterparties": len(cps), "onec.products": len(products), "onec.sales": len(sales),
        "onec.sale_items": len(items), "commerceml.orders": n_docs, "commerceml.counterparties": len(buyers),
        "commerceml.broken_files": broken,
    }
    return SourceData(truth=truth, rows=rows)
