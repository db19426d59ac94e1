"""Bitrix24 source against the emulator over real HTTP (faults, the leaky bucket, incremental
reads, a run killed mid-way), and the connector's answer handling on the recorded real answers."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import dlt
import duckdb
import pytest
import requests

from connectors.bitrix24 import Bitrix24Client, Bitrix24Error, bitrix24_source, page_records, parse_batch, records, webhook_url
from connectors.bitrix24.helpers import batch_errors_message
from connectors.bitrix24.settings import CONTACT_FIELDS, CURSOR_LAG_SECONDS, DEAL_FIELDS
from connectors.common.cli import connector_error
from connectors.common.contracts import SchemaDrift
from connectors.common.http import AuthError
from emulators.bitrix24 import Bitrix24Emulator
from tests.connectors.extracted import extracted_formats

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitrix24"  # copied from the shared recordings (tests/fixtures/README.md)
CODE = "demo-key"


def _fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def files(demo_data):
    """What the generator wrote: the expectations come from here, not from the emulator."""
    def read(name):
        return [json.loads(line) for line in (demo_data / "bitrix24" / name).read_text(encoding="utf-8").splitlines()]
    return {"contacts": read("contacts.jsonl"), "deals": read("deals.jsonl")}


@pytest.fixture()
def b24(demo_data):
    emulator = Bitrix24Emulator(demo_data, api_key=CODE)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def _pipeline(tmp_path):
    return dlt.pipeline("bitrix24_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_bitrix24", pipelines_dir=str(tmp_path / "p"))


def _source(url, code=CODE, **kw):
    return bitrix24_source(base_url=url, api_key=code, **kw)


def _query(tmp_path, sql):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts(tmp_path, table):
    return _query(tmp_path, f"select count(*), count(distinct id) from raw_bitrix24.{table}")[0]


def test_full_load_through_faults_then_an_idempotent_second_run(b24, files, tmp_path):
    emulator, url = b24
    emulator.faults.rate_limit_next = 2  # QUERY_LIMIT_EXCEEDED, HTTP 503 with a body, no Retry-After
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    assert _counts(tmp_path, "deals") == (len(files["deals"]),) * 2
    statuses = [e["status"] for e in emulator.journal]
    assert statuses.count(503) >= 3, "the limit answers and the 5xx were served and retried"
    assert any(e["path"].endswith("/batch.json") for e in emulator.journal), "later pages came through batch"
    phones = _query(tmp_path, "select count(*) from raw_bitrix24.contacts where phone is not null")[0][0]
    assert phones == sum(1 for c in files["contacts"] if c.get("PHONE")), "PHONE was selected explicitly"
    # Pages reach dlt as Arrow tables (parquet when extracted), not dict rows for its row normaliser.
    formats = extracted_formats(pipeline)
    assert formats["contacts"] == formats["deals"] == {"parquet"}

    pipeline.run(_source(url))
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    assert _counts(tmp_path, "deals") == (len(files["deals"]),) * 2


def test_the_leaky_bucket_refuses_a_burst_and_the_connector_waits_it_out(demo_data, files, tmp_path):
    emulator = Bitrix24Emulator(demo_data, api_key=CODE, bucket_capacity=3, drain_per_second=4)
    server, url = emulator.serve_in_thread()
    try:
        _pipeline(tmp_path).run(_source(url, batch_pages=0))  # page by page: many requests in a row
        refused = [e for e in emulator.journal if e["status"] == 503]
        assert refused, "the bucket overflowed"
        assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
        assert _counts(tmp_path, "deals") == (len(files["deals"]),) * 2
    finally:
        server.shutdown()


def test_the_benchmarks_lifted_limit_lifts_the_leaky_bucket_too(demo_data):
    """`--rate-limit` (the benchmark times our side, not the portal's throttle) reaches the bucket,
    which is Bitrix24's limit, not the per-second window the other emulators keep."""
    emulator = Bitrix24Emulator(demo_data, api_key=CODE, bucket_capacity=3, drain_per_second=0.01)
    emulator.lift_rate_limit(100_000)
    server, url = emulator.serve_in_thread()
    try:
        client = Bitrix24Client(url, CODE, batch_pages=0, attempts=1)
        for _ in range(20):
            client.call("crm.contact.list", {"start": 0})
        assert [e["status"] for e in emulator.journal] == [200] * 20
    finally:
        server.shutdown()


def test_rate_limit_answer_is_the_documented_one(demo_data):
    emulator = Bitrix24Emulator(demo_data, api_key=CODE, bucket_capacity=1, drain_per_second=0.01)
    server, url = emulator.serve_in_thread()
    try:
        assert requests.get(f"{url}/rest/1/{CODE}/crm.contact.list.json").status_code == 200
        refused = requests.get(f"{url}/rest/1/{CODE}/crm.contact.list.json")
        assert refused.status_code == 503
        assert refused.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    finally:
        server.shutdown()


def test_incremental_run_asks_only_for_records_modified_since_the_cursor(b24, files, tmp_path):
    emulator, url = b24
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    first_load = _query(tmp_path, "select max(_dlt_load_id) from raw_bitrix24.contacts")[0][0]
    old_max = max(datetime.fromisoformat(c["DATE_MODIFY"]) for c in files["contacts"])
    touched = [files["contacts"][i]["ID"] for i in (0, 3, 7)]
    stamp = emulator.touch("contacts", set(touched), {"POST": "Главный оптометрист"})
    touched_deal = files["deals"][1]["ID"]
    emulator.touch("deals", {touched_deal}, {"STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "CLOSED": "Y"})
    emulator.journal.clear()

    pipeline.run(_source(url))

    since = (old_max - timedelta(seconds=CURSOR_LAG_SECONDS)).isoformat()
    contact_calls = [e for e in emulator.journal if e["path"].endswith("/crm.contact.list.json")]
    assert contact_calls and all(e["query"].get("filter[>DATE_MODIFY]") == since for e in contact_calls)
    deal_calls = [e for e in emulator.journal if e["path"].endswith("/crm.deal.list.json")]
    assert deal_calls and all("filter[>DATE_MODIFY]" in e["query"] for e in deal_calls)

    in_lag = {c["ID"] for c in files["contacts"]
              if datetime.fromisoformat(c["DATE_MODIFY"]) > old_max - timedelta(seconds=CURSOR_LAG_SECONDS)} - set(touched)
    assert in_lag, "the lag window re-reads records that did not change"
    reloaded = {r[0] for r in _query(tmp_path, f"select id from raw_bitrix24.contacts where _dlt_load_id > '{first_load}'")}
    assert reloaded == set(touched), "of what was read again, only the changed records were loaded"
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    rows = _query(tmp_path, f"select distinct post, date_modify from raw_bitrix24.contacts where id in ({','.join(repr(t) for t in touched)})")
    assert rows == [("Главный оптометрист", stamp)]
    assert _query(tmp_path, f"select stage_id from raw_bitrix24.deals where id = '{touched_deal}'") == [("WON",)]
    assert _counts(tmp_path, "deals") == (len(files["deals"]),) * 2


def test_run_killed_mid_way_then_rerun_loses_and_duplicates_nothing(b24, files, tmp_path):
    emulator, url = b24
    contact_pages = -(-len(files["contacts"]) // 50)
    # page by page (one batch per page): every contacts page, two deals pages, then a hard failure
    emulator.faults.fail_request_number = contact_pages + 3
    pipeline = _pipeline(tmp_path)
    with pytest.raises(Exception) as info:
        pipeline.run(_source(url, batch_pages=1, http_attempts=1))
    assert "HTTP 500" in str(info.value)
    assert any("crm.deal.list" in e["path"] and e["status"] == 200 for e in emulator.journal), "died inside deals"

    pipeline.run(_source(url, batch_pages=1))
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    assert _counts(tmp_path, "deals") == (len(files["deals"]),) * 2
    pipeline.run(_source(url, batch_pages=1))
    assert _counts(tmp_path, "deals") == (len(files["deals"]),) * 2


def test_wrong_webhook_code_fails_clearly_without_showing_the_code(b24, tmp_path):
    emulator, url = b24
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(_source(url, code="wrong-secret-code"))
    error = connector_error(info.value)
    assert isinstance(error, AuthError) and isinstance(error, Bitrix24Error), repr(info.value)
    message = str(error)
    assert message.startswith(f"Bitrix24 at {url}/rest/1/…/ refused the incoming webhook on crm.contact.list")
    assert "HTTP 401" in message and "NO_AUTH_FOUND" in message and "Wrong authorization data" in message
    assert "check BITRIX24_API_KEY" in message and "BITRIX24_BASE_URL" in message
    assert "wrong-secret-code" not in str(info.value)
    assert [e["status"] for e in emulator.journal] == [401], "a refused code is not retried"
    assert all("wrong-secret-code" not in e["path"] for e in emulator.journal), "the journal masks the code"
    bare = requests.get(f"{url}/rest/2/{CODE}/crm.contact.list.json")  # right code, another user
    assert bare.status_code == 401 and bare.json()["error"] == "NO_AUTH_FOUND"


def test_broken_records_are_quarantined_and_the_rest_load(b24, files, tmp_path):
    emulator, url = b24
    stamp = files["contacts"][0]["DATE_MODIFY"]
    emulator.contacts.append({"NAME": "Без номера", "DATE_MODIFY": stamp, "HAS_PHONE": "N", "HAS_EMAIL": "N"})
    emulator.contacts.append({**files["contacts"][1], "ID": "999999", "DATE_MODIFY": ""})
    _pipeline(tmp_path).run(_source(url))
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    rows = _query(tmp_path, "select source, position, reason, payload from raw_bitrix24.quarantine order by reason")
    assert [(r[0], r[2]) for r in rows] == [("bitrix24", "DATE_MODIFY is not an ISO date"),
                                           ("bitrix24", "record has no positive integer ID")]
    assert all(r[1].startswith("crm.contact.list start=") and " item " in r[1] for r in rows)
    assert "Без номера" in rows[1][3]


def test_a_multi_field_dropped_from_select_stops_the_run(b24):
    _, url = b24
    client = Bitrix24Client(url, CODE, batch_pages=0)
    pages = client.list_pages("crm.contact.list", {"select": ["*"]})  # PHONE/EMAIL not named
    with pytest.raises(SchemaDrift) as info:
        list(records(pages, CONTACT_FIELDS, "crm.contact.list"))
    assert "PHONE" in str(info.value) or "EMAIL" in str(info.value)


def test_emulator_answers_are_shaped_like_the_recorded_ones(b24):
    _, url = b24
    base = f"{url}/rest/1/{CODE}/"
    page = requests.get(base + "crm.contact.list.json").json()
    recorded = _fixture("crm_lead_list_page1_next.json")
    assert list(page) == list(recorded) == ["result", "next", "total", "time"]
    assert set(recorded["time"]) <= set(page["time"])
    assert "PHONE" not in page["result"][0] and "EMAIL" not in page["result"][0], "not in the default select"
    assert all(isinstance(v, (str, type(None))) for v in page["result"][0].values()), "scalars are strings"
    bad = requests.get(base + "crm.contact.get.json", params={"id": "abc"})
    assert bad.status_code == 400 and bad.json() == _fixture("docs_error_id_invalid_400.json")
    answer = requests.post(base + "batch.json", data={"halt": "0", "cmd[0]": "crm.contact.get?id=0",
                                                      "cmd[1]": "crm.contact.get?id=99999999"}).json()
    assert answer["result"] == _fixture("batch_all_errors.json")["result"]
    named = requests.post(base + "batch.json", data={"halt": "0", "cmd[page]": "crm.deal.list?start=0&select[]=ID"}).json()
    shape = _fixture("docs_batch_named_commands.json")
    assert list(named) == list(shape) and list(named["result"]) == list(shape["result"])
    assert named["result"]["result_next"] == {"page": 50} and named["result"]["result_total"]["page"] > 50


def test_webhook_url_accepts_portal_plus_code_or_the_whole_webhook():
    assert webhook_url("https://x.bitrix24.ru", "abc") == "https://x.bitrix24.ru/rest/1/abc/"
    assert webhook_url("https://x.bitrix24.ru/", "abc", user_id=7) == "https://x.bitrix24.ru/rest/7/abc/"
    assert webhook_url("https://x.bitrix24.ru/rest/12", "abc") == "https://x.bitrix24.ru/rest/12/abc/"
    assert webhook_url("https://x.bitrix24.ru/rest/12/abc/", "") == "https://x.bitrix24.ru/rest/12/abc/"
    with pytest.raises(ValueError):
        webhook_url("https://x.bitrix24.ru/rest/12/abc/", "other")
    with pytest.raises(ValueError):
        webhook_url("https://x.bitrix24.ru", "")


# --- the real recorded answers through the connector's handling ------------------------------------

def test_real_contact_answers_load_and_partial_selects_are_drift(tmp_path):
    listing = _fixture("docs_crm_contact_list.json")
    rows = page_records(listing["result"], "fixture")
    assert len(rows) == listing["total"] == 5 and "next" not in listing
    with pytest.raises(SchemaDrift) as info:  # the docs' select left out DATE_MODIFY, SECOND_NAME, ...
        list(records([("docs list", rows)], CONTACT_FIELDS, "crm.contact.list"))
    assert "DATE_MODIFY" in str(info.value) and "special-for@example.com" not in str(info.value)
    with pytest.raises(SchemaDrift):
        list(records([("docs deals", page_records(_fixture("docs_crm_deal_list.json")["result"], "f"))],
                     DEAL_FIELDS, "crm.deal.list"))

    full = _fixture("docs_crm_contact_get.json")["result"]
    resource = dlt.resource(records([("docs get", [full])], CONTACT_FIELDS, "crm.contact.get"), name="contacts",
                            primary_key="ID", write_disposition="merge", max_table_nesting=0)
    pipeline = _pipeline(tmp_path)
    pipeline.run(resource)
    got = _query(tmp_path, "select id, last_name, json_array_length(phone), email->>'$[1].VALUE' from raw_bitrix24.contacts")
    assert got == [("43", "Иванов", 2, "ivanov@example.work")]


def test_real_batch_answers_parse_and_errors_stop_the_page_walk():
    mixed = parse_batch(_fixture("batch_mixed_success_and_errors.json"))
    assert list(mixed.results) == ["35943"] and len(mixed.errors) == 2
    assert "ID is not defined or invalid." in batch_errors_message(mixed) and "Not found" in batch_errors_message(mixed)
    halted = parse_batch(_fixture("docs_batch_error_halt0.json"))
    assert set(halted.errors) == {"get_user", "get_department"} and halted.results == {}
    assert parse_batch(_fixture("batch_all_errors.json")).results == {}

    history = parse_batch(_fixture("batch_crm_stagehistory_list.json"))
    name = "order0000000000"
    assert len(page_records(history.results[name], name)) == history.totals[name] == 9
    empty = parse_batch(_fixture("batch_list_empty.json"))
    assert page_records(empty.results[name], name) == [] and empty.totals[name] == 0 and empty.nexts == {}
    named = parse_batch(_fixture("docs_batch_named_commands.json"))
    assert named.totals == {"get_department": 1} and named.results["get_user"]["ID"] == "1"

    client = Bitrix24Client("https://x.bitrix24.ru", "code")
    client.call = lambda *a, **k: _fixture("batch_mixed_success_and_errors.json")
    with pytest.raises(Bitrix24Error) as info:
        client._batch_pages("crm.lead.list", {}, [50, 100])
    assert "Not found" in str(info.value)
