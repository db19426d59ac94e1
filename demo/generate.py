"""Deterministic demo data: a Russian online shop of contact lenses whose customers live in
several systems at once (RetailCRM, a loyalty-card spreadsheet from the offline stores, the
Unisender mailing list).

The mess is on purpose and follows what shops actually have: phones typed five ways, names in
either order and case, `ё`/`е`, e-mail case and stray spaces, the shop's switchboard phone on many
CRM records, duplicate CRM records of one person, a family sharing one phone, typos, people who
unsubscribed in the mailing tool while the CRM still says "subscribed", cancelled and returned
orders, and a few spreadsheet rows that cannot be parsed at all.

What the pipeline must discover is written separately under `ground_truth/` (which records are one
person, who revoked consent); the pipeline never reads it, tests and the quality command do.

Vectorised with NumPy and Arrow (text is built in Arrow, not as a Python string per row), and the
per-system builders run in forked processes from 100k people. 1 M people with every system: 29 s on
2 cores, 39 s in one process (`--workers 1`), 3.2 GB peak RSS:
`python -m demo.generate --customers 1000000 --out data/bench` (also run by `make bench`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from demo import names as N
from demo.sources import SourceData, World

# Systems beyond the core three, each a module `demo/sources/<system>.py` with `build(world)`.
SOURCE_MODULES: list[str] = [
    "demo.sources.bitrix24",
    "demo.sources.email_platforms",
    "demo.sources.amocrm",
    "demo.sources.onec",
    "demo.sources.spreadsheet_inbox",
    "demo.sources.retailcrm_carts",
    "demo.sources.retailcrm_corporate",
]

SWITCHBOARD_PHONE = "8 (495) 150-00-00"
ROLE_EMAIL = "info@linzy-shop.ru"
UNISENDER_LIST_ID = 1
UNISENDER_LIST_TITLE = "Рассылка магазина"


@dataclass(frozen=True)
class Config:
    customers: int = 5000
    seed: int = 42
    as_of: datetime = datetime(2026, 11, 1, 12, 0, 0)


def _pick(options: list[str], idx: np.ndarray) -> np.ndarray:
    return np.asarray(options, dtype=object)[idx % len(options)]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded decimal text (Arrow: ~0.15 s per million, where
    `np.char.zfill(values.astype(str))` took ~0.4 s)."""
    return pc.utf8_lpad(_text(values), width, "0").to_numpy(zero_copy_only=False)


def _text(values) -> pa.Array:
    """An Arrow string array of the values (integers are written in decimal)."""
    if isinstance(values, pa.Array):
        return values
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        return pc.cast(pa.array(values), pa.string())
    return pa.array(values.astype(object) if values.dtype.kind == "U" else values, type=pa.string())


def _cat(*parts) -> pa.Array:
    """Element-wise string concatenation of arrays (text or integers) and string scalars in Arrow
    (one pass in C; chained `+` on object arrays made a Python string per step). A null part makes
    a null result."""
    return pc.binary_join_element_wise(*(p if isinstance(p, str) else _text(p) for p in parts), "")


def _concat(*parts) -> np.ndarray:
    """`_cat` as a NumPy object array, for code that goes on in NumPy."""
    return _cat(*parts).to_numpy(zero_copy_only=False)


def _pick_text(options: list[str], idx: np.ndarray) -> pa.Array:
    """options[idx] as Arrow text (no Python string per row)."""
    return pc.take(pa.array(options, pa.string()), pa.array(np.asarray(idx, dtype=np.int64)))


def _where_applied(mask: np.ndarray, values: pa.Array, fn) -> pa.Array:
    """`fn(values)` where `mask` is set, `values` elsewhere; `fn` runs on the masked rows only."""
    mask = pa.array(np.asarray(mask, dtype=bool))
    return pc.replace_with_mask(values, mask, fn(pc.filter(values, mask)))


