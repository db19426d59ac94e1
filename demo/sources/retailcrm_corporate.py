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

from demo.sources import SourceData, World

CORPORATE_SHARE = 0.012  # corporate accounts per individual CRM customer
SITE = "linzy-shop"
KINDS = [("ООО", "Оптика"), ("ООО", "Салон оптики"), ("ИП", "Оптика"), ("АО", "Клиника"), ("ООО", "Медцентр")]
BRANDS = ["Зоркий глаз", "Линза Плюс", "Окулюс", "Ясный взгляд", "Прозрение", "ОптикСити", "Визион", "Айкрафт-Сервис"]


def build(world: World) -> SourceData:
    rng = world.rng("retailcrm_corporate")
    customers = world.crm_customers
    n = max(3, int(round(len(customers) * CORPORATE_SHARE)))
    contacts_per = 1 + (rng.random(n) < 0.35).astype(int)
    contact_rows = rng.choice(len(customers), size=int(contacts_per.sum()), replace=False)
    as_of = int(pd.Timestamp(world.cfg.as_of).timestamp())
    created = rng.integers(int(pd.Timestamp("2022-01-01").timestamp()), as_of - 2 * 86400, n)
    created_s = pd.to_datetime(created, unit="s").strftime("%Y-%m-%d %H:%M:%S")

    records, pos = [], 0
    for k in range(n):
        cid, company_id, address_id = 5001 + k, 701 + k, 3501 + k
        form, kind = KINDS[rng.integers(0, len(KINDS))]
        brand = BRANDS[rng.integers(0, len(BRANDS))]
        name = f"{form} «{kind} {brand}»" if form != "ИП" else f"ИП {customers.iloc[contact_rows[pos]]['lastName'] or brand}"
        inn = "".join(str(d) for d in rng.integers(0, 10, 12 if form == "ИП" else 10))
        contacts = []
        for j in range(contacts_per[k]):
            person = customers.iloc[contact_rows[pos]]
            pos += 1
            ref = {"id": int(person["id"])}
            if isinstance(person["externalId"], str):
                ref["externalId"] = person["externalId"]
            contacts.append({"id": 9001 + len(records) * 2 + j, "isMain": j == 0, "customer": ref})
        company = {"id": company_id, "active": True, "name": name, "brand": f"{kind} {brand}",
                   "createdAt": created_s[k], "contragent": {"contragentType": "enterpreneur" if form == "ИП" else "legal-entity", "legalName": name, "INN": inn},
                   "customFields": []}
        address = {"id": address_id, "text": f"г. {customers.iloc[contact_rows[pos - 1]]['city']}", "isMain": True}
        records.append({
            "type": "customer_corporate", "id": cid, "externalId": f"corp-{cid}" if rng.random() < 0.5 else None,
            "nickName": f"{kind} {brand}", "site": SITE, "createdAt": created_s[k], "managerId": int(rng.integers(20, 30)),
            "vip": bool(rng.random() < 0.1), "bad": False, "tags": [], "customFields": [], "personalDiscount": 0,
            "companies": [company], "mainCompany": {"id": company_id, "name": name},
            "customerContacts": contacts,
            "mainCustomerContact": {"id": contacts[0]["id"], "customer": {"id": contacts[0]["customer"]["id"]}},
            "addresses": [address], "mainAddress": {"id": address_id, "name": address["text"]},
        })
    out = world.dir("retailcrm")
    (out / "customers_corporate.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    truth = pd.DataFrame(columns=["source_system", "source_record_id", "person_id"])
    return SourceData(truth=truth, rows={"retailcrm.customers_corporate": n})

