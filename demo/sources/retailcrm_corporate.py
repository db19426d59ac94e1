"""Corporate customers in RetailCRM: optician salons and clinics that buy lenses in bulk.

A corporate customer (`type: customer_corporate`) is a company account, not a person: it has
companies (legal entities with INN), addresses and contact persons, and each contact person is an
ordinary individual customer of the same CRM (`customerContacts[].customer.id`). So this builder
picks existing CRM customers as the contacts and creates no new people (no ground-truth rows).

Written as `retailcrm/customers_corporate.json` in the shape of the real API's created snapshot
(shared/fixtures/retailcrm/customers_corporate_history_page1.json): `nickName`, `companies`,
`mainCompany`, `customerContacts`, `mainCustomerContact`, `addresses`, `mainAddress`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from demo.generate import _fmt_dt
from demo.sources import SourceData, World

CORPORATE_SHARE = 0.012  # corporate accounts per individual CRM customer
SITE = "linzy-shop"
KINDS = [("ООО", "Оптика"), ("ООО", "Салон оптики"), ("ИП", "Оптика"), ("АО", "Клиника"), ("ООО", "Медцентр")]
BRANDS = ["Зоркий глаз", "Линза Плюс", "Окулюс", "Ясный взгляд", "Прозрение", "ОптикСити", "Визион", "Айкрафт-Сервис"]


def _draw_accounts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """The per-account draws, account by account in the order the stream has always been read.

    Small-range integers take 32 bits from a buffered 64-bit output while `random()` takes a whole
    one, so interleaved scalar draws cannot be regrouped into whole-array calls without changing
    the data; this loop makes only the draws (~5 us per account), everything else is vectorised.
    """
    kind, brand, external, manager, vip = (np.empty(n, dtype=np.int64) for _ in range(5))
    inn = np.empty(n, dtype=object)
    for k in range(n):
        kind[k] = rng.integers(0, len(KINDS))
        brand[k] = rng.integers(0, len(BRANDS))
        inn[k] = "".join(map(str, rng.integers(0, 10, 12 if KINDS[kind[k]][0] == "ИП" else 10)))
        external[k] = rng.random() < 0.5
        manager[k] = rng.integers(20, 30)
        vip[k] = rng.random() < 0.1
    return {"kind": kind, "brand": brand, "inn": inn, "external": external.astype(bool), "manager": manager,
            "vip": vip.astype(bool)}


def build(world: World) -> SourceData:
    rng = world.rng("retailcrm_corporate")
    customers = world.crm_customers
    n = max(3, int(round(len(customers) * CORPORATE_SHARE)))
    contacts_per = 1 + (rng.random(n) < 0.35).astype(int)
    contact_rows = rng.choice(len(customers), size=int(contacts_per.sum()), replace=False)
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    created = rng.integers(int(pd.Timestamp("2022-01-01").timestamp()), as_of - 2 * 86400, n)
    created_s = _fmt_dt(created)
    d = _draw_accounts(rng, n)

    # Contacts are consecutive picks: account k has contact_rows[first[k] : first[k] + contacts_per[k]].
    first = np.concatenate([[0], np.cumsum(contacts_per)[:-1]])
    last = first + contacts_per - 1
    picked = lambda col: customers[col].take(contact_rows).to_numpy(dtype=object)  # noqa: E731
    contact_ids = customers["id"].to_numpy()[contact_rows]
    contact_ext = picked("externalId")
    contact_ext = np.where(pd.notna(contact_ext), contact_ext, None)
    form = np.asarray([f for f, _ in KINDS], dtype=object)[d["kind"]]
    kind = np.asarray([k for _, k in KINDS], dtype=object)[d["kind"]]
    brand = np.asarray(BRANDS, dtype=object)[d["brand"]]
    nick = kind + " " + brand
    owner = picked("lastName")[first]
    owner = np.where(pd.notna(owner) & (owner != ""), owner, brand)  # an entrepreneur's company bears their surname
    name = np.where(form == "ИП", "ИП " + owner, form + " «" + nick + "»")
    address = "г. " + picked("city")[last]

    def contacts_of(k: int) -> list[dict]:
        out = []
        for j in range(contacts_per[k]):
            ref = {"id": int(contact_ids[first[k] + j])}
            if contact_ext[first[k] + j] is not None:
                ref["externalId"] = contact_ext[first[k] + j]
            out.append({"id": 9001 + 2 * k + j, "isMain": j == 0, "customer": ref})
        return out

    records = []
    for k in range(n):  # nesting the JSON: ~10 us per account
        cid, company_id, address_id = 5001 + k, 701 + k, 3501 + k
        contacts = contacts_of(k)
        company = {"id": company_id, "active": True, "name": name[k], "brand": nick[k], "createdAt": created_s[k],
                   "contragent": {"contragentType": "enterpreneur" if form[k] == "ИП" else "legal-entity",
                                  "legalName": name[k], "INN": d["inn"][k]},
                   "customFields": []}
        records.append({
            "type": "customer_corporate", "id": cid, "externalId": f"corp-{cid}" if d["external"][k] else None,
            "nickName": nick[k], "site": SITE, "createdAt": created_s[k], "managerId": int(d["manager"][k]),
            "vip": bool(d["vip"][k]), "bad": False, "tags": [], "customFields": [], "personalDiscount": 0,
            "companies": [company], "mainCompany": {"id": company_id, "name": name[k]},
            "customerContacts": contacts,
            "mainCustomerContact": {"id": contacts[0]["id"], "customer": {"id": contacts[0]["customer"]["id"]}},
            "addresses": [{"id": address_id, "text": address[k], "isMain": True}],
            "mainAddress": {"id": address_id, "name": address[k]},
        })
    out = world.dir("retailcrm")
    (out / "customers_corporate.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    truth = pd.DataFrame(columns=["source_system", "source_record_id", "person_id"])
    return SourceData(truth=truth, rows={"retailcrm.customers_corporate": n})
