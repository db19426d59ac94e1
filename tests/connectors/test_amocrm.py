"""amoCRM source against the emulator over real HTTP: faults, incremental runs, a run killed
mid-way, 204 answers, auth, quarantine, and the real recorded responses."""

from __future__ import annotations

import json
from pathlib import Path

import dlt
import duckdb
import pytest
import requests

from connectors.amocrm import amocrm_source, split_page
from connectors.amocrm.helpers import HalPagePaginator
from connectors.amocrm.settings import CONTACT_FIELDS, CURSOR_OVERLAP_SECONDS
from connectors.common.cli import connector_error
from connectors.common.contracts import SchemaDrift
from connectors.common.http import AuthError
from emulators.amocrm import AmoCRMEmulator
from tests.connectors.extracted import extracted_formats

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amocrm"  # copied from the shared recordings (tests/fixtures/README.md)
TOKEN = "demo-key"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture()
def files(demo_data):
    return {"contacts": _jsonl(demo_data / "amocrm" / "contacts.jsonl"),
            "leads": _jsonl(demo_data / "amocrm" / "leads.jsonl")}


def _serve(emulator: AmoCRMEmulator):
    server, url = emulator.serve_in_thread()
    return server, url


@pytest.fixture()
def amo(demo_data):
    emulator = AmoCRMEmulator(demo_data, api_key=TOKEN, rate_per_second=1000)
    server, url = _serve(emulator)
    yield emulator, url
    server.shutdown()


def _pipeline(tmp_path: Path):
    return dlt.pipeline("amocrm_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_amocrm", pipelines_dir=str(tmp_path / "p"))


def _source(url: str, **kw):
    return amocrm_source(base_url=url, access_token=kw.pop("token", TOKEN), **kw)


def _query(tmp_path: Path, sql: str):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts(tmp_path: Path, table: str) -> tuple[int, int]:
    return _query(tmp_path, f"select count(*), count(distinct id) from raw_amocrm.{table}")[0]