def _table(columns: dict) -> pa.Table:
    """An Arrow table from NumPy arrays, Arrow arrays and scalars (repeated to the length)."""
    n = max(len(v) for v in columns.values() if not np.isscalar(v))
    return pa.table({
        k: v if isinstance(v, pa.Array) else pa.array(np.full(n, v, dtype=object) if np.isscalar(v) else v)
        for k, v in columns.items()
    })


def _frame(columns: dict) -> pd.DataFrame:
    """A DataFrame built through Arrow: converting object columns to pandas' `str` dtype is ~3.5x
    faster this way than in `pd.DataFrame(...)` (0.04 s vs 0.15 s per million strings)."""
    return _table(columns).to_pandas()


def _fmt_dt(seconds: np.ndarray, fmt: str = "%Y-%m-%d %H:%M:%S") -> np.ndarray:
    """Unix seconds -> text, by default RetailCRM's 'Y-m-d H:i:s' (no offset, account-local)."""
    return _fmt_dt_arrow(seconds, fmt).to_numpy(zero_copy_only=False)


def _fmt_dt_arrow(seconds: np.ndarray, fmt: str = "%Y-%m-%d %H:%M:%S") -> pa.Array:
    """Arrow's cast to string writes exactly 'Y-m-d H:M:S' and is ~10x faster than pandas'
    strftime (0.05 s vs 0.5 s per million), so that format takes the cast; others use Arrow's strftime."""
    stamps = pa.array(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"))
    return pc.cast(stamps, pa.string()) if fmt == "%Y-%m-%d %H:%M:%S" else pc.strftime(stamps, format=fmt)


# How people and CRMs type a 10-digit national number; each `d` takes the next digit.
PHONE_TEMPLATES = [
    "8 (ddd) ddd-dd-dd",
    "+7 ddd ddddddd",
    "+7dddddddddd",
    "7dddddddddd",
    "dddddddddd",
    "8-ddd-ddd-dd-dd",
    "+7 (ddd) ddddddd",
]


def _format_phones(digits10: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Write 10-digit national numbers the ways in `PHONE_TEMPLATES` (style k -> template k mod 7).

    Works on a bytes matrix (one row per number, one column per character), so a million numbers
    take ~0.3 s; building every variant with pandas string ops and picking one took ~8 s.
    """
    digits = np.asarray(digits10, dtype=object).astype("S10")
    matrix = digits.view(np.uint8).reshape(len(digits), 10)
    style = np.asarray(style) % len(PHONE_TEMPLATES)
    out = np.empty(len(digits), dtype=object)
    for k, template in enumerate(PHONE_TEMPLATES):
        rows = np.flatnonzero(style == k)
        if not len(rows):
            continue
        buf = np.empty((len(rows), len(template)), dtype=np.uint8)
        next_digit = 0
        for col, ch in enumerate(template):
            if ch == "d":
                buf[:, col] = matrix[rows, next_digit]
                next_digit += 1
            else:
                buf[:, col] = ord(ch)
        out[rows] = buf.view(f"S{len(template)}").ravel().astype(f"U{len(template)}").astype(object)
    return out


class Persons:
    """The people behind the records: one row per real customer."""

    def __init__(self, cfg: Config, rng: np.random.Generator):
        n = cfg.customers
        self.n = n
        self.person_id = np.arange(1, n + 1)
        female = rng.random(n) < 0.62
        self.female = female
        s_idx = rng.integers(0, len(N.MALE_SURNAMES), n)
        male_surnames = np.asarray(N.MALE_SURNAMES, dtype=object)
        female_surnames = np.asarray([N.female_surname(s) for s in N.MALE_SURNAMES], dtype=object)
        self.surname = np.where(female, female_surnames[s_idx], male_surnames[s_idx])
        female_given, male_given = rng.integers(0, 10**6, n), rng.integers(0, 10**6, n)
        self.given = np.where(female, _pick(N.FEMALE_NAMES, female_given), _pick(N.MALE_NAMES, male_given))
        p_idx = rng.integers(0, len(N.MALE_PATRONYMICS), n)
        self.patronymic = np.where(
            female,
            np.asarray(N.FEMALE_PATRONYMICS, dtype=object)[p_idx],
            np.asarray(N.MALE_PATRONYMICS, dtype=object)[p_idx],
        )
        # Unique mobile numbers 9XXXXXXXXX: an affine map with a multiplier coprime to 10^9 is a
        # bijection on [0, 10^9), so distinct people never share a number by accident.
        base = (self.person_id.astype(np.int64) * 829_348_621 + 123_457) % 10**9
        self.mobile = _digits(9 * 10**9 + base, 10)
        alt = (self.person_id.astype(np.int64) * 376_543_217 + 987_651) % 10**9
        self.mobile2 = _digits(9 * 10**9 + alt, 10)
        # A few families share one phone: a different person, the same number.
        family = rng.random(n) < 0.003
        partner = np.clip(self.person_id - 2, 0, n - 1)
        self.mobile = np.where(family, self.mobile[partner], self.mobile)
        self.has_email = rng.random(n) < 0.86
        # Transliterate each dictionary name once and pick by the same index as the name.
        tr_given = np.where(
            female,
            _pick([N.translit(x) for x in N.FEMALE_NAMES], female_given),
            _pick([N.translit(x) for x in N.MALE_NAMES], male_given),
        )
        tr_male_sur = np.asarray([N.translit(x) for x in N.MALE_SURNAMES], dtype=object)
        tr_female_sur = np.asarray([N.translit(N.female_surname(x)) for x in N.MALE_SURNAMES], dtype=object)
        tr_sur = np.where(female, tr_female_sur[s_idx], tr_male_sur[s_idx])
        pattern = rng.integers(0, 3, n)
        domain = _pick(N.EMAIL_DOMAINS, rng.integers(0, 10**6, n))
        pid = self.person_id
        dot, under = pattern == 0, pattern == 2
        local = _concat(tr_sur, pid)
        local[dot] = _concat(tr_given[dot], ".", tr_sur[dot], pid[dot])
        local[under] = _concat(tr_given[under], "_", tr_sur[under], "_", pid[under])
        self.email = np.where(self.has_email, _concat(local, "@", domain), None)
        days = rng.integers(365 * 18, 365 * 72, n)
        bdays = pd.Timestamp(cfg.as_of.date()) - pd.to_timedelta(days, unit="D")
        self.birthday = pc.cast(pa.array(bdays.to_numpy().astype("datetime64[D]")), pa.string()).to_numpy(zero_copy_only=False)
        self.city = _pick(N.CITIES, rng.integers(0, 10**6, n))
        self.in_crm = rng.random(n) < 0.75
        self.in_sheet = rng.random(n) < 0.30
        # Every person is somewhere: the ones in neither source subscribed to the newsletter only.
        self.newsletter_only = ~self.in_crm & ~self.in_sheet & self.has_email
        self.card = _digits(2000 * 10**8 + (self.person_id * 7_919) % 10**8, 12)


def _name_variants(rng, given, surname, patronymic):
    """CRM name fields as managers type them: sometimes all in one field, upper case, ё→е."""
    n = len(given)
    first, last, patr = given.copy(), surname.copy(), patronymic.copy()
    glued = rng.random(n) < 0.08
    first = np.where(glued, surname + " " + given, first)
    last = np.where(glued, "", last)
    patr = np.where(rng.random(n) < 0.05, "", patr)
    yo = rng.random(n) < 0.25
    first[yo] = _yo_to_e(first[yo])
    last[yo] = _yo_to_e(last[yo])
    upper = rng.random(n) < 0.04
    first[upper] = _upper(first[upper])
    last[upper] = _upper(last[upper])
    return first, last, patr


def _yo_to_e(values: np.ndarray) -> np.ndarray:
    return pc.replace_substring(pa.array(values, type=pa.string()), "ё", "е").to_numpy(zero_copy_only=False)


def _upper(values: np.ndarray) -> np.ndarray:
    return pc.utf8_upper(pa.array(values, type=pa.string())).to_numpy(zero_copy_only=False)


def _email_variants(rng, email):
    n = len(email)
    e = email.copy()
    has = ~pd.isna(e)
    caps = has & (rng.random(n) < 0.15)
    e[caps] = [x[:1].upper() + x[1:].title() if x else x for x in e[caps]]
    space = has & (rng.random(n) < 0.05)
    e[space] = [" " + x + " " for x in e[space]]
    return e


def build_crm(cfg: Config, rng: np.random.Generator, p: Persons):
    """RetailCRM customers (flat; the emulator renders the API shape) and their orders."""
    idx = np.flatnonzero(p.in_crm)
    dup = idx[rng.random(len(idx)) < 0.03]  # a second CRM record for the same person
    rec_person = np.concatenate([idx, dup])
    is_dup = np.concatenate([np.zeros(len(idx), bool), np.ones(len(dup), bool)])
    order = np.argsort(rng.random(len(rec_person)), kind="stable")
    rec_person, is_dup = rec_person[order], is_dup[order]
    m = len(rec_person)
    crm_id = np.arange(1001, 1001 + m)
    first, last, patr = _name_variants(rng, p.given[rec_person], p.surname[rec_person], p.patronymic[rec_person])

    # Phones: most records carry the mobile; a duplicate record sometimes carries only e-mail.
    style = rng.integers(0, 7, m)
    phone1 = _format_phones(p.mobile[rec_person], style)
    no_phone = rng.random(m) < np.where(is_dup, 0.4, 0.05)
    phone1 = np.where(no_phone, None, phone1)
    switchboard = rng.random(m) < 0.006  # a manager typed the shop's own number
    phone1 = np.where(switchboard, SWITCHBOARD_PHONE, phone1)
    typo = rng.random(m) < 0.004  # one digit wrong: this record will not link by phone
    typo_phone = [d[:-1] + str((int(d[-1]) + 1) % 10) for d in p.mobile[rec_person][typo]]
    phone1[typo] = _format_phones(np.asarray(typo_phone, dtype=object), style[typo])
    second = rng.random(m) < 0.05
    phone2 = np.where(second, _format_phones(p.mobile2[rec_person], rng.integers(0, 7, m)), None)

    email = _email_variants(rng, p.email[rec_person])
    no_email = rng.random(m) < np.where(is_dup, 0.4, 0.06)
    email = np.where(no_email & ~no_phone, None, email)  # keep at least one contact on dup records

    created = rng.integers(int(datetime(2022, 1, 1).timestamp()), int(cfg.as_of.timestamp()) - 86400 * 2, m)
    subscribed = rng.random(m) < 0.72
    unsub_crm = subscribed & (rng.random(m) < 0.06)
    unsub_at = created + rng.integers(86400, 86400 * 300, m)
    unsub_at = np.minimum(unsub_at, int(cfg.as_of.timestamp()) - 3600)
    ext = np.where(rng.random(m) < 0.4, _concat("ЦБ-", _digits(crm_id, 6)), None)
    card = np.where(p.in_sheet[rec_person] & (rng.random(m) < 0.5), p.card[rec_person], None)
    birthday = np.where(rng.random(m) < 0.6, p.birthday[rec_person], None)
    email = np.where(pd.isna(email), "", email)  # the CRM keeps an empty string, not null
    # Consents added later get a random stream of their own, so the data drawn above stays as it was.
    crng = np.random.default_rng([cfg.seed, 152])
    sms_subscribed = crng.random(m) < 0.35
    sms_changed = created + crng.integers(0, 86400 * 30, m)
    # Since 1 Sep 2025 consent to use personal data for advertising is its own document (152-FZ
    # art. 9); shops keep its tick and date in a CRM custom field. A few people withdrew it.
    ads_given = crng.random(m) < 0.45
    ads_at = np.maximum(created, int(datetime(2025, 9, 1).timestamp())) + crng.integers(0, 86400 * 60, m)
    ads_at = np.minimum(ads_at, int(cfg.as_of.timestamp()) - 3600)
    ads_withdrawn = ads_given & (crng.random(m) < 0.05)
    customers = _frame({
        "id": crm_id,
        "externalId": ext,
        "site": "linzy-shop",
        "createdAt": _fmt_dt(created),
        "firstName": first,
        "lastName": last,
        "patronymic": patr,
        "sex": np.where(p.female[rec_person], "female", "male"),
        "birthday": birthday,
        "email": email,
        "phone1": phone1,
        "phone2": phone2,
        "subscribed": subscribed & ~unsub_crm,
        "emailMarketingUnsubscribedAt": np.where(unsub_crm, _fmt_dt(unsub_at), None),
        "subscriptionChangedAt": np.where(unsub_crm, _fmt_dt(unsub_at), _fmt_dt(created)),
        "loyaltyCard": card,
        "city": p.city[rec_person],
        "smsSubscribed": sms_subscribed,
        "smsSubscriptionChangedAt": _fmt_dt(sms_changed),
        "adsConsent": np.where(ads_given, ~ads_withdrawn, None),
        "adsConsentAt": np.where(ads_given, _fmt_dt(ads_at), None),
    })
    truth = pd.DataFrame({"source_system": "retailcrm", "source_record_id": crm_id.astype(str), "person_id": p.person_id[rec_person]})
    # Orders copy the customer's name and contacts as the CRM held them: pass the arrays, not the
    # frame (taking rows of the str-typed frame cost ~3 s at 1 M).
    orders, items = build_orders(cfg, rng, created, {
        "customer_id": crm_id, "firstName": first, "lastName": last, "phone": phone1,
        "email": email,
    })
    return customers, orders, items, truth


ORDER_STATUSES = pa.array(["complete", "cancel-other", "return", "delivering"])


def build_orders(cfg, rng, created: np.ndarray, customer: dict[str, np.ndarray]):
    """Orders of the CRM customers; `customer` holds per-customer arrays copied onto each order."""
    m = len(created)
    buyer_kind = rng.random(m)
    n_orders = np.where(buyer_kind < 0.22, 0, 1 + rng.poisson(np.where(buyer_kind > 0.85, 5.0, 1.2), m))
    cust_idx = np.repeat(np.arange(m), n_orders)
    k = len(cust_idx)
    end = int(cfg.as_of.timestamp()) - 600
    start = created[cust_idx]
    # Loyal buyers keep buying; the rest fade: draw from a skewed distribution over the span.
    u = rng.random(k) ** np.where(buyer_kind[cust_idx] > 0.85, 0.6, 1.4)
    ts = (start + u * np.maximum(end - start, 3600)).astype(np.int64)
    status_draw = rng.random(k)
    order_id = np.arange(50001, 50001 + k)
    n_items = 1 + rng.poisson(0.7, k)
    item_order = np.repeat(np.arange(k), n_items)
    prod = rng.integers(0, len(N.PRODUCTS), len(item_order))
    # Buyers of lenses come back for the same lenses: a sticky favourite per customer.
    fav = rng.integers(0, 8, m)
    sticky = rng.random(len(item_order)) < 0.6
    prod = np.where(sticky, fav[cust_idx[item_order]], prod)
    articles = pa.array([x[0] for x in N.PRODUCTS])
    pnames = pa.array([x[1] for x in N.PRODUCTS])
    prices = np.asarray([x[3] for x in N.PRODUCTS])
    qty = 1 + (rng.random(len(item_order)) < 0.3).astype(int)
    discount = np.where(rng.random(len(item_order)) < 0.2, (prices[prod] * 0.1).round(), 0)
    # Text columns are taken from Arrow dictionaries and per-customer Arrow arrays: no Python string
    # per row (building these tables from object arrays took ~5 s at 1 M people, now ~1 s).
    items = _table({
        "order_id": order_id[item_order],
        "item_id": np.arange(900001, 900001 + len(item_order)),
        "article": articles.take(prod),
        "productName": pnames.take(prod),
        "quantity": qty,
        "initialPrice": prices[prod].astype(float),
        "discountTotal": discount.astype(float),
    })
    summ = (prices[prod] - discount) * qty
    order_summ = np.bincount(item_order, weights=summ, minlength=k)
    delivery = np.where(order_summ >= 3000, 0.0, 290.0)
    per_customer = _table(customer).take(cust_idx)
    orders = _table({
        "id": order_id,
        "number": pc.binary_join_element_wise(_text(order_id), "C", ""),
        "customer_id": per_customer["customer_id"].combine_chunks(),
        "createdAt": _fmt_dt_arrow(ts),
        "statusUpdatedAt": _fmt_dt_arrow(ts + rng.integers(600, 86400 * 5, k)),
        "status": ORDER_STATUSES.take(np.searchsorted([0.82, 0.93, 0.97], status_draw, side="right")),
        "orderMethod": pa.array(["shopping-cart", "phone"]).take((rng.random(k) >= 0.7).astype(np.int8)),
        **{col: per_customer[col].combine_chunks() for col in ["firstName", "lastName", "phone", "email"]},
        "summ": order_summ,
        "deliveryCost": delivery,
        "totalSumm": order_summ + delivery,
    })
    return orders, items  # Arrow tables: written as they are, nothing downstream needs pandas


SHEET_COLUMNS = ["Номер карты", "ФИО", "Телефон", "E-mail", "Дата рождения", "Согласие на рассылку", "Дата согласия", "Магазин", "Дата регистрации"]


def build_sheet(cfg: Config, rng: np.random.Generator, p: Persons):
    """Loyalty-card members exported from the offline stores' 1C as a cp1251 `;` CSV."""
    idx = np.flatnonzero(p.in_sheet)
    m = len(idx)
    order_full = rng.random(m)
    fio = np.where(
        order_full < 0.6,
        p.surname[idx] + " " + p.given[idx] + " " + p.patronymic[idx],
        np.where(order_full < 0.85, p.given[idx] + " " + p.surname[idx], p.surname[idx] + " " + p.given[idx]),
    )
    upper = rng.random(m) < 0.2
    fio[upper] = _upper(fio[upper])
    yo = rng.random(m) < 0.3
    fio[yo] = _yo_to_e(fio[yo])
    phone = _format_phones(p.mobile[idx], rng.integers(0, 7, m))
    phone = np.where(rng.random(m) < 0.08, "", phone)
    # Some people gave a new number at the till; if they have no e-mail either, they cannot be linked.
    newnum = rng.random(m) < 0.01
    phone = np.where(newnum, _format_phones(p.mobile2[idx], rng.integers(0, 7, m)), phone)
    phone = np.where(rng.random(m) < 0.01, "нет", phone)
    email = _email_variants(rng, p.email[idx])
    email = np.where(rng.random(m) < 0.35, "", np.where(pd.isna(email), "", email))
    email = np.where(rng.random(m) < 0.003, ROLE_EMAIL, email)
    bday = _ru_date(_text(p.birthday[idx])).to_numpy(zero_copy_only=False)
    bday = np.where(rng.random(m) < 0.3, "", bday)
    consent = rng.random(m) < 0.55
    reg = rng.integers(int(datetime(2021, 1, 1).timestamp()), int(cfg.as_of.timestamp()) - 86400, m)
    reg_s = _fmt_dt_arrow(reg)
    sheet = _frame({
        "Номер карты": p.card[idx],
        "ФИО": fio,
        "Телефон": phone,
        "E-mail": email,
        "Дата рождения": bday,
        "Согласие на рассылку": np.where(consent, "да", "нет"),
        "Дата согласия": pc.if_else(consent, _ru_date(reg_s), ""),
        "Магазин": np.asarray(["ТЦ Европейский", "ТЦ Мега Тёплый Стан", "ул. Тверская, 12"], dtype=object)[rng.integers(0, 3, m)],
        "Дата регистрации": _ru_date(reg_s, with_time=True),
    })
    truth = pd.DataFrame({"source_system": "spreadsheets", "source_record_id": sheet["Номер карты"], "person_id": p.person_id[idx]})
    return sheet, truth


def _ru_date(iso: pa.Array, with_time: bool = False) -> pa.Array:
    """'YYYY-MM-DD[ HH:MM:SS]' -> 'DD.MM.YYYY[ HH:MM:SS]' by slicing (Arrow's strftime is slower
    than pandas'; slicing is ~10x faster than either)."""
    def part(start: int, stop: int) -> pa.Array:
        return pc.utf8_slice_codeunits(iso, start, stop)
    pieces = [part(8, 10), ".", part(5, 7), ".", part(0, 4)] + ([part(10, 19)] if with_time else [])
    return _cat(*pieces)


def write_sheet_csv(sheet: pd.DataFrame, path: Path, rng: np.random.Generator) -> int:
    """Write like 1C does (cp1251, `;`), then break a few lines the ways real exports break.

    Returns how many lines were broken, so tests know what the quarantine must hold.
    """
    # Lines joined in Arrow and encoded in runs between broken lines: a row-wise `agg(";".join)`
    # took 34 s at 1 M people, column-wise pandas plus per-line encoding ~2 s, this ~0.4 s.
    columns = [pc.cast(pa.array(sheet[col]), pa.string()) for col in SHEET_COLUMNS]
    body = pc.binary_join_element_wise(*columns, ";").to_pylist()
    n = len(body)
    broken = sorted(set(rng.choice(n, size=max(2, n // 500), replace=False).tolist())) if n > 10 else []
    pieces: list[bytes] = [";".join(SHEET_COLUMNS).encode("cp1251")]
    start = 0
    for k, i in enumerate(broken):
        if i > start:
            pieces.append("\r\n".join(body[start:i]).encode("cp1251"))
        data = body[i].encode("cp1251")
        kind = k % 3
        if kind == 0:
            data = data + b";\xc4\xee\xef"  # an extra field: someone typed ';' in the store name
        elif kind == 1:
            data = b";" + data.split(b";", 1)[1]  # the card number is missing
        else:
            data = data.replace(b";", b";\x98", 1)  # 0x98 is not a cp1251 character
        pieces.append(data)
        start = i + 1
    if start < n:
        pieces.append("\r\n".join(body[start:]).encode("cp1251"))
    path.write_bytes(b"\r\n".join(pieces) + b"\r\n")
    return len(broken)


def build_unisender(cfg: Config, rng: np.random.Generator, p: Persons, crm: pd.DataFrame):
    """The mailing list: signed up on the site, so mostly people the CRM also knows by e-mail."""
    crm_emails = pc.utf8_lower(pc.utf8_trim_whitespace(pa.array(crm["email"])))
    known = pc.is_in(pc.utf8_lower(_text(p.email)), value_set=crm_emails).fill_null(False).to_numpy(zero_copy_only=False)
    pick = (known & (rng.random(p.n) < 0.75)) | p.newsletter_only
    idx = np.flatnonzero(pick)
    m = len(idx)
    draw = rng.random(m)
    status = np.where(draw < 0.86, "active", np.where(draw < 0.96, "unsubscribed", "inactive"))
    add = rng.integers(int(datetime(2022, 1, 1).timestamp()), int(cfg.as_of.timestamp()) - 86400 * 3, m)
    contacts = _frame({
        "email": p.email[idx],  # everyone picked has an address
        "email_status": status,
        "email_add_time": _fmt_dt(add),
        "email_list_ids": np.where(status == "active", str(UNISENDER_LIST_ID), ""),
        "email_unsubscribed_list_ids": np.where(status == "unsubscribed", str(UNISENDER_LIST_ID), ""),
        "Name": p.given[idx],
    })
    truth = pd.DataFrame({"source_system": "unisender", "source_record_id": contacts["email"].str.lower(), "person_id": p.person_id[idx]})
    return contacts, truth


# The world the per-system builders read, set just before builder processes are forked (they
# inherit it instead of receiving a pickled copy of a few GB).
_WORLD: World | None = None


def _build_source(module: str) -> SourceData:
    return importlib.import_module(module).build(_WORLD)


def default_workers(customers: int) -> int:
    """Processes for the per-system builders: one per core (up to 4) from 100k people; below
    that a fork costs more than it saves."""
    return min(os.cpu_count() or 1, 4) if customers >= 100_000 else 1


def generate(cfg: Config, out: Path, workers: int | None = None) -> dict:
    """Write every system's demo data under `out`. Each builder draws from a random stream of its
    own, so the files are the same whatever `workers` is (a test holds this)."""
    global _WORLD
    started = time.perf_counter()
    workers = default_workers(cfg.customers) if workers is None else workers
    rng = np.random.default_rng(cfg.seed)
    p = Persons(cfg, rng)
    customers, orders, items, t_crm = build_crm(cfg, rng, p)
    sheet, t_sheet = build_sheet(cfg, rng, p)
    contacts, t_uni = build_unisender(cfg, rng, p, customers)
    world = World(cfg=cfg, persons=p, out=out, crm_customers=customers, crm_orders=orders, crm_items=items,
                  unisender_contacts=contacts,
                  # The person behind each CRM customer row (same order): 1C counterparties share CRM externalIds.
                  extra={"retailcrm_person_id": t_crm["person_id"].to_numpy()})
    pool = None
    if workers > 1:
        # Builders run in forked processes while this one writes the core files.
        _WORLD = world
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        futures = [pool.submit(_build_source, m) for m in SOURCE_MODULES]

    for d in ["retailcrm", "unisender", "inbox", "ground_truth"]:
        (out / d).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(customers, preserve_index=False), out / "retailcrm" / "customers.parquet")
    pq.write_table(orders, out / "retailcrm" / "orders.parquet")
    pq.write_table(items, out / "retailcrm" / "order_items.parquet")
    pq.write_table(pa.Table.from_pandas(contacts, preserve_index=False), out / "unisender" / "contacts.parquet")
    (out / "unisender" / "lists.json").write_text(
        json.dumps([{"id": UNISENDER_LIST_ID, "title": UNISENDER_LIST_TITLE}], ensure_ascii=False), encoding="utf-8")
    broken = write_sheet_csv(sheet, out / "inbox" / "loyalty_members.csv", rng)

    if pool is None:
        extra: list[SourceData] = [importlib.import_module(m).build(world) for m in SOURCE_MODULES]
    else:
        try:
            extra = [f.result() for f in futures]
        finally:
            pool.shutdown(cancel_futures=True)
            _WORLD = None

    identity = pd.concat([t_crm, t_sheet, t_uni, *(x.truth for x in extra)], ignore_index=True)
    identity.to_csv(out / "ground_truth" / "identity.csv", index=False)
    unsub = contacts.loc[contacts["email_status"] == "unsubscribed", "email"].str.lower()
    revoked = [pd.DataFrame({"email": unsub, "revoked_in": "unisender"})]
    revoked += [x.revoked_emails for x in extra if x.revoked_emails is not None]
    pd.concat(revoked, ignore_index=True).to_csv(out / "ground_truth" / "email_revoked.csv", index=False)
    meta = {
        "customers": cfg.customers,
        "seed": cfg.seed,
        "as_of": cfg.as_of.strftime("%Y-%m-%d %H:%M:%S"),
        "rows": {
            "retailcrm.customers": len(customers),
            "retailcrm.orders": len(orders),
            "retailcrm.order_items": len(items),
            "spreadsheets.loyalty_members": len(sheet),
            "unisender.contacts": len(contacts),
            **{k: v for x in extra for k, v in x.rows.items()},
        },
        "spreadsheet_broken_lines": broken,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "ground_truth" / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000, help="people to simulate (1,000 .. 1,000,000+)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path("data/demo"))
    ap.add_argument("--workers", type=int, default=None,
                    help="processes for the per-system builders (default: one per core from 100k people)")
    args = ap.parse_args(argv)
    meta = generate(Config(customers=args.customers, seed=args.seed), args.out, workers=args.workers)
    print(json.dumps(meta, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
