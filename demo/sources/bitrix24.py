"""Bitrix24: the second sales office (wholesale to corporate opticians, plus some retail).

About 8% of people have a contact here: most are RetailCRM customers too (a shop owner who also
buys lenses for himself), some are known only here. The office types contacts the way Bitrix24
users do: the default phone type `WORK` for a mobile, the whole name in `NAME`, upper case,
`е` for `ё`, the employer's switchboard as one more phone, a corporate address beside (or instead
of) the private one. Records are written in the API's own shape (every scalar a string,
`Y`/`N` flags, ISO dates with the portal's `+03:00` offset, `PHONE`/`EMAIL` multi-fields) as
JSON lines; the emulator only filters, selects and pages them.

Files: `bitrix24/contacts.jsonl`, `bitrix24/deals.jsonl`. Ground truth: the contact `ID` as text.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import orjson
import pandas as pd
import pyarrow.compute as pc

from demo import names as N
from demo.generate import _concat, _email_variants, _fmt_dt, _fmt_dt_arrow, _format_phones, _name_variants
from demo.sources import SourceData, World

SYSTEM = "bitrix24"
PORTAL_OFFSET_HOURS = 3  # the portal's time zone (Moscow); every date carries +03:00
CLIENT_KIND_FIELD = "UF_CRM_1698765432"  # a custom list field the office added: wholesale or retail

# (company name, mail domain, switchboard: 10 national digits)
COMPANIES = [
    ("Оптика «Взгляд»", "optika-vzglyad.ru", "4951230101"),
    ("Салон «Линзы и очки»", "linzy-ochki.ru", "4959876500"),
    ("ИП Карпова (оптика)", "karpova-optic.ru", "8123334455"),
    ("Медицинская оптика «Зоркий»", "zorkiy-med.ru", "3432221100"),
    ("ООО «Оптик-Сити»", "optic-city.ru", "4957770707"),
    ("Сеть «Точка зрения»", "tochka-zreniya.ru", "8124445566"),
    ("Офтальмологический центр «Прозрение»", "prozrenie-clinic.ru", "8432101010"),
    ("Оптика на Садовой", "optika-sadovaya.ru", "8122223344"),
]
POSTS = ["Закупщик", "Директор", "Менеджер по закупкам", "Главный оптометрист", None]
SOURCES = ["CALL", "WEB", "EMAIL", "RECOMMENDATION", "TRADE_SHOW", "REPEAT_SALE"]
WHOLESALE_STAGES = ["NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE"]


def _portal_time(unix_seconds: np.ndarray) -> np.ndarray:
    """UTC seconds -> the portal's ISO text, e.g. `2024-08-15T10:38:21+03:00`."""
    local = _fmt_dt_arrow(np.asarray(unix_seconds, dtype=np.int64) + PORTAL_OFFSET_HOURS * 3600)  # Y-m-d H:M:S
    return _concat(pc.replace_substring(local, " ", "T", max_replacements=1), f"+{PORTAL_OFFSET_HOURS:02d}:00")


def _ids(rng: np.random.Generator, count: int, first: int) -> np.ndarray:
    """Increasing ids with gaps, as a portal where records were also deleted has them."""
    return first + np.cumsum(rng.integers(1, 4, count))


class _MultiFieldIds:
    """Multi-field entries (`PHONE[]`, `EMAIL[]`) have their own portal-wide id sequence."""

    def __init__(self, start: int) -> None:
        self.next_id = start

    def entry(self, value: str, value_type: str, type_id: str) -> dict[str, str]:
        self.next_id += 1
        return {"ID": str(self.next_id), "VALUE_TYPE": value_type, "VALUE": value, "TYPE_ID": type_id}


