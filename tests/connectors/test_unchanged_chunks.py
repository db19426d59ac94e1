"""Whole-list reads load only what moved: Unisender's contact export and Sendsay's member list,
against their emulators over real HTTP. After each run the raw table must equal a fresh full load
of the same account, whatever was skipped."""

from __future__ import annotations

import dlt
import duckdb
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

import connectors.sendsay as sendsay_connector
import connectors.unisender as unisender_connector
from connectors.common.unchanged import UnchangedChunks
from connectors.sendsay import sendsay_source
from connectors.unisender import unisender_source
from emulators.sendsay import SendsayEmulator
from emulators.unisender import UnisenderEmulator

LOGIN = "shop"


def test_a_chunk_is_skipped_only_when_the_chunk_at_its_place_last_run_was_the_same():
    state: dict = {}
    first = UnchangedChunks(state)
    assert [first.changed(c) for c in ([{"a": 1}], [{"a": 2}], [{"a": 3}])] == [True, True, True]
    second = UnchangedChunks(state)
    # same, changed, moved (the first chunk's rows now at the third place), and one more
    assert [second.changed(c) for c in ([{"a": 1}], [{"a": 9}], [{"a": 1}], [{"a": 4}])] == [False, True, True, True]
    assert second.skipped_rows == 1
    third = UnchangedChunks(state)
    assert [third.changed(c) for c in ([{"a": 1}], [{"a": 9}])] == [False, False]
    assert len(state["chunk_digests"]) == 2, "a list that shrank forgets the places past its end"
    keyed: dict = {}
    UnchangedChunks(keyed).changed([{"a": 1, "b": [1, 2]}])
    assert not UnchangedChunks(keyed).changed([{"b": [1, 2], "a": 1}]), "keys in another order: the same row"


def _pipeline(tmp_path, name: str, dataset: str):
    return dlt.pipeline(f"{name}_test", destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                        dataset_name=dataset, pipelines_dir=str(tmp_path / f"{name}_p"))


def _rows(tmp_path, name: str, table: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
            "and not starts_with(column_name, '_dlt') order by column_name", [table]).fetchall()]
        return sorted(con.execute(f"select {', '.join(columns)} from {table}").fetchall(), key=repr)


def _last_load(tmp_path, name: str, table: str) -> int:
    with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
        loads = [r for (r,) in con.execute(f"select load_id from {table.split('.')[0]}._dlt_loads order by load_id").fetchall()]
        return con.execute(f"select count(*) from {table} where _dlt_load_id = ?", [loads[-1]]).fetchone()[0]


@pytest.fixture()
def uni(demo_data, monkeypatch):
    monkeypatch.setattr(unisender_connector, "CONTACTS_CHUNK", 50)
    emulator = UnisenderEmulator(demo_data)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def test_unisender_contacts_load_again_only_the_chunk_that_moved(uni, tmp_path):
    emulator, url = uni
    run = lambda **kw: _pipeline(tmp_path, "daily", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key", **kw))  # noqa: E731
    run()
    total = len(_rows(tmp_path, "daily", "raw_unisender.contacts"))
    assert total > 150, "enough contacts for several chunks"

    run()
    assert _last_load(tmp_path, "daily", "raw_unisender.contacts") == 0, "an unchanged export loads no contact"

    address = _rows(tmp_path, "daily", "raw_unisender.contacts")[total // 2][0]
    assert "@" in address
    requests.post(f"{url}/_emulator/contacts/{address}/unsubscribe", timeout=10).raise_for_status()
    run()
    assert 0 < _last_load(tmp_path, "daily", "raw_unisender.contacts") <= 2 * 50, "the changed chunk, not the export"

    _pipeline(tmp_path, "fresh", "raw_unisender").run(unisender_source(base_url=url, api_key="demo-key"))
    daily = _rows(tmp_path, "daily", "raw_unisender.contacts")
    assert daily == _rows(tmp_path, "fresh", "raw_unisender.contacts"), "the same table as a full load"
    assert any(r[0] == address and "unsubscribed" in repr(r) for r in daily)


def test_unisender_a_failed_run_keeps_the_change_for_the_next(uni, tmp_path):
    emulator, url = uni
    pipeline = _pipeline(tmp_path, "daily", "raw_unisender")
    pipeline.run(unisender_source(base_url=url, api_key="demo-key"))
    address = _rows(tmp_path, "daily", "raw_unisender.contacts")[3][0]
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


@pytest.fixture()
def ss(demo_data, monkeypatch):
    monkeypatch.setattr(sendsay_connector, "MEMBER_PAGESIZE", 40)
    emulator = SendsayEmulator(demo_data, login=LOGIN)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def test_sendsay_members_load_again_only_the_page_that_moved(ss, tmp_path):
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
    assert 0 < _last_load(tmp_path, "daily", "raw_sendsay.members") <= 40, "one page, not the list"

    _pipeline(tmp_path, "fresh", "raw_sendsay").run(sendsay_source(base_url=url, login=LOGIN, api_key="demo-key"))
    assert _rows(tmp_path, "daily", "raw_sendsay.members") == _rows(tmp_path, "fresh", "raw_sendsay.members")
