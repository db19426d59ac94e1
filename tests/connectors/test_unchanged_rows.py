"""Whole-list reads load only the rows that moved: Unisender's contact export and clicks, and Sendsay's
member list, against their emulators over real HTTP (the look-back windows of amoCRM, Bitrix24 and
RetailCRM's carts are tested with their connectors). After each run the raw table must equal a fresh full
load of the same account, whatever was skipped, and a row that did not change keeps the load that
wrote it (Unisender's opt-outs are dated by it)."""

from __future__ import annotations

import dlt
import duckdb
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

import connectors.sendsay as sendsay_connector
import connectors.unisender as unisender_connector
from connectors.common.unchanged import digest
from connectors.sendsay import sendsay_source
from connectors.unisender import unisender_source
from emulators.sendsay import SendsayEmulator
from emulators.unisender import UnisenderEmulator

LOGIN = "shop"


def test_a_row_digest_does_not_depend_on_key_order_and_does_on_every_value():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1, "b": [1, 2]}) != digest({"a": 1, "b": [2, 1]})
    assert digest({"a": None}) != digest({}), "a value that became empty is a change"
    assert len(digest({"a": 1})) == 32, "128 bits"


def _pipeline(tmp_path, name: str, dataset: str):
    return dlt.pipeline(f"{name}_test", destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                        dataset_name=dataset, pipelines_dir=str(tmp_path / f"{name}_p"))


def _rows(tmp_path, name: str, table: str) -> list[dict]:
    """Every row with every column but dlt's own (so the row digests too), in a stable order."""
    with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
            "and not starts_with(column_name, '_dlt') order by column_name", [table]).fetchall()]
        rows = con.execute(f"select {', '.join(columns)} from {table}").fetchall()
    return sorted((dict(zip(columns, row)) for row in rows), key=repr)


def _loads(tmp_path, name: str, schema: str) -> list[str]:
    with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
        return [r for (r,) in con.execute(f"select load_id from {schema}._dlt_loads order by load_id").fetchall()]


def _last_load(tmp_path, name: str, table: str) -> int:
    last = _loads(tmp_path, name, table.split(".")[0])[-1]
    with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
        return con.execute(f"select count(*) from {table} where _dlt_load_id = ?", [last]).fetchone()[0]


def _load_of(tmp_path, name: str, table: str, where: str, value) -> str:
    with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
        return con.execute(f"select _dlt_load_id from {table} where {where} = ?", [value]).fetchone()[0]


