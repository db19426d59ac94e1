"""amoCRM demo data: the phone-order sales team's CRM.

About one person in ten has an amoCRM contact: mostly people the shop's RetailCRM also knows (the
team calls back web customers), some only here (phone orders from people who never registered).
Contacts look the way sales managers leave them: `name` as typed ("Фамилия Имя", just "Имя",
upper case, `ё`/`е`), the structured `first_name`/`last_name` filled only when someone used the
form, phones in the PHONE multitext field spelled any way (1-2 values, `WORK`/`MOB`), an e-mail
only sometimes. A few people got two contacts (a second call taken by another manager). Leads
(deals) point at contacts through `_embedded.contacts` with `is_main`; status 142 is won and 143
lost, as in every amoCRM pipeline.

Files (what `emulators.amocrm` serves), one JSON object per line, already in the API's shape
minus the `_links` the emulator adds:
  amocrm/contacts.jsonl   amocrm/leads.jsonl
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from demo import names as N
from demo.generate import SWITCHBOARD_PHONE, _email_variants, _format_phones
from demo.sources import SourceData, World

SYSTEM = "amocrm"
ACCOUNT_ID = 31_337_001
PIPELINE_ID = 7_654_321
# The pipeline's own stages (ids are per account); 142/143 are amoCRM's fixed won/lost ids.
OPEN_STATUSES = (61_000_101, 61_000_102, 61_000_103)
WON, LOST = 142, 143
MANAGERS = (8_100_001, 8_100_002, 8_100_003, 8_100_004)
PHONE_FIELD = {"field_id": 1_698_052, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext"}
EMAIL_FIELD = {"field_id": 1_698_054, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext"}
ENUM_IDS = {"WORK": 1_037_745, "MOB": 1_037_747, "HOME": 1_037_749, "PRIV": 1_037_751}


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


def _yo_to_e(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, np.char.replace(values.astype(str), "ё", "е").astype(object), values)


def _names(rng: np.random.Generator, given, surname, patronymic):
    """`name`, `first_name`, `last_name` as managers leave them."""
    n = len(given)
    style = rng.random(n)
    form = style < 0.2  # filled through the form: first/last set, name composed "Имя Фамилия"
    name = np.where(
        style < 0.2, given + " " + surname,
        np.where(style < 0.62, surname + " " + given,
                 np.where(style < 0.85, given, surname + " " + given + " " + patronymic)))
    yo = rng.random(n) < 0.3
    name = _yo_to_e(name, yo)
    upper = rng.random(n) < 0.05
    name = np.where(upper, np.char.upper(name.astype(str)).astype(object), name)
    first = np.where(form, _yo_to_e(given, yo), "")
    last = np.where(form, _yo_to_e(surname, yo), "")
    return name, first, last


def _pick_people(rng: np.random.Generator, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Person index per contact and whether the contact is a person's second one."""
    p = world.persons
    share = np.where(p.in_crm, 0.11, 0.07)
    idx = np.flatnonzero(rng.random(p.n) < share)
    dup = idx[rng.random(len(idx)) < 0.03]
    people = np.concatenate([idx, dup])
    is_dup = np.concatenate([np.zeros(len(idx), bool), np.ones(len(dup), bool)])
    order = np.argsort(rng.random(len(people)), kind="stable")
    return people[order], is_dup[order]


def _phone_values(rng, p, people, is_dup):
    m = len(people)
    first = _format_phones(p.mobile[people], rng.integers(0, 7, m))
    typo = rng.random(m) < 0.005  # one digit wrong: will not link by phone
    for i in np.flatnonzero(typo):
        d = p.mobile[people[i]]
        first[i] = _format_phones(np.asarray([d[:-1] + str((int(d[-1]) + 3) % 10)], dtype=object), np.asarray([i]))[0]
    switchboard = rng.random(m) < 0.006  # the manager typed the shop's own number
    first = np.where(switchboard, SWITCHBOARD_PHONE, first)
    second = np.where(rng.random(m) < 0.12, _format_phones(p.mobile2[people], rng.integers(0, 7, m)), None)
    none = rng.random(m) < np.where(is_dup, 0.2, 0.03)
    labels = np.where(rng.random(m) < 0.7, "MOB", "WORK")
    out = []
    for i in range(m):
        if none[i]:
            out.append([])
            continue
        vals = [{"value": first[i], "enum_id": ENUM_IDS[labels[i]], "enum_code": labels[i]}]
        if second[i] is not None:
            vals.append({"value": second[i], "enum_id": ENUM_IDS["WORK"], "enum_code": "WORK"})
        out.append(vals)
    return out


def _contacts(rng: np.random.Generator, world: World, people: np.ndarray, is_dup: np.ndarray) -> list[dict]:
    p, cfg = world.persons, world.cfg
    m = len(people)
    ids = 21_000_000 + np.cumsum(rng.integers(1, 40, m))
    name, first, last = _names(rng, p.given[people], p.surname[people], p.patronymic[people])
    phones = _phone_values(rng, p, people, is_dup)
    has_email = np.asarray([e is not None for e in p.email[people]]) & (rng.random(m) < 0.45)
    emails = _email_variants(rng, np.where(has_email, p.email[people], None))
    created = rng.integers(_ts(datetime(2023, 1, 1)), _ts(cfg.as_of) - 86400 * 3, m)
    updated = np.minimum(created + rng.integers(0, 86400 * 240, m) * (rng.random(m) < 0.7), _ts(cfg.as_of) - 3600)
    responsible = np.asarray(MANAGERS)[rng.integers(0, len(MANAGERS), m)]
    contacts = []
    for i in range(m):
        fields = []
        if phones[i]:
            fields.append({**PHONE_FIELD, "values": phones[i]})
        if emails[i] is not None:
            fields.append({**EMAIL_FIELD, "values": [{"value": emails[i], "enum_id": ENUM_IDS["WORK"], "enum_code": "WORK"}]})
        contacts.append({
            "id": int(ids[i]), "name": name[i], "first_name": first[i], "last_name": last[i],
            "responsible_user_id": int(responsible[i]), "group_id": 0,
            "created_by": int(responsible[i]), "updated_by": int(responsible[i]),
            "created_at": int(created[i]), "updated_at": int(updated[i]), "closest_task_at": None,
            "custom_fields_values": fields or None,  # amoCRM sends null, not [], when nothing is set
            "account_id": ACCOUNT_ID,
            "_embedded": {"tags": [], "companies": []},
        })
    return contacts


