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
import pyarrow.parquet as pq

from demo import names as N
from demo.generate import _email_variants, _format_phones
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


def _guids(rng: np.random.Generator, n: int) -> np.ndarray:
    """1C-looking GUIDs (version-1 layout, this infobase's node), unique within the call."""
    while True:
        a = rng.integers(0, 2**32, n, dtype=np.uint64)
        b, c, d = rng.integers(0, 2**16, n), rng.integers(0, 2**8, n), rng.integers(0, 2**16, n)
        out = np.asarray([f"{w:08x}-{x:04x}-11{y:02x}-{z:04x}-{NODE}" for w, x, y, z in zip(a, b, c, d)], dtype=object)
        if len(set(out)) == n:
            return out


def _data_versions(rng: np.random.Generator, n: int) -> np.ndarray:
    """`DataVersion` as 1C sends it: base64 of an 8-byte counter, opaque to clients."""
    counters = rng.integers(1, 60, n)
    return np.asarray([base64.b64encode(struct.pack(">II", int(v), 0)).decode() for v in counters], dtype=object)


def _iso(seconds: np.ndarray) -> np.ndarray:
    return pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)


def _yo(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    replaced = np.char.replace(np.char.replace(values.astype(str), "ё", "е"), "Ё", "Е").astype(object)
    return np.where(mask, replaced, values)


# --- who has a card ---------------------------------------------------------------------------
def _person_cards(rng: np.random.Generator, world: World) -> pd.DataFrame:
    p, crm = world.persons, world.crm_customers
    crm_person = np.asarray(world.extra["retailcrm_person_id"])
    linked = crm["externalId"].notna().to_numpy()
    created_crm = pd.to_datetime(crm["createdAt"]).astype("datetime64[s]").astype("int64").to_numpy()
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


def _person_descriptions(rng, p, idx: np.ndarray) -> np.ndarray:
    n = len(idx)
    patr = np.where(rng.random(n) < 0.08, "", p.patronymic[idx])
    full = p.surname[idx] + " " + p.given[idx] + np.where(patr == "", "", " " + patr.astype(str))
    full = _yo(full, rng.random(n) < 0.35)
    full = np.where(rng.random(n) < 0.06, np.char.upper(full.astype(str)).astype(object), full)
    return np.where(rng.random(n) < 0.03, full + " ", full)


KIND_KEYS = {"Телефон": "a1f0c2e4-5d6b-11e5-80d4-000c295e30eb", "АдресЭлектроннойПочты": "a1f0c2e5-5d6b-11e5-80d4-000c295e30eb",
             "Адрес": "a1f0c2e6-5d6b-11e5-80d4-000c295e30eb"}


def _contact_rows(rng, p, refs: np.ndarray, idx: np.ndarray, is_dup: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The `КонтактнаяИнформация` table part as a long table (one row per line), plus each card's
    main phone and e-mail as typed. `extended` rows come from a newer 1C release that also fills
    `НомерТелефона`/`АдресЭП`/`Значение`."""
    n = len(idx)
    phone = _format_phones(p.mobile[idx], rng.integers(0, 7, n))
    phone = np.where(rng.random(n) < 0.04, _format_phones(p.mobile2[idx], rng.integers(0, 7, n)), phone)
    phone = np.where(rng.random(n) < np.where(is_dup, 0.05, 0.12), None, phone)
    second = np.where(rng.random(n) < 0.08, _format_phones(p.mobile2[idx], rng.integers(0, 7, n)), None)
    email = _email_variants(rng, p.email[idx])
    email = np.where(rng.random(n) < 0.5, email, None)
    address = np.where(rng.random(n) < 0.3, p.city[idx] + ", ул. Ленина, д. " + rng.integers(1, 120, n).astype(str), None)
    extended = rng.random(n) < 0.4
    parts = []
    for order, (kind, values) in enumerate((("Телефон", phone), ("Телефон", second), ("АдресЭлектроннойПочты", email), ("Адрес", address))):
        has = pd.notna(values)
        parts.append(pd.DataFrame({"ref_key": refs[has], "card": np.flatnonzero(has), "order": order, "kind": kind,
                                   "presentation": values[has], "extended": extended[has]}))
    rows = pd.concat(parts, ignore_index=True).sort_values(["card", "order"], kind="stable", ignore_index=True)
    rows["line_number"] = rows.groupby("card").cumcount() + 1
    return rows.drop(columns=["card", "order"]), phone, email


def _counterparties(rng, world: World, cards: pd.DataFrame):
    p = world.persons
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    n = len(cards)
    folders = pd.DataFrame({
        "ref_key": _guids(rng, 3), "code": ["ЦБ-000002", "ЦБ-000003", "ЦБ-000004"],
        "description": ["Интернет-магазин", "Розничные покупатели", "Организации"], "is_folder": True,
    })
    folder_of = dict(zip(["online", "stores", "companies"], folders["ref_key"]))
    idx = cards["person_idx"].to_numpy()
    refs = _guids(rng, n)
    contacts, phone, email = _contact_rows(rng, p, refs, idx, cards["is_dup"].to_numpy())
    desc = _person_descriptions(rng, p, idx)
    deleted = (rng.random(n) < 0.015) | (cards["is_dup"].to_numpy() & (rng.random(n) < 0.5))
    persons = pd.DataFrame({
        "ref_key": refs, "code": cards["code"], "description": desc,
        "full_name": np.where(rng.random(n) < 0.1, np.char.upper(desc.astype(str)).astype(object), desc),
        "legal_form": "ФизическоеЛицо", "inn": "", "kpp": "",
        "parent_key": [folder_of[g] for g in cards["group"]], "is_folder": False, "deletion_mark": deleted,
        "created_at": _iso(np.minimum(cards["created"].to_numpy(), as_of - 3600)),
        "comment": np.where(cards["is_dup"], "Завели на кассе", ""),
        "person_id": p.person_id[idx], "kind": "person",
    })
    k = max(2, n // 150)
    words = np.asarray(COMPANY_WORDS, dtype=object)
    brand = pd.Series(words[rng.integers(0, len(words), k)] + "-" + rng.integers(1, 99, k).astype(str))
    office = _format_phones(np.char.add("495", np.char.zfill(rng.integers(0, 10**7, k).astype(str), 7)).astype(object), rng.integers(0, 7, k))
    companies = pd.DataFrame({
        "ref_key": _guids(rng, k), "code": np.char.add("ОП-", np.char.zfill(np.arange(1, k + 1).astype(str), 5)),
        "description": brand + " ООО", "full_name": "ООО \"" + brand + "\"", "legal_form": "ЮридическоеЛицо",
        "inn": ["".join(map(str, rng.integers(0, 10, 10))) for _ in range(k)],
        "kpp": ["7701" + "".join(map(str, rng.integers(0, 10, 5))) for _ in range(k)],
        "parent_key": folder_of["companies"], "is_folder": False, "deletion_mark": False,
        "created_at": _iso(rng.integers(int(pd.Timestamp("2021-01-01").timestamp()), as_of - 86400, k)), "comment": "",
        "person_id": None, "kind": "company",
    })
    contacts = pd.concat([contacts, pd.DataFrame({"ref_key": companies["ref_key"], "kind": "Телефон", "presentation": office,
                                                  "extended": False, "line_number": 1})], ignore_index=True)
    retail = pd.DataFrame({
        "ref_key": _guids(rng, 1), "code": ["ЦБ-000001"], "description": ["Розничный покупатель"],
        "full_name": ["Розничный покупатель"], "legal_form": "ФизическоеЛицо", "inn": "", "kpp": "",
        "parent_key": EMPTY_REF, "is_folder": False, "deletion_mark": False, "created_at": "2021-01-11T09:00:00",
        "comment": "Для чеков без карты покупателя", "person_id": None, "kind": "retail",
    })
    folders = folders.assign(full_name="", legal_form="", inn="", kpp="", parent_key=EMPTY_REF, deletion_mark=False,
                             created_at=EMPTY_DATE, comment="", person_id=None, kind="folder")
    table = pd.concat([folders, persons, companies, retail], ignore_index=True)
    table["data_version"] = _data_versions(rng, len(table))
    table["person_id"] = table["person_id"].astype("Int64")
    contacts["kind_key"] = contacts["kind"].map(KIND_KEYS)
    main = {"phone": dict(zip(persons["ref_key"], phone)), "email": dict(zip(persons["ref_key"], email))}
    return table, contacts, main


# --- what they bought ---------------------------------------------------------------------------
def _products(rng) -> pd.DataFrame:
    groups = sorted(set(CATEGORY_GROUPS.values()))
    group_keys = dict(zip(groups, _guids(rng, len(groups))))
    n = len(N.PRODUCTS)
    rows = pd.DataFrame({
        "ref_key": _guids(rng, n), "code": [f"00-{i:08d}" for i in range(1, n + 1)],
        "description": [x[1] for x in N.PRODUCTS], "article": [x[0] for x in N.PRODUCTS],
        "parent_key": [group_keys[CATEGORY_GROUPS[x[2]]] for x in N.PRODUCTS], "is_folder": False,
        "price": [float(x[3]) for x in N.PRODUCTS], "vat_rate": ["БезНДС" if x[2].startswith("lenses") else "НДС20" for x in N.PRODUCTS],
    })
    folders = pd.DataFrame({"ref_key": list(group_keys.values()), "code": [f"00-G{i:07d}" for i in range(1, len(groups) + 1)],
                            "description": groups, "article": "", "parent_key": EMPTY_REF, "is_folder": True,
                            "price": 0.0, "vat_rate": ""})
    table = pd.concat([folders, rows], ignore_index=True)
    table["deletion_mark"] = False
    table["data_version"] = _data_versions(rng, len(table))
    return table


def _sales(rng, world: World, cps: pd.DataFrame, products: pd.DataFrame):
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    start_all = int(pd.Timestamp("2022-01-01").timestamp())
    buyers = cps[cps["kind"].isin(["person", "company"])]
    lam = np.where(buyers["kind"] == "company", 6.0, np.where(buyers["code"].str.startswith("ЦБ-"), 0.8, 1.5))
    n_docs = rng.poisson(lam)
    doc_cp = np.repeat(buyers["ref_key"].to_numpy(), n_docs)
    doc_kind = np.repeat(buyers["kind"].to_numpy(), n_docs)
    created = pd.to_datetime(np.repeat(buyers["created_at"].to_numpy(), n_docs)).astype("datetime64[s]").astype("int64").to_numpy()
    anonymous = int(len(doc_cp) * 0.25)
    retail_key = cps.loc[cps["kind"] == "retail", "ref_key"].iloc[0]
    doc_cp = np.concatenate([doc_cp, np.full(anonymous, retail_key, dtype=object)])
    doc_kind = np.concatenate([doc_kind, np.full(anonymous, "retail", dtype=object)])
    created = np.concatenate([created, np.full(anonymous, start_all)])
    m = len(doc_cp)
    lo = np.maximum(created, start_all)
    day = lo + (rng.random(m) ** 0.8 * np.maximum(as_of - 3600 - lo, 3600)).astype(np.int64)
    day = day - day % 86400 + rng.integers(10 * 3600, 22 * 3600, m)
    day = np.minimum(day, as_of - 600)
    order = np.argsort(day, kind="stable")
    doc_cp, doc_kind, day = doc_cp[order], doc_kind[order], day[order]
    store = rng.integers(0, len(STORES), m)
    year = pd.to_datetime(day, unit="s").year.to_numpy()
    seq = pd.Series(1, index=range(m)).groupby([store, year]).cumsum().to_numpy()
    prefix = np.asarray([s[0] for s in STORES], dtype=object)[store]
    number = prefix + "00-" + np.char.zfill(seq.astype(str), 6).astype(object)
    deleted = rng.random(m) < 0.01
    posted = ~deleted & (rng.random(m) > 0.02)
    date = _iso(day)
    if m > 100:  # an import that lost the document date
        date[rng.integers(0, m)] = EMPTY_DATE
    ref = _guids(rng, m)

    goods = products[~products["is_folder"]].reset_index(drop=True)
    n_lines = 1 + rng.poisson(np.where(doc_kind == "company", 2.0, 0.6))
    line_doc = np.repeat(np.arange(m), n_lines)
    k = len(line_doc)
    fav = rng.integers(0, 8, m)
    prod = np.where(rng.random(k) < 0.6, fav[line_doc], rng.integers(0, len(goods), k))
    qty = np.where(doc_kind[line_doc] == "company", rng.integers(5, 31, k), 1 + (rng.random(k) < 0.3)).astype(float)
    price = goods["price"].to_numpy()[prod] * np.where(rng.random(k) < 0.1, 0.95, 1.0)
    price = price.round(2)
    amount = (qty * price).round(2)
    vat = goods["vat_rate"].to_numpy()[prod]
    vat_amount = np.where(vat == "НДС20", (amount * 20 / 120).round(2), 0.0)
    line_no = pd.Series(1, index=range(k)).groupby(line_doc).cumsum().to_numpy()
    items = pd.DataFrame({"ref_key": ref[line_doc], "line_number": line_no, "product_key": goods["ref_key"].to_numpy()[prod],
                          "quantity": qty, "price": price, "amount": amount, "vat_rate": vat, "vat_amount": vat_amount})
    totals = items.groupby(line_doc)["amount"].sum().reindex(range(m)).to_numpy()
    store_keys = dict(zip(range(len(STORES)), _guids(rng, len(STORES))))
    sales = pd.DataFrame({
        "ref_key": ref, "number": number, "date": date, "posted": posted, "deletion_mark": deleted,
        "data_version": _data_versions(rng, m), "counterparty_key": doc_cp,
        "store_key": [store_keys[s] for s in store], "store_name": np.asarray([s[1] for s in STORES], dtype=object)[store],
        "amount": totals.round(2), "comment": np.where(doc_kind == "retail", "Чек ККМ", ""),
    })
    return sales, items


# --- CommerceML ---------------------------------------------------------------------------------
def _cml_header(version: str, stamp: str, namespace: bool) -> str:
    ns = ' xmlns="urn:1C.ru:commerceml_2" xmlns:xs="http://www.w3.org/2001/XMLSchema"' if namespace else ""
    return (f'<КоммерческаяИнформация{ns} ВерсияСхемы="{version}" ДатаФормирования="{stamp}" '
            'ФорматДаты="ДФ=yyyy-MM-dd; ДЛФ=DT" ФорматВремени="ДФ=ЧЧ:мм:сс; ДЛФ=T" РазделительДатаВремя="T" '
            'ФорматСуммы="ЧЦ=18; ЧДЦ=2; ЧРД=." ФорматКоличества="ЧЦ=18; ЧДЦ=2; ЧРД=.">\n')


def _cml_contacts(rng, phone, email) -> str:
    parts = []
    if email is not None:
        kind = ("Почта", "Электронная почта")[int(rng.integers(0, 2))]
        parts.append(f"<Контакт><Тип>{kind}</Тип><Значение>{escape(email)}</Значение></Контакт>")
    if phone is not None:
        kind = ("Телефон рабочий", "ТелефонРабочий", "Телефон")[int(rng.integers(0, 3))]
        parts.append(f"<Контакт><Тип>{kind}</Тип><Значение>{escape(phone)}</Значение></Контакт>")
    return "<Контакты>" + "".join(parts) + "</Контакты>"


def _cml_document(rng, doc, cp, lines, goods, contacts) -> str:
    words = cp["description"].split()
    names = "".join(f"<{tag}>{escape(w)}</{tag}>" for tag, w in zip(("Фамилия", "Имя", "Отчество"), words))
    display = " ".join(reversed(words[:2])) if len(words) >= 2 else cp["description"].strip()
    date, time = doc["date"].split("T")
    items = []
    for line in lines:
        product = goods[line["product_key"]]
        items.append(
            f"<Товар><Ид>{line['product_key']}</Ид><ИдКаталога>{CATALOG_ID}</ИдКаталога>"
            f"<Наименование>{escape(product['description'])}</Наименование>"
            '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>'
            f"<ЦенаЗаЕдиницу>{line['price']:.2f}</ЦенаЗаЕдиницу><Количество>{line['quantity']:.2f}</Количество>"
            f"<Сумма>{line['amount']:.2f}</Сумма><ЗначенияРеквизитов>"
            "<ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>"
            "<ЗначениеРеквизита><Наименование>ТипНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>"
            "</ЗначенияРеквизитов></Товар>")
    phone, email = contacts
    return (
        f"  <Документ>\n    <Ид>{doc['ref_key']}</Ид><Номер>{escape(doc['number'])}</Номер><Дата>{date}</Дата>"
        f"<ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта><Курс>1</Курс>"
        f"<Сумма>{doc['amount']:.2f}</Сумма>\n    <Контрагенты><Контрагент><Ид>{cp['ref_key']}</Ид>"
        f"<Наименование>{escape(display)}</Наименование><ПолноеНаименование>{escape(cp['description'].strip())}</ПолноеНаименование>"
        f"{names}<Роль>Покупатель</Роль>{_cml_contacts(rng, phone, email)}</Контрагент></Контрагенты>\n"
        f"    <Время>{time}</Время><Комментарий></Комментарий><ПометкаУдаления>{str(bool(doc['deletion_mark'])).lower()}</ПометкаУдаления>\n"
        f"    <Товары>{''.join(items)}</Товары>\n"
        "    <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Проведен</Наименование>"
        f"<Значение>{str(bool(doc['posted'])).lower()}</Значение></ЗначениеРеквизита><ЗначениеРеквизита>"
        f"<Наименование>Склад</Наименование><Значение>{escape(doc['store_name'])}</Значение></ЗначениеРеквизита>"
        "</ЗначенияРеквизитов>\n  </Документ>\n")


def _write_orders(rng, world: World, out: Path, cps, sales, items, products, contacts) -> tuple[pd.DataFrame, int, int]:
    """Person sales of the last three months as monthly `Заказ товара` files, cp1251 like the
    Bitrix exchange; returns the counterparties written (for the truth), documents, broken files."""
    as_of = pd.Timestamp(world.cfg.as_of)
    window = (as_of - timedelta(days=EXCHANGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    persons = cps[cps["kind"] == "person"].set_index("ref_key")
    docs = sales[(sales["date"] >= window) & sales["counterparty_key"].isin(persons.index)].copy()
    docs["month"] = docs["date"].str[:7]
    lines_of: dict[str, list[dict]] = {}
    wanted = items[items["ref_key"].isin(docs["ref_key"])]
    for values in zip(*(wanted[c].to_numpy() for c in wanted.columns)):
        line = dict(zip(wanted.columns, values))
        lines_of.setdefault(line["ref_key"], []).append(line)
    goods = products.set_index("ref_key").to_dict("index")
    names = dict(zip(persons.index, persons["description"]))
    months = sorted(docs["month"].unique())
    written: list[Path] = []
    for i, month in enumerate(months):
        part = docs[docs["month"] == month]
        newest = i == len(months) - 1
        stamp = (pd.Timestamp(month + "-01") + pd.offsets.MonthEnd(0)).strftime("%Y-%m-%dT23:10:00")
        body = [_cml_header("2.07" if newest else "2.05", min(stamp, as_of.strftime("%Y-%m-%dT%H:%M:%S")), newest)]
        for doc in part.to_dict("records"):
            key = doc["counterparty_key"]
            cp = {"description": names[key], "ref_key": key}
            body.append(_cml_document(rng, doc, cp, lines_of[doc["ref_key"]], goods, (contacts["phone"].get(key), contacts["email"].get(key))))
        body.append("</КоммерческаяИнформация>\n")
        data = ('<?xml version="1.0" encoding="windows-1251"?>\n' + "".join(body)).encode("cp1251", errors="xmlcharrefreplace")
        path = out / f"orders_{month.replace('-', '')}.xml"
        path.write_bytes(data)
        written.append(path)
    broken = 0
    if written:  # the upload of the newest file was cut once; 1C sent it again in full
        data = written[-1].read_bytes()
        (out / f"{written[-1].stem}_attempt1.xml").write_bytes(data[: int(len(data) * 0.6)])
        broken = 1
    buyers = persons.loc[docs["counterparty_key"].unique()]
    return buyers, len(docs), broken


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
    sales, items = _sales(rng, world, cps, products)

    _write_parquet(cps.drop(columns=["person_id", "kind"]), out / "counterparties.parquet")
    _write_parquet(contact_rows, out / "counterparty_contacts.parquet")
    _write_parquet(products.drop(columns=["price", "vat_rate"]), out / "products.parquet")
    _write_parquet(sales.drop(columns=["store_name"]), out / "sales.parquet")
    _write_parquet(items, out / "sale_items.parquet")
    (out / "infobase.json").write_text(json.dumps({"infobase": INFOBASE, "user": ODATA_USER}), encoding="utf-8")

    stamp = pd.Timestamp(world.cfg.as_of).strftime("%Y-%m-%dT%H:%M:%S")
    _write_catalogue(exchange, products, stamp)
    buyers, n_docs, broken = _write_orders(rng, world, exchange, cps, sales, items, products, contacts)

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
