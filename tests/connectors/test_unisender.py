"""Unisender source against the emulator over real HTTP: campaigns, per-address deliveries and
visited links, with faults, an incremental rerun, a run killed mid-way, quarantine and schema
drift; plus the activation calls the Unisender sync relies on."""

from __future__ import annotations

from datetime import datetime, timedelta

import dlt
import duckdb
import pandas as pd
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from connectors.common.cli import connector_error
from connectors.common.contracts import SchemaDrift
from connectors.common.http import AuthError
from connectors.unisender import UnisenderClient, unisender_source
from emulators.unisender import DELIVERED, UnisenderEmulator

FMT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture()
def uni(demo_data):
    emulator = UnisenderEmulator(demo_data)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


@pytest.fixture()
def files(demo_data):
    folder = demo_data / "unisender"
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("campaigns", "campaign_deliveries", "visited_links")}


def _pipeline(tmp_path):
    return dlt.pipeline("unisender_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_unisender", pipelines_dir=str(tmp_path / "p"))


def _query(tmp_path, sql):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts(tmp_path):
    return _query(tmp_path, """
        select (select count(*) from raw_unisender.campaigns), (select count(distinct id) from raw_unisender.campaigns),
               (select count(*) from raw_unisender.campaign_deliveries),
               (select count(distinct (campaign_id, email)) from raw_unisender.campaign_deliveries),
               (select count(*) from raw_unisender.visited_links),
               (select count(distinct (campaign_id, email, url)) from raw_unisender.visited_links)""")[0]


def _expected(files):
    c, d, v = (len(files[k]) for k in ("campaigns", "campaign_deliveries", "visited_links"))
    return (c, c, d, d, v, v)


def _calls(emulator, method):
    return [e["params"] for e in emulator.journal if e["path"].endswith(f"/api/{method}")]


def test_loads_campaigns_and_deliveries_through_faults(uni, tmp_path, files):
    emulator, url = uni
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    _pipeline(tmp_path).run(unisender_source(base_url=url, api_key="demo-key"))
    assert _counts(tmp_path) == _expected(files)
    assert 503 in [e["status"] for e in emulator.journal], "the 503 was served and retried"
    assert (emulator.faults.rate_limit_next, emulator.faults.garbage_next) == (0, 0)
    # Loaded rows agree with Unisender's own counters for each campaign.
    loaded = _query(tmp_path, "select campaign_id, count(*), count(*) filter (where send_result in ("
                    + ",".join(f"'{s}'" for s in DELIVERED) + ")) from raw_unisender.campaign_deliveries group by 1")
    client = UnisenderClient(url, "demo-key")
    for campaign_id, total, delivered in loaded:
        stats = client.get_campaign_common_stats(campaign_id)
        assert (stats["total"], stats["delivered"]) == (total, delivered)
    # Times are typed as UTC and match the file's text.
    first = files["campaign_deliveries"].iloc[0]
    got = _query(tmp_path, f"select strftime(timezone('UTC', last_update), '{FMT}') from "
                 f"raw_unisender.campaign_deliveries where campaign_id = {first.campaign_id} and email = '{first.email}'")
    assert got == [(first.last_update,)]