def test_full_load_through_faults_then_idempotent_rerun(amo, files, tmp_path):
    emulator, url = amo
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url, page_limit=50))
    n_contacts, n_leads = len(files["contacts"]), len(files["leads"])
    assert _counts(tmp_path, "contacts") == (n_contacts, n_contacts)
    assert _counts(tmp_path, "leads") == (n_leads, n_leads)
    statuses = [e["status"] for e in emulator.journal]
    assert statuses.count(429) == 2 and 503 in statuses, "the faults were actually served"
    pages_read = [e for e in emulator.journal if e["path"] == "/api/v4/contacts" and e["status"] == 200]
    assert len(pages_read) >= -(-n_contacts // 50), "paged with the limit asked for"

    pipeline.run(_source(url, page_limit=50))
    assert _counts(tmp_path, "contacts") == (n_contacts, n_contacts)
    assert _counts(tmp_path, "leads") == (n_leads, n_leads)
    main_contacts = _query(tmp_path, "select count(*) from raw_amocrm.leads "
                                     "where json_array_length(_embedded->'$.contacts') >= 1")[0][0]
    assert main_contacts == sum(1 for lead in files["leads"] if lead["_embedded"]["contacts"]), \
        "with=contacts delivered each lead's contacts"


def test_second_run_asks_only_for_changed_records(amo, files, tmp_path):
    emulator, url = amo
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    first_load = _query(tmp_path, "select max(_dlt_load_id) from raw_amocrm.contacts")[0][0]
    old_max = max(c["updated_at"] for c in files["contacts"])
    old_lead_max = max(lead["updated_at"] for lead in files["leads"])

    touched = emulator.touch("contacts", [files["contacts"][i]["id"] for i in (0, 5, 9)])
    touched_leads = emulator.touch("leads", 2)
    emulator.journal.clear()
    pipeline.run(_source(url))

    contact_calls = [e for e in emulator.journal if e["path"] == "/api/v4/contacts"]
    since = old_max - CURSOR_OVERLAP_SECONDS
    assert contact_calls and all(e["query"].get("filter[updated_at][from]") == str(since) for e in contact_calls)
    lead_calls = [e for e in emulator.journal if e["path"] == "/api/v4/leads"]
    assert all(e["query"].get("filter[updated_at][from]") == str(old_lead_max - CURSOR_OVERLAP_SECONDS) for e in lead_calls)

    in_overlap = {c["id"] for c in files["contacts"] if c["updated_at"] >= since} - set(touched)
    assert in_overlap, "the overlap window re-reads records that did not change"
    rewritten = {r[0] for r in _query(tmp_path, f"select id from raw_amocrm.contacts where _dlt_load_id > '{first_load}'")}
    assert rewritten == set(touched), "of what was read again, only the changed records were loaded"
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    new_stamp = _query(tmp_path, f"select min(updated_at) from raw_amocrm.contacts where id in ({','.join(map(str, touched))})")[0][0]
    assert new_stamp > old_max
    leads_new = {r[0] for r in _query(tmp_path, f"select id from raw_amocrm.leads where updated_at > {old_lead_max}")}
    assert leads_new == set(touched_leads)


def test_run_killed_mid_way_then_rerun_loses_and_duplicates_nothing(amo, files, tmp_path):
    emulator, url = amo
    pages_contacts = -(-len(files["contacts"]) // 20)
    # account + every contacts page + a few leads pages, then the next request breaks for good
    emulator.faults.fail_request_number = 1 + pages_contacts + 3
    pipeline = _pipeline(tmp_path)
    with pytest.raises(Exception) as info:
        pipeline.run(_source(url, page_limit=20, http_attempts=1))
    assert "HTTP 500" in str(info.value)
    assert 500 in [e["status"] for e in emulator.journal]
    assert any(e["path"] == "/api/v4/leads" and e["status"] == 200 for e in emulator.journal), "died mid-way through leads"

    pipeline.run(_source(url, page_limit=20))
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    assert _counts(tmp_path, "leads") == (len(files["leads"]),) * 2
    pipeline.run(_source(url, page_limit=20))
    assert _counts(tmp_path, "leads") == (len(files["leads"]),) * 2


def test_204_ends_the_list(demo_data, files, tmp_path):
    # A server that offers `next` after a full last page: the request that follows gets a 204.
    emulator = AmoCRMEmulator(demo_data, api_key=TOKEN, rate_per_second=1000, next_on_last_full_page=True)
    emulator.contacts = emulator.contacts[:40]
    server, url = _serve(emulator)
    try:
        bare = requests.get(f"{url}/api/v4/contacts", params={"limit": 20, "page": 3},
                            headers={"Authorization": f"Bearer {TOKEN}"})
        assert bare.status_code == 204 and bare.content == b""
        _pipeline(tmp_path).run(_source(url, page_limit=20))
        assert _counts(tmp_path, "contacts") == (40, 40)
        calls = [e for e in emulator.journal if e["path"] == "/api/v4/contacts" and e["query"].get("limit") == "20"]
        assert [e["status"] for e in calls][-1] == 204
    finally:
        server.shutdown()


def test_empty_account_answers_204_and_loads_nothing(tmp_path):
    emulator = AmoCRMEmulator(tmp_path / "no-data", api_key=TOKEN, rate_per_second=1000)
    server, url = _serve(emulator)
    try:
        _pipeline(tmp_path).run(_source(url))
        assert [e["status"] for e in emulator.journal if e["path"] != "/api/v4/account"] == [204, 204]
    finally:
        server.shutdown()


def test_wrong_token_fails_at_once_naming_the_account_and_the_setting_to_check(amo, tmp_path):
    emulator, url = amo
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(_source(url, token="expired-token"))
    error = connector_error(info.value)
    assert isinstance(error, AuthError), repr(info.value)
    message = str(error)
    assert message.startswith(f"amoCRM at {url}/api/v4/account refused the access token")
    assert "HTTP 401" in message and "Unauthorized" in message and "Неверный логин или пароль" in message
    assert "check AMOCRM_API_KEY" in message and "AMOCRM_BASE_URL" in message
    assert "expired-token" not in str(info.value)
    assert [e["status"] for e in emulator.journal] == [401], "a refused token is not retried"


def test_broken_records_are_quarantined_and_the_rest_load(amo, files, tmp_path):
    emulator, url = amo
    emulator.contacts.append({"id": None, "name": "без id", "updated_at": 1_700_000_000})
    emulator.contacts.append({"id": "21000000x", "name": "текстовый id", "updated_at": 1_700_000_000})
    _pipeline(tmp_path).run(_source(url))
    assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
    rows = _query(tmp_path, "select source, position, reason, payload from raw_amocrm.quarantine order by payload")
    assert len(rows) == 2
    assert all(r[0] == "amocrm" and r[1].startswith("GET /contacts page ") and r[2] == "record has no integer id" for r in rows)
    assert {json.loads(r[3])["name"] for r in rows} == {"без id", "текстовый id"}


def test_rate_limit_is_enforced_and_survived(demo_data, files, tmp_path):
    emulator = AmoCRMEmulator(demo_data, api_key=TOKEN)  # the real 7 requests per second
    server, url = _serve(emulator)
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {TOKEN}"
        burst = [s.get(f"{url}/api/v4/account") for _ in range(12)]
        limited = [r for r in burst if r.status_code == 429]
        assert limited and "Retry-After" in limited[0].headers
        with pytest.raises(ValueError):
            limited[0].json()  # a body that is not JSON, as the real 429 is
        _pipeline(tmp_path).run(_source(url, page_limit=25))
        assert _counts(tmp_path, "contacts") == (len(files["contacts"]),) * 2
        assert _counts(tmp_path, "leads") == (len(files["leads"]),) * 2
    finally:
        server.shutdown()


def test_envelope_matches_the_recorded_responses(amo):
    emulator, url = amo
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    recorded = json.loads((FIXTURES / "contacts_page1.json").read_text(encoding="utf-8"))
    r = s.get(f"{url}/api/v4/contacts", params={"limit": 2, "page": 1})
    assert r.headers["Content-Type"].startswith("application/hal+json")
    body = r.json()
    assert set(body) == set(recorded) and body["_page"] == 1 and "next" in body["_links"]
    assert set(recorded["_embedded"]["contacts"][0]) <= set(body["_embedded"]["contacts"][0])
    one = json.loads((FIXTURES / "contact_get.json").read_text(encoding="utf-8"))
    got = s.get(f"{url}/api/v4/contacts/{body['_embedded']['contacts'][0]['id']}").json()
    assert set(one) - {"_embedded"} <= set(got)
    assert s.get(f"{url}/api/v4/contacts/1").status_code == 204
    big = s.get(f"{url}/api/v4/contacts", params={"limit": 1000}).json()
    assert len(big["_embedded"]["contacts"]) == min(250, len(emulator.contacts))
    bad = s.get(f"{url}/api/v4/contacts", params={"order[id]": "sideways"})
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert bad.json()["validation-errors"][0]["errors"][0]["path"] == "order.id"
    lead = s.get(f"{url}/api/v4/leads", params={"limit": 1, "with": "contacts"}).json()["_embedded"]["leads"][0]
    assert {"id", "is_main"} <= set(lead["_embedded"]["contacts"][0])
    plain = s.get(f"{url}/api/v4/leads", params={"limit": 1}).json()["_embedded"]["leads"][0]
    assert "contacts" not in plain["_embedded"]


def test_real_recorded_pages_parse(tmp_path):
    page1 = json.loads((FIXTURES / "contacts_page1.json").read_text(encoding="utf-8"))
    page2 = json.loads((FIXTURES / "contacts_page2_last.json").read_text(encoding="utf-8"))
    good1, bad1 = split_page(page1["_embedded"]["contacts"], CONTACT_FIELDS, where="GET /contacts page 1")
    good2, bad2 = split_page(page2["_embedded"]["contacts"], CONTACT_FIELDS, where="GET /contacts page 2")
    assert [c["id"] for c in good1] == [7143599, 7767065] and [c["id"] for c in good2] == [7143599]
    assert not bad1 and not bad2

    class _Resp:
        def __init__(self, body):
            self._body = body

        def json(self):
            return self._body

    paginator = HalPagePaginator()
    paginator.update_state(_Resp(page1), good1)
    assert paginator.has_next_page
    paginator.update_state(_Resp(page2), good2)
    assert not paginator.has_next_page

    drifted = [{k: v for k, v in c.items() if k != "custom_fields_values"} for c in good1]
    with pytest.raises(SchemaDrift, match="custom_fields_values"):
        split_page(drifted, CONTACT_FIELDS, where="GET /contacts page 1")


def test_real_recorded_records_load_through_the_source(tmp_path):
    """The recorded records (a null `custom_fields_values`, `enum` instead of `enum_code`, a
    repeated id across pages) served as an account's data and loaded end to end."""
    page1 = json.loads((FIXTURES / "contacts_page1.json").read_text(encoding="utf-8"))
    page2 = json.loads((FIXTURES / "contacts_page2_last.json").read_text(encoding="utf-8"))
    single = json.loads((FIXTURES / "contact_get.json").read_text(encoding="utf-8"))
    records = page1["_embedded"]["contacts"] + page2["_embedded"]["contacts"] + [single]
    data = tmp_path / "data" / "amocrm"
    data.mkdir(parents=True)
    (data / "contacts.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    emulator = AmoCRMEmulator(tmp_path / "data", api_key=TOKEN, rate_per_second=1000)
    server, url = _serve(emulator)
    try:
        _pipeline(tmp_path).run(_source(url, page_limit=2))
        ids = {r[0] for r in _query(tmp_path, "select id from raw_amocrm.contacts")}
        assert ids == {3, 7143599, 7767065}
        phone = _query(tmp_path, "select custom_fields_values->>'$[0].values[0].enum' from raw_amocrm.contacts where id = 3")
        assert phone == [("WORK",)]
    finally:
        server.shutdown()


def test_pages_reach_dlt_as_arrow_tables_and_a_column_changing_type_still_stops_the_load(tmp_path):
    """The recorded pages go to dlt as Arrow tables (its row normaliser was most of the load at a
    million people); the contract that freezes column types holds on that path too: first names
    that turn into numbers stop the load instead of being cast or put into a variant column."""
    page1 = json.loads((FIXTURES / "contacts_page1.json").read_text(encoding="utf-8"))
    page2 = json.loads((FIXTURES / "contacts_page2_last.json").read_text(encoding="utf-8"))
    records = page1["_embedded"]["contacts"] + page2["_embedded"]["contacts"]

    def serve(folder: str, rows: list[dict]):
        data = tmp_path / folder / "amocrm"
        data.mkdir(parents=True)
        (data / "contacts.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        return _serve(AmoCRMEmulator(tmp_path / folder, api_key=TOKEN, rate_per_second=1000))

    pipeline = _pipeline(tmp_path)
    server, url = serve("before", records)
    try:
        pipeline.run(_source(url), loader_file_format="parquet")
    finally:
        server.shutdown()
    assert extracted_formats(pipeline)["contacts"] == {"parquet"}
    assert _query(tmp_path, "select count(*) from raw_amocrm.contacts where first_name is not null")[0][0] > 0

    renamed = [{**r, "first_name": 1000 + i, "updated_at": r["updated_at"] + 3600} for i, r in enumerate(records)]
    server, url = serve("after", renamed)
    try:
        with pytest.raises(Exception) as failed:
            pipeline.run(_source(url), loader_file_format="parquet")
    finally:
        server.shutdown()
    assert "first_name" in str(failed.value) and "freeze" in str(failed.value)
    assert _query(tmp_path, "select count(*) from raw_amocrm.contacts where try_cast(first_name as bigint) >= 1000")[0][0] == 0


def test_a_page_without_the_embedded_list_fails_loudly(demo_data, tmp_path):
    """If amoCRM renamed `_embedded.contacts`, the page must not pass for an empty last page."""

    class Renamed(AmoCRMEmulator):
        def _list(self, req, entity, rows, render):
            resp = super()._list(req, entity, rows, render)
            if resp.status == 200:
                body = json.loads(resp.body)
                body["_embedded"] = {"items": body["_embedded"][entity]}
                resp.body = json.dumps(body).encode()
            return resp

    emulator = Renamed(demo_data, api_key=TOKEN, rate_per_second=1000)
    server, url = _serve(emulator)
    try:
        with pytest.raises(Exception, match=r"without a `_embedded.contacts` list"):
            _pipeline(tmp_path).run(_source(url))
    finally:
        server.shutdown()


def test_the_emulator_pages_a_listing_as_the_data_stands_after_a_touch(amo):
    """The emulator keeps a listing's filtered, ordered rows between its pages: the same query after
    records were touched must show them, with their new time, in their new place."""
    emulator, url = amo
    headers = {"Authorization": f"Bearer {TOKEN}"}
    newest = max(r["updated_at"] for r in emulator.contacts)
    query = {"filter[updated_at][from]": newest, "order[updated_at]": "asc", "limit": 250}

    def listed() -> list[tuple[int, int]]:
        answer = requests.get(f"{url}/api/v4/contacts", params=query, headers=headers, timeout=10)
        if answer.status_code == 204:
            return []
        return [(c["id"], c["updated_at"]) for c in answer.json()["_embedded"]["contacts"]]

    before = listed()
    touched = emulator.touch("contacts", [emulator.contacts[0]["id"], emulator.contacts[1]["id"]])
    after = listed()
    assert {i for i, _ in after} == {i for i, _ in before} | set(touched)
    assert [i for i, _ in after][-2:] == sorted(touched) and after[-1][1] > newest
