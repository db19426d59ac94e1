"""RetailCRM source against the emulator over real HTTP, faults included, and real clients.

Expectations come from the generator's files (customers, corporate customers, carts) or from the
changes a test makes, never from the emulator's constants.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dlt
import duckdb
import pandas as pd
import pytest
import requests

from connectors.common.cli import connector_error
from connectors.common.http import AuthError
from connectors.retailcrm import retailcrm_source
from connectors.retailcrm.history import Touched, history_row, invalid_item, payments_list
from emulators.base import Emulator, Request, Response
from emulators.retailcrm import RetailCRMEmulator
from tests.connectors.extracted import extracted_formats

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "retailcrm"  # the shared recordings, copied (tests/fixtures/README.md)
DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture()
def crm(demo_data):
    emulator = RetailCRMEmulator(demo_data, rate_per_second=1000)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def _pipeline(tmp_path):
    return dlt.pipeline("retailcrm_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_retailcrm", pipelines_dir=str(tmp_path / "p"))


def _q(tmp_path, sql, *params):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _api(url):
    s = requests.Session()
    s.headers["X-API-KEY"] = "demo-key"
    return s


def _edit(url, entity, uid, payload_key, payload):
    r = _api(url).post(f"{url}/api/v5/{entity}/{uid}/edit", data={"by": "id", payload_key: json.dumps(payload)})
    assert r.status_code == 200 and r.json()["success"], r.text


def test_loads_everything_through_faults_and_reloads_idempotently(crm, tmp_path, demo_data):
    emulator, url = crm
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    pipeline = _pipeline(tmp_path)
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    expected = len(emulator.customers)
    assert _q(tmp_path, "select count(*), count(distinct id) from raw_retailcrm.customers")[0] == (expected, expected)
    statuses = [entry["status"] for entry in emulator.journal]
    assert 429 in statuses and 503 in statuses, "the faults were actually served"
    formats = extracted_formats(pipeline)  # a full read's pages reach dlt as Arrow tables
    assert formats["customers"] == formats["orders"] == {"parquet"}
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    assert _q(tmp_path, "select count(*) from raw_retailcrm.orders")[0][0] == len(emulator.orders)
    assert _q(tmp_path, "select count(*) from raw_retailcrm.customers")[0][0] == expected


def test_wrong_key_fails_at_once_naming_the_account_and_the_setting_to_check(crm, tmp_path):
    emulator, url = crm
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(retailcrm_source(base_url=url, api_key="Wr0ng-S3cret"))
    error = connector_error(info.value)
    assert isinstance(error, AuthError), repr(info.value)
    message = str(error)
    assert message.startswith(f"RetailCRM at {url}/api/v5/") and "refused the API key" in message
    assert 'HTTP 403: Wrong "apiKey" value.' in message and "check RETAILCRM_API_KEY" in message
    assert "Wr0ng-S3cret" not in str(info.value)
    assert [e["status"] for e in emulator.journal] == [403], "a refused key is not retried"


def test_envelope_paging_and_limits_match_the_real_api(crm):
    emulator, url = crm
    s = _api(url)
    body = s.get(f"{url}/api/v5/customers", params={"limit": 20, "page": 2}).json()
    assert body["success"] is True
    assert body["pagination"]["currentPage"] == 2 and body["pagination"]["limit"] == 20
    assert body["pagination"]["totalPageCount"] == -(-len(emulator.customers) // 20)
    bad = s.get(f"{url}/api/v5/customers", params={"limit": 37})
    assert bad.status_code == 400 and bad.json()["success"] is False and "limit" in bad.json()["errors"]
    order = s.get(f"{url}/api/v5/orders", params={"limit": 100}).json()["orders"][0]
    assert isinstance(order["payments"], dict), "payments is keyed by id in /orders"
    ids = [int(i) for i in emulator.customers["id"].iloc[[0, 5]]]
    picked = s.get(f"{url}/api/v5/customers", params={"limit": 20, "filter[ids][]": ids}).json()["customers"]
    assert sorted(c["id"] for c in picked) == sorted(ids)
    history = s.get(f"{url}/api/v5/orders/history", params={"limit": 100}).json()
    assert history["generatedAt"] and history["pagination"]["totalCount"] > 0
    snapshot = next(h["order"] for h in history["history"] if h.get("created") and h["order"].get("payments"))
    assert isinstance(snapshot["payments"], list), "history snapshots list payments"


def test_official_python_client_pages_through_the_emulator(crm):
    retailcrm = pytest.importorskip("retailcrm")
    emulator, url = crm
    client = retailcrm.v5(url, "demo-key")
    seen, page = 0, 1
    while True:
        response = client.customers({}, limit=100, page=page)
        assert response.is_successful(), response.get_error_msg()
        body = response.get_response()
        seen += len(body["customers"])
        if page >= body["pagination"]["totalPageCount"]:
            break
        page += 1
    assert seen == len(emulator.customers)
    orders = client.orders({}, limit=20, page=1).get_response()
    assert orders["pagination"]["totalCount"] == len(emulator.orders)
    # Writes through the official client land in the journal it reads back by sinceId.
    before = client.customers_history({}, limit=20, page=1).get_response()["pagination"]["totalCount"]
    cid = int(emulator.customers["id"].iloc[3])
    assert client.customer_edit({"id": cid, "firstName": "Изменено"}, uid_type="id").is_successful()
    history = client.customers_history({"startDate": "2000-01-01 00:00:00"}, limit=100,
                                       page=-(-(before + 1) // 100)).get_response()["history"]
    assert history[-1]["field"] == "first_name" and history[-1]["customer"]["id"] == cid


def _run_dbt_staging(warehouse: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CDP_DUCKDB_PATH": str(warehouse)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", "staging.retailcrm",
         "--target-path", str(tmp_path / "dbt_target"), "--log-path", str(tmp_path / "dbt_logs")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]


def test_second_run_reads_only_the_journal_and_lands_changes_down_to_staging(crm, tmp_path):
    emulator, url = crm
    pipeline = _pipeline(tmp_path)
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    n_customers, n_orders = len(emulator.customers), len(emulator.orders)

    subscribed = emulator.customers[emulator.customers["subscribed"] & emulator.customers["emailMarketingUnsubscribedAt"].isna()]
    cid = int(subscribed["id"].iloc[0])
    gone = int(emulator.customers["id"].iloc[-1])
    oid = int(emulator.orders.loc[emulator.orders["status"] == "delivering", "id"].iloc[0])
    _edit(url, "customers", cid, "customer", {"email": "Changed.Address@Example.ru", "subscribed": False})
    _edit(url, "orders", oid, "order", {"status": "complete"})
    assert requests.post(f"{url}/_emulator/delete", json={"entity": "customers", "id": gone}).ok
    created = _api(url).post(f"{url}/api/v5/customers/create", data={"customer": json.dumps({"firstName": "Новая", "email": "new@example.ru"})})
    assert created.status_code == 201
    new_id = created.json()["id"]
    start = len(emulator.journal)

    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    calls = emulator.journal[start:]
    lists = [c for c in calls if c["path"] in ("/api/v5/customers", "/api/v5/orders", "/api/v5/customers-corporate")]
    assert any(c["path"].endswith("/history") and "filter[sinceId]" in c["query"] for c in calls)
    assert lists and all("filter[ids][]" in c["query"] or "filter[lastWebVisitFrom]" in c["query"] for c in lists), \
        "no full page-through after the first run"
    reread = {int(i) for c in lists if c["path"] == "/api/v5/customers" for i in c["query"].get("filter[ids][]", [])}
    assert reread == {cid, new_id}, "only changed and new customers are re-read; the deleted one comes from its snapshot"

    row = _q(tmp_path, "select email, email_marketing_unsubscribed_at, subscribed, is_deleted from raw_retailcrm.customers where id = ?", cid)
    assert row[0][0] == "Changed.Address@Example.ru" and row[0][1] is not None and row[0][2] is False and row[0][3] is False
    assert _q(tmp_path, "select is_deleted, deleted_at is not null from raw_retailcrm.customers where id = ?", gone) == [(True, True)]
    assert _q(tmp_path, "select status, json_type(payments) from raw_retailcrm.orders where id = ?", oid) == [("complete", "OBJECT")]
    assert _q(tmp_path, "select count(*), count(distinct id) from raw_retailcrm.customers")[0] == (n_customers + 1,) * 2
    assert _q(tmp_path, "select first_name, is_deleted from raw_retailcrm.customers where id = ?", new_id) == [("Новая", False)]
    assert _q(tmp_path, "select count(*) from raw_retailcrm.orders")[0][0] == n_orders
    fields = {f for (f,) in _q(tmp_path, "select field from raw_retailcrm.customers_history where cast(customer->>'$.id' as bigint) = ?", cid)}
    assert {"email", "email_marketing_unsubscribed_at"} <= fields
    assert _q(tmp_path, "select count(*) from raw_retailcrm.orders_history where field = 'payments' and payment is not null")[0][0] == 1

    _run_dbt_staging(tmp_path / "w.duckdb", tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        email, unsub_at = con.execute("select email, email_marketing_unsubscribed_at from staging.stg_retailcrm__customers "
                                      "where customer_record_id = ?", [str(cid)]).fetchone()
        assert email == "changed.address@example.ru" and unsub_at is not None
        assert con.execute("select is_subscribed from staging.stg_retailcrm__customer_subscriptions where customer_record_id = ? and channel = 'email'",
                           [str(cid)]).fetchall() == [(False,)]
        assert con.execute("select is_deleted from staging.stg_retailcrm__customers where customer_record_id = ?",
                           [str(gone)]).fetchone() == (True,)
        assert con.execute("select count(*) from staging.stg_retailcrm__order_payments where order_id = ?", [str(oid)]).fetchone() == (1,)
        changes = con.execute("select field, new_value from staging.stg_retailcrm__customer_history where customer_record_id = ? "
                              "order by history_id", [str(cid)]).fetchall()
        assert ("email", '"Changed.Address@Example.ru"') in [(f, str(v)) for f, v in changes]


def test_killed_mid_run_then_rerun_loses_and_duplicates_nothing(crm, tmp_path):
    emulator, url = crm
    pipeline = _pipeline(tmp_path)
    emulator.faults.fail_request_number = 25  # dies inside the first full load
    with pytest.raises(Exception) as info:
        pipeline.run(retailcrm_source(base_url=url, api_key="demo-key", http_attempts=1))
    assert "HTTP 500" in str(info.value)
    assert any(e["path"] == "/api/v5/customers" and e["status"] == 200 for e in emulator.journal), "died mid-way"
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    for table, frame in (("customers", emulator.customers), ("orders", emulator.orders)):
        assert _q(tmp_path, f"select count(*), count(distinct id) from raw_retailcrm.{table}")[0] == (len(frame), len(frame))

    # Changes, then an incremental run that dies after reading the journal: the rerun repeats it.
    ids = [int(i) for i in emulator.customers["id"].iloc[10:14]]
    for k, cid in enumerate(ids):
        _edit(url, "customers", cid, "customer", {"firstName": f"Имя{k}"})
    journal_before = emulator.history["customers"].last_id - len(ids)
    emulator.faults.fail_request_number = 3  # the journal is read, the re-read of the changed ones breaks
    with pytest.raises(Exception):
        pipeline.run(retailcrm_source(base_url=url, api_key="demo-key", http_attempts=1))
    assert _q(tmp_path, "select count(*) from raw_retailcrm.customers where first_name like 'Имя%'")[0][0] == 0
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    names = dict(_q(tmp_path, f"select id, first_name from raw_retailcrm.customers where id in ({','.join(map(str, ids))})"))
    assert names == {cid: f"Имя{k}" for k, cid in enumerate(ids)}
    assert _q(tmp_path, "select count(*), count(distinct id) from raw_retailcrm.customers_history")[0] == (len(ids), len(ids))
    assert _q(tmp_path, "select min(id) from raw_retailcrm.customers_history")[0][0] == journal_before + 1
    assert _q(tmp_path, "select count(*), count(distinct id) from raw_retailcrm.customers")[0] == (len(emulator.customers),) * 2


def test_an_account_that_cannot_be_reached_or_answers_garbage_fails_in_one_line_without_the_key(crm, tmp_path):
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(retailcrm_source(base_url="http://127.0.0.1:9", api_key="S3cret-Key", http_attempts=1))
    error = connector_error(info.value)
    assert str(error) == "RetailCRM GET /customers/history: ConnectionError reaching http://127.0.0.1:9/api/v5"

    emulator, url = crm
    emulator.faults.garbage_next = 3  # more than the attempts: every answer to the first call is cut
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(retailcrm_source(base_url=url, api_key="demo-key", http_attempts=3))
    error = connector_error(info.value)
    assert "answer is not JSON (HTTP 200) after 3 attempt(s)" in str(error) and "demo-key" not in str(error)
    assert [e["status"] for e in emulator.journal] == [200] * 3


class FixtureCRM(Emulator):
    """Serves the recorded history pages: the first call (by startDate) gets the fixture, later
    calls (by sinceId past it) an empty page, like a journal that has nothing newer."""

    name = "retailcrm-fixtures"
    PAGES = {"/api/v5/customers/history": "customers_history_page1.json",
             "/api/v5/orders/history": "orders_history_page1.json",
             "/api/v5/customers-corporate/history": "customers_corporate_history_page1.json"}

    def route(self, req: Request) -> Response:
        body = json.loads((FIXTURES / self.PAGES[req.path]).read_text(encoding="utf-8"))
        if "filter[startDate]" not in req.query:
            body = {**body, "history": [], "pagination": {**body["pagination"], "totalCount": 0, "totalPageCount": 0}}
        return Response.json(200, body)


def test_real_history_fixtures_parse_and_load(tmp_path):
    fixtures = {name: json.loads((FIXTURES / f).read_text(encoding="utf-8"))["history"] for name, f in
                {"customers": "customers_history_page1.json", "orders": "orders_history_page1.json",
                 "corporate": "customers_corporate_history_page1.json"}.items()}
    for name, ref in (("customers", "customer"), ("orders", "order"), ("corporate", "customer")):
        assert all(invalid_item(item, ref) is None for item in fixtures[name]), name
    touched = Touched()
    for item in fixtures["customers"]:
        touched.add(item, "customer")
    deleted = {i["customer"]["id"] for i in fixtures["customers"] if i.get("deleted")}
    assert set(touched.deleted) == deleted and not deleted & set(touched.changed)
    assert all(snap["id"] == cid for cid, (snap, _) in touched.deleted.items())
    row = history_row(next(i for i in fixtures["orders"] if i["field"] == "status" and i["oldValue"]))
    assert json.loads(row["newValue"])["code"] and json.loads(row["oldValue"])["code"]

    # payments: keyed by id on /orders, listed in history snapshots, alone on payments.* items
    order = json.loads((FIXTURES / "order_get.json").read_text(encoding="utf-8"))["order"]
    assert [p["id"] for p in payments_list(order["payments"])] == [int(k) for k in order["payments"]]
    listed = [i["order"]["payments"] for i in fixtures["orders"] if i.get("created") and i["order"].get("payments")]
    assert listed and all(payments_list(p) == p for p in listed)
    single = next(i["payment"] for i in fixtures["orders"] if i["field"] == "payments.status")
    assert payments_list(single) == [single] and payments_list({}) == []

    # The same pages through the real connector, over HTTP, into DuckDB.
    server, url = FixtureCRM().serve_in_thread()
    try:
        source = retailcrm_source(base_url=url, api_key="k", history_start_date="2018-01-01 00:00:00")
        _pipeline(tmp_path).run(source.with_resources("customers_history", "orders_history", "customers_corporate_history"))
    finally:
        server.shutdown()
    for table, name in (("customers_history", "customers"), ("orders_history", "orders"), ("customers_corporate_history", "corporate")):
        assert _q(tmp_path, f"select count(*), count(distinct id) from raw_retailcrm.{table}")[0] == (len(fixtures[name]),) * 2
        columns = [c for (c,) in _q(tmp_path, "select column_name from information_schema.columns where table_name = ?", table)]
        assert not [c for c in columns if "__v_" in c], "polymorphic old/new values stay in one column"
    assert _q(tmp_path, "select count(*) from raw_retailcrm.customers_history where deleted")[0][0] == len(
        [i for i in fixtures["customers"] if i.get("deleted")])
    assert _q(tmp_path, "select count(*) from raw_retailcrm.orders_history where created and json_type(\"order\"->'$.payments') = 'ARRAY'")[0][0] == len(listed)
    contact = _q(tmp_path, "select customer_contact->>'$.customer.id' from raw_retailcrm.customers_corporate_history where field = 'contact'")
    assert contact == [("5042",)]


class BrokenJournal(FixtureCRM):
    """The recorded customers journal with one item that names no customer."""

    def route(self, req: Request) -> Response:
        resp = super().route(req)
        body = json.loads(resp.body)
        if body["history"]:
            del body["history"][2]["customer"]
        return Response.json(200, body)


def test_history_item_without_a_record_id_is_quarantined_and_the_rest_load(tmp_path):
    server, url = BrokenJournal().serve_in_thread()
    try:
        source = retailcrm_source(base_url=url, api_key="k", history_start_date="2018-01-01 00:00:00")
        _pipeline(tmp_path).run(source.with_resources("customers_history", "quarantine"))
    finally:
        server.shutdown()
    recorded = json.loads((FIXTURES / "customers_history_page1.json").read_text(encoding="utf-8"))["history"]
    assert _q(tmp_path, "select count(*) from raw_retailcrm.customers_history")[0][0] == len(recorded) - 1
    rows = _q(tmp_path, "select source, position, reason, payload from raw_retailcrm.quarantine")
    assert len(rows) == 1
    source_system, position, reason, payload = rows[0]
    assert source_system == "retailcrm" and position.startswith("/customers/history") and "item 2" in position
    assert reason == "history item names no customer id" and json.loads(payload)["id"] == recorded[2]["id"]


def test_corporate_customers_load_with_their_contact_persons(crm, tmp_path, demo_data):
    emulator, url = crm
    expected = json.loads((demo_data / "retailcrm" / "customers_corporate.json").read_text(encoding="utf-8"))
    _pipeline(tmp_path).run(retailcrm_source(base_url=url, api_key="demo-key").with_resources("customers", "customers_corporate"))
    rows = dict(_q(tmp_path, "select id, customer_contacts from raw_retailcrm.customers_corporate"))
    assert set(rows) == {c["id"] for c in expected}
    for corp in expected:
        loaded = {c["customer"]["id"] for c in json.loads(rows[corp["id"]])}
        assert loaded == {c["customer"]["id"] for c in corp["customerContacts"]}
    known = {i for (i,) in _q(tmp_path, "select id from raw_retailcrm.customers")}
    assert {c["customer"]["id"] for corp in expected for c in corp["customerContacts"]} <= known


def test_carts_of_recent_visitors_load_and_follow_up_on_open_ones(crm, tmp_path, demo_data):
    emulator, url = crm
    carts = pd.read_parquet(demo_data / "retailcrm" / "carts.parquet")
    pipeline = _pipeline(tmp_path)
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key").with_resources("carts"))
    loaded = dict(_q(tmp_path, "select external_id, customer_id from raw_retailcrm.carts"))
    assert loaded == dict(zip(carts["cart_id"], carts["customer_id"]))
    ordered = carts[carts["order_id"] > 0]
    got = dict(_q(tmp_path, "select external_id, cast(\"order\"->>'$.id' as bigint) from raw_retailcrm.carts where \"order\" is not null"))
    assert got == dict(zip(ordered["cart_id"], ordered["order_id"])) and len(ordered) > 0
    assert {int(i) for i in ordered["order_id"]} <= set(emulator.orders["id"].astype(int)), "the cart's order exists"

    # Two days on, the daily run reads every open cart again (nothing moved). Then the back office
    # clears one open cart with an order (no visit to the site) and a new visitor fills one. The
    # run an hour later reads the visitors' carts only: it sees the new cart, not the cleared one.
    # The next day's run reads every open cart again and sees the clear.
    emulator.clock.advance(timedelta(days=2))
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key").with_resources("carts"))
    still_open = carts[carts["cleared_at"].isna() & (carts["order_id"] < 0)]
    assert len(still_open) > 3
    open_cart = still_open.iloc[0]
    s = _api(url)
    new_order = int(emulator.orders["id"].iloc[0])
    assert s.post(f"{url}/api/v5/customer-interaction/linzy-shop/cart/clear",
                  data={"cart": json.dumps({"customer": {"id": int(open_cart["customer_id"])}, "order": {"id": new_order}})}).ok
    newcomer = int(emulator.customers.loc[~emulator.customers["id"].isin(carts["customer_id"]), "id"].iloc[0])
    assert s.post(f"{url}/api/v5/customer-interaction/linzy-shop/cart/set",
                  data={"cart": json.dumps({"externalId": "cart-new-1", "customer": {"id": newcomer},
                                            "items": [{"offer": {"externalId": "AC1D-30", "name": "x"}, "quantity": 2, "price": 2190}]})}).ok

    def run_an_hour_later() -> set[int]:
        """Whose carts the run asked for."""
        emulator.clock.advance(timedelta(hours=1))
        asked = len(emulator.journal)
        pipeline.run(retailcrm_source(base_url=url, api_key="demo-key").with_resources("carts"))
        return {int(e["path"].rsplit("/", 1)[-1]) for e in emulator.journal[asked:] if "/cart/" in e["path"]}

    def cart(external_id):
        return _q(tmp_path, "select cast(\"order\"->>'$.id' as bigint), cleared_at is not null from raw_retailcrm.carts "
                            "where external_id = ?", external_id)

    asked = run_an_hour_later()
    assert asked == {newcomer}
    assert _q(tmp_path, "select customer_id from raw_retailcrm.carts where external_id = 'cart-new-1'") == [(newcomer,)]
    assert cart(open_cart["cart_id"]) == [(None, False)]

    emulator.clock.advance(timedelta(hours=19))
    asked = run_an_hour_later()
    assert set(still_open["customer_id"].astype(int)) <= asked
    assert cart(open_cart["cart_id"]) == [(new_order, True)]
    assert _q(tmp_path, "select count(*), count(distinct external_id) from raw_retailcrm.carts")[0] == (len(carts) + 1,) * 2
    # Every open cart was read again; only the one that moved was loaded.
    last = _q(tmp_path, "select max(_dlt_load_id) from raw_retailcrm.carts")[0][0]
    assert {i for (i,) in _q(tmp_path, "select external_id from raw_retailcrm.carts where _dlt_load_id = ?", last)} \
        == {open_cart["cart_id"]}


def test_pages_and_carts_are_asked_for_two_at_a_time_and_each_once(crm, tmp_path, demo_data):
    """Every answer is delayed by 0.1 s, as a network would: one request after another, answers
    would be at least that far apart; with the next page or cart asked for while one is read, some
    arrive together. Each page and each cart is still asked for exactly once and all rows land."""
    emulator, url = crm
    emulator.faults.slow_ms = 100
    pipeline = _pipeline(tmp_path)
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key").with_resources("customers", "carts"))
    emulator.faults.slow_ms = 0

    listed = [e for e in emulator.journal if e["path"] == "/api/v5/customers" and "filter[lastWebVisitFrom]" not in e["query"]]
    pages_asked = sorted(int(e["query"]["page"]) for e in listed)
    assert len(pages_asked) > 3 and pages_asked == list(range(1, len(pages_asked) + 1))
    at = sorted(e["at"] for e in listed)
    assert min(b - a for a, b in zip(at, at[1:])) < 0.05
    assert _q(tmp_path, "select count(*), count(distinct id) from raw_retailcrm.customers")[0] == (len(emulator.customers),) * 2

    cart_reads = [e["path"] for e in emulator.journal if "/cart/" in e["path"]]
    assert len(cart_reads) == len(set(cart_reads)) > 3
    carts = pd.read_parquet(demo_data / "retailcrm" / "carts.parquet")
    assert dict(_q(tmp_path, "select external_id, customer_id from raw_retailcrm.carts")) == dict(zip(carts["cart_id"], carts["customer_id"]))