def test_rerun_asks_only_for_what_changed(uni, tmp_path, files):
    emulator, url = uni
    pipeline = _pipeline(tmp_path)
    pipeline.run(unisender_source(base_url=url, api_key="demo-key"))
    first_counts = _counts(tmp_path)

    deliveries = files["campaign_deliveries"]
    newest_update = datetime.strptime(deliveries["last_update"].max(), FMT)
    newest_start = datetime.strptime(files["campaigns"]["start_time"].max(), FMT)
    cutoff = (newest_update - timedelta(hours=1)).strftime(FMT)
    # Between runs: a late open in the oldest campaign, and a new campaign.
    oldest = emulator.campaigns[0]["id"]
    oldest_rows = emulator.campaign_deliveries(oldest)
    changed_email = next(r[0] for r in oldest_rows if r[1] == "ok_delivered")
    late = (newest_update + timedelta(hours=2)).strftime(FMT)
    emulator.put_deliveries(oldest, [[changed_email, "ok_read", late]])
    assert len(emulator.campaign_deliveries(oldest)) == len(oldest_rows), "the address's row changed in place"
    new_id = max(c["id"] for c in emulator.campaigns) + 1
    new_start = newest_update + timedelta(days=1)  # after the last run, as a real new campaign is
    recipients = [r[0] for r in oldest_rows[:25]]
    emulator.add_campaign({**emulator.campaigns[-1], "id": new_id, "status": "in_progress",
                           "start_time": new_start.strftime(FMT)},
                          [[e, "ok_delivered", (new_start + timedelta(minutes=3)).strftime(FMT)] for e in recipients])
    emulator.journal.clear()

    pipeline.run(unisender_source(base_url=url, api_key="demo-key"))

    incremental = [p for p in _calls(emulator, "getCampaigns") if "from" in p]
    assert incremental and incremental[0]["from"] == (newest_start - timedelta(days=30)).strftime(FMT)
    since = {p["changed_since"] for p in _calls(emulator, "getCampaignDeliveryStats")}
    assert since == {cutoff}, "every campaign is asked only for changes since the last run (minus the overlap)"
    analysed = {c["id"] for c in emulator.campaigns if c["status"] not in ("completed",)}
    assert {int(p["campaign_id"]) for p in _calls(emulator, "getVisitedLinks")} == analysed
    c, _, d, _, v, _ = _counts(tmp_path)
    assert (c, d, v) == (first_counts[0] + 1, first_counts[2] + len(recipients), first_counts[4])
    assert _query(tmp_path, f"select send_result from raw_unisender.campaign_deliveries where campaign_id = {oldest} "
                  f"and email = '{changed_email}'") == [("ok_read",)]
    last_load = _query(tmp_path, "select max(_dlt_load_id) from raw_unisender.campaign_deliveries")[0][0]
    reloaded = _query(tmp_path, f"select count(*) from raw_unisender.campaign_deliveries where _dlt_load_id = '{last_load}'")[0][0]
    overlap = int((deliveries["last_update"] >= cutoff).sum())
    assert reloaded == overlap + 1 + len(recipients), "only changed, new and overlapping rows were rewritten"
    assert _counts(tmp_path)[2] == _counts(tmp_path)[3], "no duplicates"


def test_run_killed_mid_way_then_rerun_loses_and_duplicates_nothing(uni, tmp_path, files):
    emulator, url = uni
    # The 12th call of about 40 breaks (one try only), whichever resource is reading then.
    emulator.faults.fail_request_number = 12
    pipeline = _pipeline(tmp_path)
    with pytest.raises(PipelineStepFailed):
        pipeline.run(unisender_source(base_url=url, api_key="demo-key", http_attempts=1))
    assert 500 in [e["status"] for e in emulator.journal]
    emulator.journal.clear()
    pipeline.run(unisender_source(base_url=url, api_key="demo-key"))
    assert all("changed_since" not in p for p in _calls(emulator, "getCampaignDeliveryStats")), \
        "the killed run did not move the cursor"
    assert _counts(tmp_path) == _expected(files)


def test_bad_rows_are_quarantined_and_the_rest_load(uni, tmp_path, files):
    emulator, url = uni
    cid = emulator.campaigns[1]["id"]
    good = len(emulator.campaign_deliveries(cid))
    emulator.put_deliveries(cid, [["", "ok_delivered", "2026-01-01 10:00:00"],
                                  ["someone@example.org", "ok_read", "yesterday"]])
    _pipeline(tmp_path).run(unisender_source(base_url=url, api_key="demo-key"))
    rows = _query(tmp_path, "select source, position, reason, payload from raw_unisender.quarantine order by position")
    assert [(r[0], r[1]) for r in rows] == [("unisender", f"getCampaignDeliveryStats campaign {cid} row {good}"),
                                            ("unisender", f"getCampaignDeliveryStats campaign {cid} row {good + 1}")]
    assert rows[0][2] == "row has no e-mail" and "last_update" in rows[1][2] and "yesterday" in rows[1][3]
    assert _counts(tmp_path) == _expected(files)


def test_a_missing_delivery_column_stops_the_run(uni, tmp_path, monkeypatch):
    emulator, url = uni
    original = emulator.get_campaign_delivery_stats

    def without_status(req):
        resp = original(req)
        return emulator.ok({"fields": ["email", "last_update"], "data": []}) if resp.status == 200 else resp

    monkeypatch.setattr(emulator, "get_campaign_delivery_stats", without_status)
    with pytest.raises(PipelineStepFailed) as info:
        _pipeline(tmp_path).run(unisender_source(base_url=url, api_key="demo-key"))
    assert "no longer returns send_result" in str(info.value)
    assert SchemaDrift.__name__ in repr(info.value.__cause__.__cause__)