def build(world: World) -> SourceData:
    rng = world.rng(SYSTEM)
    p = world.persons
    as_of = int(world.cfg.as_of.timestamp())
    # Mostly RetailCRM customers, some known only here.
    pick = np.where(p.in_crm, rng.random(p.n) < 0.085, rng.random(p.n) < 0.07)
    idx = np.flatnonzero(pick)
    dup = idx[rng.random(len(idx)) < 0.03]  # a second contact card for the same person
    rec_person = np.concatenate([idx, dup])
    is_dup = np.concatenate([np.zeros(len(idx), bool), np.ones(len(dup), bool)])
    order = np.argsort(rng.random(len(rec_person)), kind="stable")
    rec_person, is_dup = rec_person[order], is_dup[order]
    m = len(rec_person)
    contact_id = _ids(rng, m, 10)
    wholesale = rng.random(m) < 0.6
    company = np.where(wholesale, rng.integers(0, len(COMPANIES), m), -1)

    created = rng.integers(int(datetime(2022, 3, 1).timestamp()), as_of - 86400 * 2, m)
    contacts = _contacts(rng, world, rec_person, is_dup, contact_id, wholesale, company, created, as_of)
    deals = _deals(rng, contacts, wholesale, created, as_of)

    out = world.dir(SYSTEM)
    _write_jsonl(out / "contacts.jsonl", contacts)
    _write_jsonl(out / "deals.jsonl", deals)
    truth = pd.DataFrame({"source_system": SYSTEM, "source_record_id": contact_id.astype(str),
                          "person_id": p.person_id[rec_person]})
    return SourceData(truth=truth, rows={"bitrix24.contacts": len(contacts), "bitrix24.deals": len(deals)})


def _contacts(rng, world: World, rec_person, is_dup, contact_id, wholesale, company, created, as_of) -> list[dict[str, Any]]:
    p = world.persons
    m = len(rec_person)
    first, last, patr = _name_variants(rng, p.given[rec_person], p.surname[rec_person], p.patronymic[rec_person])
    # Bitrix24-specific: the whole "Фамилия Имя Отчество" pasted into NAME from a business card.
    fio = rng.random(m) < 0.04
    first = np.where(fio, p.surname[rec_person] + " " + p.given[rec_person] + " " + p.patronymic[rec_person], first)
    last = np.where(fio, "", last)
    patr = np.where(fio, "", patr)

    phone_style = rng.integers(0, 7, m)
    mobile = _format_phones(p.mobile[rec_person], phone_style)
    typo = rng.random(m) < 0.005
    typo_digits = [d[:-1] + str((int(d[-1]) + 1) % 10) for d in p.mobile[rec_person][typo]]
    mobile[typo] = _format_phones(np.asarray(typo_digits, dtype=object), phone_style[typo])
    has_mobile = rng.random(m) < np.where(is_dup, 0.6, 0.93)
    mobile_type = np.asarray(["WORK", "MOBILE", "HOME"], dtype=object)[rng.choice(3, m, p=[0.5, 0.45, 0.05])]
    second = _format_phones(p.mobile2[rec_person], rng.integers(0, 7, m))
    has_second = rng.random(m) < 0.06
    switchboard_digits = np.asarray([c[2] for c in COMPANIES], dtype=object)
    switchboard = _format_phones(switchboard_digits[np.maximum(company, 0)], rng.integers(0, 7, m))
    has_switchboard = wholesale & (rng.random(m) < 0.3)

    private = _email_variants(rng, p.email[rec_person])
    has_private = np.asarray([e is not None for e in private]) & (rng.random(m) < np.where(is_dup, 0.5, 0.8))
    private_type = np.where(rng.random(m) < 0.6, "WORK", "HOME")
    corporate = _corporate_emails(p, rec_person, company)
    has_corporate = wholesale & (rng.random(m) < 0.4)

    touched = rng.random(m) < 0.7
    # Edited some time after creation, recent edits rarer than early ones; never after as_of.
    modified = created + np.where(touched, rng.random(m) ** 2 * (as_of - 3600 - created), 0).astype(np.int64)
    birth = np.where(rng.random(m) < 0.35, p.birthday[rec_person], None)
    kind = np.where(wholesale, "Опт", "Розница")
    post = np.asarray(POSTS, dtype=object)[rng.integers(0, len(POSTS), m)]
    source = np.asarray(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), m)]
    assigned = rng.choice(["1", "6", "9", "14"], m)
    export = np.where(rng.random(m) < 0.9, "Y", "N")
    city = np.where(rng.random(m) < 0.3, p.city[rec_person], None)

    ids = _MultiFieldIds(200)
    created_s, modified_s = _portal_time(created), _portal_time(modified)
    rows = []
    for i in range(m):
        phones = []
        if has_mobile[i]:
            phones.append(ids.entry(mobile[i], mobile_type[i], "PHONE"))
        if has_second[i]:
            phones.append(ids.entry(second[i], "HOME", "PHONE"))
        if has_switchboard[i]:
            phones.append(ids.entry(switchboard[i], "WORK", "PHONE"))
        emails = []
        if has_private[i]:
            emails.append(ids.entry(private[i], private_type[i], "EMAIL"))
        if has_corporate[i]:
            emails.append(ids.entry(corporate[i], "WORK", "EMAIL"))
        row: dict[str, Any] = {
            "ID": str(contact_id[i]),
            "POST": post[i] if wholesale[i] else None,
            "COMMENTS": None,
            "HONORIFIC": None,
            "NAME": first[i] or None,
            "SECOND_NAME": patr[i] or None,
            "LAST_NAME": last[i] or None,
            "PHOTO": None,
            "LEAD_ID": None,
            "TYPE_ID": "PARTNER" if wholesale[i] else "CLIENT",
            "SOURCE_ID": source[i],
            "SOURCE_DESCRIPTION": None,
            "COMPANY_ID": str(company[i] + 1) if wholesale[i] else None,
            "BIRTHDATE": f"{birth[i]}T00:00:00+03:00" if birth[i] else "",
            "EXPORT": export[i],
            "HAS_PHONE": "Y" if phones else "N",
            "HAS_EMAIL": "Y" if emails else "N",
            "HAS_IMOL": "N",
            "DATE_CREATE": created_s[i],
            "DATE_MODIFY": modified_s[i],
            "ASSIGNED_BY_ID": assigned[i],
            "CREATED_BY_ID": assigned[i],
            "MODIFY_BY_ID": assigned[i],
            "OPENED": "Y",
            "ORIGINATOR_ID": None,
            "ORIGIN_ID": None,
            "ORIGIN_VERSION": None,
            "FACE_ID": None,
            "LAST_ACTIVITY_TIME": modified_s[i],
            "ADDRESS": None,
            "ADDRESS_CITY": city[i],
            "UTM_SOURCE": None,
            "UTM_MEDIUM": None,
            "UTM_CAMPAIGN": None,
            "UTM_CONTENT": None,
            "UTM_TERM": None,
            "LAST_ACTIVITY_BY": assigned[i],
            CLIENT_KIND_FIELD: kind[i],
        }
        # The API leaves an empty multi-field out of the record rather than sending [].
        if phones:
            row["PHONE"] = phones
        if emails:
            row["EMAIL"] = emails
        rows.append(row)
    return rows