@pytest.fixture()
def uni(demo_data, monkeypatch):
    monkeypatch.setattr(unisender_connector, "CONTACTS_CHUNK", 50)
    emulator = UnisenderEmulator(demo_data)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def test_unisender_contacts_load_again_only_the_contact_that_changed(uni, tmp_path):
    emulator, url = uni
    run = lambda **kw: _pipeline(tmp_path, "daily", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key", **kw))  # noqa: E731
    run()
    first = _loads(tmp_path, "daily", "raw_unisender")[-1]
    contacts = _rows(tmp_path, "daily", "raw_unisender.contacts")
    assert len(contacts) > 150, "enough contacts for several Arrow tables"
    opted_out = next(r["email"] for r in contacts if r["email_status"] == "unsubscribed")

    run()
    assert _last_load(tmp_path, "daily", "raw_unisender.contacts") == 0, "an unchanged export loads no contact"

    address = contacts[len(contacts) // 2]["email"]
    assert "@" in address and address != opted_out
    requests.post(f"{url}/_emulator/contacts/{address}/unsubscribe", timeout=10).raise_for_status()
    run()
    assert _last_load(tmp_path, "daily", "raw_unisender.contacts") == 1, "the changed contact, not its neighbours"
    assert _load_of(tmp_path, "daily", "raw_unisender.contacts", "email", opted_out) == first, \
        "an opt-out that did not change keeps the load that saw it first (staging dates it by that load)"

    _pipeline(tmp_path, "fresh", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key"))
    daily = _rows(tmp_path, "daily", "raw_unisender.contacts")
    assert daily == _rows(tmp_path, "fresh", "raw_unisender.contacts"), "the same table as a full load"
    assert any(r["email"] == address and r["email_status"] == "unsubscribed" for r in daily)


def test_unisender_a_failed_run_keeps_the_change_for_the_next(uni, tmp_path):
    emulator, url = uni
    pipeline = _pipeline(tmp_path, "daily", "raw_unisender")
    pipeline.run(unisender_source(base_url=url, api_key="demo-key"))
    address = _rows(tmp_path, "daily", "raw_unisender.contacts")[3]["email"]
    requests.post(f"{url}/_emulator/contacts/{address}/unsubscribe", timeout=10).raise_for_status()
    emulator.journal.clear()
    emulator.faults.fail_request_number = 8  # after the export was read, before the run could load
    with pytest.raises(PipelineStepFailed):
        pipeline.run(unisender_source(base_url=url, api_key="demo-key", http_attempts=1))
    assert any("exportContacts" in j["path"] for j in emulator.journal[:7]), "the failed run had read the export"
    emulator.faults.fail_request_number = 0
    pipeline.run(unisender_source(base_url=url, api_key="demo-key"))
    _pipeline(tmp_path, "fresh", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key"))
    assert _rows(tmp_path, "daily", "raw_unisender.contacts") == _rows(tmp_path, "fresh", "raw_unisender.contacts")


def test_unisender_clicks_read_again_load_only_what_the_table_lacks(uni, tmp_path):
    """Every campaign not yet final is read again whole; a click already loaded is not loaded again.
    A click missing from the table (here deleted by hand; in life a new one) loads, on its compound
    key (campaign, address, link)."""
    emulator, url = uni
    for campaign in emulator.campaigns:  # still sending: its clicks are read again on every run
        campaign["status"] = "in_progress"
    run = lambda: _pipeline(tmp_path, "daily", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key"))  # noqa: E731
    run()
    clicks = _rows(tmp_path, "daily", "raw_unisender.visited_links")
    assert len(clicks) > 10
    emulator.journal.clear()
    run()
    assert any("getVisitedLinks" in e["path"] for e in emulator.journal), "the clicks were read again"
    assert _last_load(tmp_path, "daily", "raw_unisender.visited_links") == 0, "unchanged clicks load nothing"
    gone = clicks[len(clicks) // 2]
    with duckdb.connect(str(tmp_path / "daily.duckdb")) as con:
        con.execute("delete from raw_unisender.visited_links where campaign_id = ? and email = ? and url = ?",
                    [gone["campaign_id"], gone["email"], gone["url"]])
    run()
    assert _last_load(tmp_path, "daily", "raw_unisender.visited_links") == 1
    _pipeline(tmp_path, "fresh", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key"))
    assert _rows(tmp_path, "daily", "raw_unisender.visited_links") == _rows(tmp_path, "fresh", "raw_unisender.visited_links")


@pytest.fixture()
def ss(demo_data, monkeypatch):
    monkeypatch.setattr(sendsay_connector, "MEMBER_PAGESIZE", 40)
    emulator = SendsayEmulator(demo_data, login=LOGIN)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def test_sendsay_members_load_again_only_the_member_who_changed(ss, tmp_path):
    emulator, url = ss
    run = lambda: _pipeline(tmp_path, "daily", "raw_sendsay").run(  # noqa: E731
        sendsay_source(base_url=url, login=LOGIN, api_key="demo-key"))
    run()
    members = _rows(tmp_path, "daily", "raw_sendsay.members")
    assert len(members) > 120, "enough members for several pages"
    run()
    assert _last_load(tmp_path, "daily", "raw_sendsay.members") == 0, "an unchanged member list loads no member"

    address = next(m["member.email"] for m in list(emulator.members)[len(members) // 2:]
                   if "@" in str(m.get("member.email")) and not m.get("member.haslock"))
    requests.post(f"{url}/_emulator/stoplist", json={"address": address, "list": "unsubscribed"},
                  timeout=10).raise_for_status()
    run()
    assert _last_load(tmp_path, "daily", "raw_sendsay.members") == 1, "the member who changed, not the page"

    _pipeline(tmp_path, "fresh", "raw_sendsay").run(sendsay_source(base_url=url, login=LOGIN, api_key="demo-key"))
    assert _rows(tmp_path, "daily", "raw_sendsay.members") == _rows(tmp_path, "fresh", "raw_sendsay.members")
