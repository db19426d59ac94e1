"""RetailCRM source against the emulator over real HTTP, faults included, and real clients."""

import dlt
import duckdb
import pytest
import requests

from connectors.retailcrm import retailcrm_source
from emulators.retailcrm import RetailCRMEmulator


@pytest.fixture()
def crm(demo_data):
    emulator = RetailCRMEmulator(demo_data, rate_per_second=1000)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def _pipeline(tmp_path):
    return dlt.pipeline("retailcrm_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_retailcrm", pipelines_dir=str(tmp_path / "p"))


def test_loads_everything_through_faults_and_reloads_idempotently(crm, tmp_path, demo_data):
    emulator, url = crm
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    pipeline = _pipeline(tmp_path)
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    expected = len(emulator.customers)
    assert con.execute("select count(*), count(distinct id) from raw_retailcrm.customers").fetchone() == (expected, expected)
    statuses = [entry["status"] for entry in emulator.journal]
    assert 429 in statuses and 503 in statuses, "the faults were actually served"
    con.close()
    pipeline.run(retailcrm_source(base_url=url, api_key="demo-key"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert con.execute("select count(*) from raw_retailcrm.orders").fetchone()[0] == len(emulator.orders)
    assert con.execute("select count(*) from raw_retailcrm.customers").fetchone()[0] == expected


def test_wrong_key_fails_with_the_services_message(crm, tmp_path):
    _, url = crm
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(retailcrm_source(base_url=url, api_key="wrong"))
    assert 'HTTP 403' in str(info.value) and 'Wrong "apiKey" value.' in str(info.value)


def test_envelope_paging_and_limits_match_the_real_api(crm):
    emulator, url = crm
    s = requests.Session()
    s.headers["X-API-KEY"] = "demo-key"
    body = s.get(f"{url}/api/v5/customers", params={"limit": 20, "page": 2}).json()
    assert body["success"] is True
    assert body["pagination"]["currentPage"] == 2 and body["pagination"]["limit"] == 20
    assert body["pagination"]["totalPageCount"] == -(-len(emulator.customers) // 20)
    bad = s.get(f"{url}/api/v5/customers", params={"limit": 37})
    assert bad.status_code == 400 and bad.json()["success"] is False and "limit" in bad.json()["errors"]
    order = s.get(f"{url}/api/v5/orders", params={"limit": 100}).json()["orders"][0]
    assert isinstance(order["payments"], dict), "payments is keyed by id in /orders"


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