_translit = functools.lru_cache(maxsize=None)(N.translit)  # names come from small dictionaries


def _corporate_emails(p, rec_person, company) -> np.ndarray:
    """`a.ivanov@optika-vzglyad.ru`: personal, but no other system knows it. Two people of one
    company with the same initial and surname get a digit, as mail admins do."""
    out = np.empty(len(rec_person), dtype=object)
    taken: dict[str, int] = {}
    for i, (person, comp) in enumerate(zip(rec_person, company)):
        domain = COMPANIES[max(comp, 0)][1]
        local = f"{_translit(p.given[person])[:1]}.{_translit(p.surname[person])}"
        address = f"{local}@{domain}"
        owner = taken.setdefault(address, int(person))
        out[i] = address if owner == person else f"{local}{int(person) % 97}@{domain}"
    return out


def _deals(rng, contacts: list[dict[str, Any]], wholesale, contact_created, as_of) -> list[dict[str, Any]]:
    """Wholesale deals in the default pipeline (category 0), retail ones in pipeline 1 (`C1:` stages)."""
    m = len(contacts)
    n_deals = np.where(wholesale, rng.poisson(3.0, m), rng.poisson(0.9, m))
    owner = np.repeat(np.arange(m), n_deals)
    k = len(owner)
    deal_id = _ids(rng, k, 100)
    start = contact_created[owner]
    created = (start + rng.random(k) * np.maximum(as_of - 86400 - start, 3600)).astype(np.int64)
    is_wholesale = wholesale[owner]
    draw = rng.random(k)
    outcome = np.where(draw < 0.66, "WON", np.where(draw < 0.84, "LOSE", np.where(draw < 0.87, "APOLOGY", "OPEN")))
    open_stage = np.asarray(WHOLESALE_STAGES, dtype=object)[rng.integers(0, len(WHOLESALE_STAGES), k)]
    stage = np.where(outcome == "OPEN", open_stage, outcome)
    stage = np.where(is_wholesale, stage, "C1:" + stage.astype(str))
    semantic = np.where(outcome == "WON", "S", np.where(outcome == "OPEN", "P", "F"))
    closed = outcome != "OPEN"
    close_at = np.minimum(created + rng.integers(3600, 86400 * 30, k), as_of - 600)
    planned = created + 86400 * 14
    modified = np.where(closed, close_at, np.minimum(created + rng.integers(0, 86400 * 10, k), as_of - 600))
    amount = np.where(is_wholesale, rng.lognormal(10.4, 0.8, k), rng.lognormal(8.4, 0.5, k))
    amount = np.clip(np.round(amount, -1), 900, 900_000)
    no_contact = rng.random(k) < 0.02  # a deal booked on the company only
    created_s, modified_s = _portal_time(created), _portal_time(modified)
    close_s = _portal_time(np.where(closed, close_at, planned))
    begin_s = _fmt_dt(created + PORTAL_OFFSET_HOURS * 3600, f"%Y-%m-%dT00:00:00+{PORTAL_OFFSET_HOURS:02d}:00")
    rows = []
    for j in range(k):
        c = contacts[owner[j]]
        rows.append({
            "ID": str(deal_id[j]),
            "TITLE": f"Поставка линз №{deal_id[j]}" if is_wholesale[j] else f"Розничная продажа №{deal_id[j]}",
            "TYPE_ID": "SALE" if is_wholesale[j] else "GOODS",
            "CATEGORY_ID": "0" if is_wholesale[j] else "1",
            "STAGE_ID": stage[j],
            "STAGE_SEMANTIC_ID": semantic[j],
            "IS_NEW": "N",
            "IS_RECURRING": "N",
            "IS_RETURN_CUSTOMER": "N",
            "PROBABILITY": None,
            "CURRENCY_ID": "RUB",
            "OPPORTUNITY": f"{amount[j]:.2f}",
            "IS_MANUAL_OPPORTUNITY": "N",
            "TAX_VALUE": "0.00",
            "COMPANY_ID": c["COMPANY_ID"] or "0",
            "CONTACT_ID": None if no_contact[j] else c["ID"],
            "QUOTE_ID": None,
            "BEGINDATE": begin_s[j],
            "CLOSEDATE": close_s[j],
            "OPENED": "Y",
            "CLOSED": "Y" if closed[j] else "N",
            "COMMENTS": None,
            "ASSIGNED_BY_ID": c["ASSIGNED_BY_ID"],
            "CREATED_BY_ID": c["ASSIGNED_BY_ID"],
            "MODIFY_BY_ID": c["ASSIGNED_BY_ID"],
            "DATE_CREATE": created_s[j],
            "DATE_MODIFY": modified_s[j],
            "SOURCE_ID": c["SOURCE_ID"],
            "SOURCE_DESCRIPTION": None,
            "LEAD_ID": None,
            "ADDITIONAL_INFO": None,
            "LOCATION_ID": None,
            "ORIGINATOR_ID": None,
            "ORIGIN_ID": None,
            "UTM_SOURCE": None,
            "UTM_MEDIUM": None,
            "UTM_CAMPAIGN": None,
            "UTM_CONTENT": None,
            "UTM_TERM": None,
        })
    return rows


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """orjson: ~5x faster than `json.dumps` per row (UTF-8 out, like `ensure_ascii=False`)."""
    with path.open("wb") as fh:
        fh.writelines(orjson.dumps(row) + b"\n" for row in rows)