def _lead_price(rng: np.random.Generator, k: int) -> np.ndarray:
    prices = np.asarray([x[3] for x in N.PRODUCTS])
    items = 1 + rng.poisson(0.6, k)
    # One draw for all items: NumPy's stream is the same as one draw per lead, ~50x faster.
    item_price = prices[rng.integers(0, len(prices), int(items.sum()))]
    total = np.add.reduceat(item_price, np.cumsum(items) - items) if k else np.zeros(0, dtype=item_price.dtype)
    return np.where(rng.random(k) < 0.04, 0, total)  # a deal nobody priced


def _leads(rng: np.random.Generator, world: World, contacts: list[dict], people: np.ndarray) -> list[dict]:
    as_of = _ts(world.cfg.as_of)
    m = len(contacts)
    n_leads = rng.choice([0, 1, 1, 1, 2, 2, 3], m)
    owner = np.repeat(np.arange(m), n_leads)
    k = len(owner)
    ids = 32_000_000 + np.cumsum(rng.integers(1, 25, k))
    c_created = np.asarray([c["created_at"] for c in contacts])
    created = c_created[owner] + (rng.random(k) * np.maximum(as_of - 86400 - c_created[owner], 3600)).astype(np.int64)
    draw = rng.random(k)
    status = np.where(draw < 0.55, WON, np.where(draw < 0.78, LOST, np.asarray(OPEN_STATUSES)[rng.integers(0, 3, k)]))
    closed = np.minimum(created + rng.integers(600, 86400 * 10, k), as_of - 600)
    updated = np.where(status < 1000, closed, np.minimum(created + rng.integers(0, 86400 * 5, k), as_of - 600))
    price = _lead_price(rng, k)
    # A person with two contacts: a deal may carry both, the first as the main one. Half of the
    # deals whose person has another contact link it too (one draw per such deal, in deal order).
    other = _other_contact(people)[owner]
    link_other = np.zeros(k, dtype=bool)
    has_other = other >= 0
    link_other[has_other] = rng.random(int(has_other.sum())) < 0.5
    leads = []
    for j in range(k):
        own = int(owner[j])
        linked = [{"id": contacts[own]["id"], "is_main": True}]
        if link_other[j]:
            linked.append({"id": contacts[other[j]]["id"], "is_main": False})
        st = int(status[j])
        leads.append({
            "id": int(ids[j]), "name": f"Заказ по телефону №{int(ids[j]) % 100000}", "price": int(price[j]),
            "responsible_user_id": contacts[own]["responsible_user_id"], "group_id": 0,
            "status_id": st, "pipeline_id": PIPELINE_ID, "loss_reason_id": None,
            "created_by": contacts[own]["responsible_user_id"], "updated_by": contacts[own]["responsible_user_id"],
            "created_at": int(created[j]), "updated_at": int(updated[j]),
            "closed_at": int(closed[j]) if st in (WON, LOST) else None,
            "closest_task_at": None, "is_deleted": False, "custom_fields_values": None, "score": None,
            "account_id": ACCOUNT_ID, "labor_cost": None,
            "_embedded": {"tags": [], "companies": [], "contacts": linked},
        })
    return leads


def _other_contact(people: np.ndarray) -> np.ndarray:
    """Per contact, the first other contact of the same person (by position), or -1."""
    positions = pd.DataFrame({"person": people, "pos": np.arange(len(people))})
    first_two = positions.groupby("person")["pos"].agg(first="min", count="size")
    second = positions[~positions["pos"].isin(first_two["first"])].groupby("person")["pos"].min()
    first = first_two["first"].reindex(people).to_numpy()
    second = second.reindex(people).fillna(-1).astype(np.int64).to_numpy()
    return np.where(first == np.arange(len(people)), second, first)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    """orjson: ~5x faster than `json.dumps` per row (UTF-8 out, like `ensure_ascii=False`)."""
    with path.open("wb") as fh:
        fh.writelines(orjson.dumps(row) + b"\n" for row in rows)


def build(world: World) -> SourceData:
    rng = world.rng(SYSTEM)
    people, is_dup = _pick_people(rng, world)
    contacts = _contacts(rng, world, people, is_dup)
    leads = _leads(rng, world, contacts, people)
    out = world.dir(SYSTEM)
    _write_jsonl(out / "contacts.jsonl", contacts)
    _write_jsonl(out / "leads.jsonl", leads)
    truth = pd.DataFrame({
        "source_system": SYSTEM,
        "source_record_id": [str(c["id"]) for c in contacts],
        "person_id": world.persons.person_id[people],
    })
    return SourceData(truth=truth, rows={"amocrm.contacts": len(contacts), "amocrm.leads": len(leads)})
