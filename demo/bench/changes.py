"""About 1 % of person records changed between two runs, the way the connectors' cursors see it.

Choice: edit through each emulator's own write or touch endpoint, not by rewriting the generated
files and restarting, so the change lands where a real change would (RetailCRM's history journal,
amoCRM's `updated_at`, Bitrix24's `DATE_MODIFY`) and the emulators keep their state. RetailCRM
customers get their surname upper-cased through `/customers/{id}/edit` (one request each, as a
manager's edits arrive); amoCRM and Bitrix24 contacts are touched (edited now, same values). The
other systems (1C, the e-mail platforms, the file inboxes) have no edit endpoint and are left as
they were; the three CRMs take the whole ~1 % of all person records between them, in proportion.
Which records: each system's first ids by a hash, so reruns pick the same ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import requests

from demo.stack import DEMO_KEY, EMULATED_SYSTEMS


def _base_url(env: dict[str, str], system: str) -> str:
    return env[EMULATED_SYSTEMS[system].settings["base_url"].env].rstrip("/")


def _pick(con: duckdb.DuckDBPyConnection, table: str, share: float, columns: str = "id") -> list[tuple]:
    exists = con.execute("select count(*) from duckdb_tables() where schema_name || '.' || table_name = ?", [table]).fetchall()[0][0]
    if not exists:
        return []
    n = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return con.execute(f"select {columns} from {table} order by hash(id) limit {max(1, round(n * share))}").fetchall()


def change_records(env: dict[str, str], warehouse: Path, share: float = 0.01) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        records = con.execute("select count(*) from intermediate.int_source_records_unioned").fetchall()[0][0]
        editable = con.execute("""select count(*) from intermediate.int_source_records_unioned
                                  where source_system in ('retailcrm', 'amocrm', 'bitrix24')""").fetchall()[0][0]
        # `share` of all person records, taken from the systems that can be edited
        share = min(1.0, share * records / editable) if editable else share
        retail = _pick(con, "raw_retailcrm.customers", share, "id, last_name")
        amo = _pick(con, "raw_amocrm.contacts", share)
        bitrix = _pick(con, "raw_bitrix24.contacts", share)
    session = requests.Session()
    changed = {}
    if retail:
        url = _base_url(env, "retailcrm")
        for cid, surname in retail:
            answer = session.post(f"{url}/api/v5/customers/{cid}/edit", params={"by": "id"},
                                  headers={"X-API-KEY": DEMO_KEY},
                                  data={"customer": json.dumps({"lastName": (surname or "Иванов").upper()})}, timeout=30)
            answer.raise_for_status()
        changed["retailcrm.customers"] = len(retail)
    if amo:
        session.post(f"{_base_url(env, 'amocrm')}/_emulator/touch", json={"contacts": [int(i) for (i,) in amo]},
                     timeout=60).raise_for_status()
        changed["amocrm.contacts"] = len(amo)
    if bitrix:
        session.post(f"{_base_url(env, 'bitrix24')}/_emulator/touch",
                     json={"entity": "contacts", "ids": [str(i) for (i,) in bitrix]}, timeout=60).raise_for_status()
        changed["bitrix24.contacts"] = len(bitrix)
    total = sum(changed.values())
    return {"changed": changed, "records": total, "of_person_records": records,
            "share": round(total / records, 4) if records else None}