def test_wrong_key_fails_at_once_naming_the_setting_to_check(uni, tmp_path):
    emulator, url = uni
    with pytest.raises(PipelineStepFailed) as info:
        _pipeline(tmp_path).run(unisender_source(base_url=url, api_key="Wr0ng-S3cret"))
    error = connector_error(info.value)
    assert isinstance(error, AuthError), repr(info.value)
    message = str(error)
    assert message.startswith(f"Unisender at {url}/ru/api/") and "refused the API key" in message
    assert "invalid_api_key: Invalid API key" in message and "check UNISENDER_API_KEY" in message
    assert "Wr0ng-S3cret" not in str(info.value)
    assert len(emulator.journal) == 1, "a refused key is not retried"
    with pytest.raises(AuthError, match="check UNISENDER_API_KEY"):  # the activation side says the same
        UnisenderClient(url, "Wr0ng-S3cret").get_lists()


def test_api_limits_and_envelope(uni):
    emulator, url = uni
    client = UnisenderClient(url, "demo-key")
    with pytest.raises(Exception) as info:
        client.call("getCampaigns", {"limit": 101})
    assert "invalid_arg" in str(info.value)
    page = client.call("getCampaigns", {"limit": 5, "offset": 10})
    assert [c["id"] for c in page] == [c["id"] for c in emulator.campaigns[10:15]]
    links = client.call("getVisitedLinks", {"campaign_id": emulator.campaigns[0]["id"], "group": 1})
    assert links["fields"] == ["email", "url", "request_time", "ip", "count"]


def test_activation_calls_still_work(uni):
    emulator, url = uni
    client = UnisenderClient(url, "demo-key")
    list_id = client.ensure_list("Сегмент: тест")
    assert client.ensure_list("Сегмент: тест") == list_id
    result = client.import_contacts(list_id, [{"email": "new.person@example.org"}, {"email": "info@example.org"}])
    assert (result["inserted"], result["invalid"]) == (1, 1)
    client.exclude(list_id, "new.person@example.org")
    client.exclude(list_id, "nobody@example.org")  # unknown contacts are not an error for a segment exit
    assert emulator.contacts.get("new.person@example.org").status != "unsubscribed"


def test_the_contact_export_is_read_in_chunks_and_a_row_without_an_email_keeps_its_line(uni, tmp_path, monkeypatch):
    """The export is read a chunk at a time (a million contacts as dicts at once stayed in the run's
    process as over a gigabyte): a row with no address is quarantined with its line in the file
    (the header is line 1) across chunk boundaries, and every other row loads."""
    import csv
    import io

    import connectors.unisender as unisender
    from connectors.unisender.client import UnisenderClient
    from connectors.unisender.settings import EXPORT_FIELDS

    emulator, url = uni
    monkeypatch.setattr(unisender, "CONTACTS_CHUNK", 2)
    addresses = ["a@example.ru", "B@Example.ru", "", "c@example.ru", "not an address", "d@example.ru", "e@example.ru"]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EXPORT_FIELDS)
    for a in addresses:
        writer.writerow([a, "active", "available", "2026-01-01 10:00:00", "1", "", ""])
    read: list[str] = []

    def export(self, list_id=None, **kwargs):
        for row in csv.DictReader(io.StringIO(text.getvalue())):
            read.append(row["email"])
            yield row

    monkeypatch.setattr(UnisenderClient, "export_contacts", export)
    _pipeline(tmp_path).run(unisender_source(base_url=url, api_key="demo-key").with_resources("contacts", "quarantine"))
    assert read == addresses  # read to its end, once
    loaded = [r[0] for r in _query(tmp_path, "select email from raw_unisender.contacts order by email")]
    assert loaded == ["a@example.ru", "b@example.ru", "c@example.ru", "d@example.ru", "e@example.ru"]
    quarantined = _query(tmp_path, "select position, reason from raw_unisender.quarantine order by position")
    assert quarantined == [("exportContacts line 4", "row has no e-mail"), ("exportContacts line 6", "row has no e-mail")]
