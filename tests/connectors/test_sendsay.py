"""Sendsay source against the emulator over real HTTP: members, issues and per-member issue
statistics through faults (REDIRECT included), a wrong key, quarantine, schema drift, an
idempotent and incremental rerun, and a run killed mid-way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dlt
import duckdb
import pandas as pd
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from connectors.common.cli import connector_error
from connectors.common.http import AuthError
from connectors.sendsay import sendsay_source
from connectors.sendsay.settings import ISSUE_LOOKBACK_DAYS
from emulators.sendsay import SendsayEmulator
from tests.connectors.extracted import extracted_formats

FMT = "%Y-%m-%d %H:%M:%S"
LOGIN = "linzy-shop"


@pytest.fixture()
def files(demo_data):
    folder = demo_data / "sendsay"
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("members", "issues", "issue_member_stats")}


@pytest.fixture()
def ss(demo_data):
    emulator = SendsayEmulator(demo_data, login=LOGIN)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def _pipeline(tmp_path):
    return dlt.pipeline("sendsay_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_sendsay", pipelines_dir=str(tmp_path / "p"))


def _source(url, **kw):
    return sendsay_source(base_url=url, login=LOGIN, api_key=kw.pop("api_key", "demo-key"), **kw)


def _query(tmp_path, sql):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts(tmp_path):
    return _query(tmp_path, """
        select (select count(*) from raw_sendsay.members), (select count(distinct member_id) from raw_sendsay.members),
               (select count(*) from raw_sendsay.issues), (select count(distinct issue_id) from raw_sendsay.issues),
               (select count(*) from raw_sendsay.issue_member_stats),
               (select count(distinct (issue_id, member_id)) from raw_sendsay.issue_member_stats)""")[0]


def _expected(files):
    m, i, s = (len(files[k]) for k in ("members", "issues", "issue_member_stats"))
    return (m, m, i, i, s, s)


def _stat_calls(emulator):
    return [e for e in emulator.journal if e.get("action") == "stat.uni"]


def _join_issue_ids(emulator):
    return sorted({int(f[2]) for e in _stat_calls(emulator) for f in e["filters"] if f[0] == "deliv.issue.id"})


def test_loads_members_and_statistics_through_faults_and_a_redirect(ss, tmp_path, files):
    emulator, url = ss
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    assert _counts(tmp_path) == _expected(files)
    # Members reach dlt as Arrow tables (not dict rows for its row normaliser), the group flags
    # still one JSON column.
    assert extracted_formats(pipeline)["members"] == {"parquet"}
    assert _query(tmp_path, "select data_type from duckdb_columns() where schema_name = 'raw_sendsay' "
                            "and table_name = 'members' and column_name = '_group'") == [("JSON",)]
    statuses = [e["status"] for e in emulator.journal]
    assert 429 in statuses and 503 in statuses
    paths = [e["path"] for e in emulator.journal]
    moved = paths.index(emulator.cluster_path)
    assert set(paths[:moved]) == {f"/general/api/v100/json/{LOGIN}"}, "calls start at the general path"
    assert set(paths[moved:]) == {emulator.cluster_path}, "after the REDIRECT every call went to the cluster path"
    # Consent state arrives as received: stop-list flag and date, list memberships.
    locked = int(files["members"]["locked"].sum())
    assert _query(tmp_path, "select count(*) from raw_sendsay.members where member_haslock = 1 and member_lockdate is not null")[0][0] == locked
    in_email = int(files["members"]["in_email_group"].sum())
    assert _query(tmp_path, "select count(*) from raw_sendsay.members where _group->>'$.pl11342' = '1'")[0][0] == in_email
    # Two stat.uni areas agree: the issue counters and the per-member rows.
    mismatched = _query(tmp_path, """
        select i.issue_id from raw_sendsay.issues i join raw_sendsay.issue_member_stats s using (issue_id)
        group by i.issue_id, i.issue_members, i.issue_deliv_ok, i.issue_unsubed
        having i.issue_members <> count(*) or i.issue_deliv_ok <> count(*) filter (where s.deliv_status = 0)
            or i.issue_unsubed <> count(s.unsub_dt)""")
    assert mismatched == []


def test_rerun_is_idempotent_and_reads_only_recent_issues(ss, tmp_path, files):
    emulator, url = ss
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    assert _join_issue_ids(emulator) == sorted(files["issues"]["id"].tolist())
    emulator.journal.clear()

    pipeline.run(_source(url))
    assert _counts(tmp_path) == _expected(files)
    assert _join_issue_ids(emulator) == [], "issues older than 30 days are final after one read"
    since = (datetime.strptime(files["issues"]["dt"].max(), FMT) - timedelta(days=ISSUE_LOOKBACK_DAYS)).strftime(FMT)
    assert ["issue.dt:Ys", ">=", since] in [f for e in _stat_calls(emulator) for f in e["filters"]]

    # A new issue, sent two days ago, appears between runs.
    issues = files["issues"].to_dict("records")
    stats = files["issue_member_stats"].to_dict("records")
    new_id = int(files["issues"]["id"].max()) + 1
    sent = (datetime.now(timezone.utc) - timedelta(days=2)).strftime(FMT)
    issues.append({**issues[-1], "id": new_id, "dt": sent, "name": "Новая рассылка"})
    recipients = [s for s in stats if s["issue_id"] == issues[-2]["id"]][:30]
    stats += [{**s, "issue_id": new_id, "deliv_dt": sent, "first_read_dt": None, "reads": 0, "first_click_dt": None,
               "clicks": 0, "unsub_dt": None} for s in recipients]
    emulator.load_stats(issues, stats)
    emulator.journal.clear()

    pipeline.run(_source(url))
    assert _join_issue_ids(emulator) == [new_id]
    m, _, i, _, s, s_distinct = _counts(tmp_path)
    assert (i, s, s_distinct) == (len(issues), len(stats), len(stats))
    assert new_id not in pipeline.state["sources"]["sendsay"]["resources"]["issue_member_stats"]["final_issue_ids"]


def test_run_killed_mid_way_then_rerun_loses_and_duplicates_nothing(ss, tmp_path, files):
    emulator, url = ss
    emulator.faults.fail_request_number = 8  # of about 25 calls; one try only, so the run dies there
    pipeline = _pipeline(tmp_path)
    with pytest.raises(PipelineStepFailed):
        pipeline.run(_source(url, http_attempts=1))
    assert 500 in [e["status"] for e in emulator.journal]
    emulator.journal.clear()
    pipeline.run(_source(url))
    assert _join_issue_ids(emulator) == sorted(files["issues"]["id"].tolist()), "nothing was marked final by the killed run"
    assert _counts(tmp_path) == _expected(files)


def test_members_without_an_id_are_quarantined_and_the_rest_load(ss, tmp_path, files):
    emulator, url = ss
    broken = {k: v for k, v in emulator.members[3].items() if k != "member.id"}
    emulator.add_member(broken)
    _pipeline(tmp_path).run(_source(url))
    pagesize = 500
    position = f"member.list page {len(emulator.members) // pagesize + 1} item {(len(emulator.members) - 1) % pagesize}"
    rows = _query(tmp_path, "select source, position, reason, payload from raw_sendsay.quarantine")
    assert [(r[0], r[1], r[2]) for r in rows] == [("sendsay", position, "member has no integer member.id")]
    assert broken["member.email"] in rows[0][3]
    assert _counts(tmp_path) == _expected(files)


def test_a_member_without_its_consent_datakey_stops_the_run(ss, tmp_path):
    emulator, url = ss
    emulator.forget_datakey("member.haslock")
    with pytest.raises(PipelineStepFailed) as info:
        _pipeline(tmp_path).run(_source(url))
    assert "no longer returns member.haslock" in str(info.value)


def test_wrong_key_fails_at_once_naming_the_account_and_the_settings_to_check(ss, tmp_path):
    emulator, url = ss
    with pytest.raises(PipelineStepFailed) as info:
        _pipeline(tmp_path).run(_source(url, api_key="Wr0ng-S3cret"))
    error = connector_error(info.value)
    assert isinstance(error, AuthError), repr(info.value)
    message = str(error)
    assert message.startswith(f"Sendsay at {url}{emulator.cluster_path}") and f"refused login '{LOGIN}'" in message
    assert "error/auth/failed" in message and "check SENDSAY_LOGIN / SENDSAY_API_KEY" in message
    assert "Wr0ng-S3cret" not in str(info.value)
    assert len(emulator.journal) == 2, "the REDIRECT, then the refusal: not retried"


def test_protocol_details(ss):
    emulator, url = ss
    s = requests.Session()
    general = f"{url}/general/api/v100/json/{LOGIN}"
    assert s.post(general, json={"action": "ping"}).json() == {"REDIRECT": emulator.cluster_path}
    cluster = url + emulator.cluster_path
    header = {"Authorization": "sendsay apikey=demo-key"}
    assert s.post(cluster, json={"action": "ping", "apikey": "demo-key"}).json()["pong"] == 1
    bad = s.post(cluster, json={"action": "member.list", "pagesize": 5000}, headers=header)
    assert bad.status_code == 200 and bad.json()["errors"][0]["id"] == "error/param/invalid"
    mixed = s.post(cluster, json={"action": "stat.uni", "select": ["deliv.member.id", "read.dt"]}, headers=header).json()
    assert "errors" in mixed, "one stat.uni query reads one area"
    page = s.post(cluster, json={"action": "stat.uni", "select": ["issue.id"], "order": ["issue.id"], "skip": 2, "first": 3},
                  headers=header).json()["list"]
    assert [r[0] for r in page] == sorted(i["id"] for i in emulator.issues)[2:5]
    emulator.limiter.limit = 1
    codes = [s.post(cluster, json={"action": "ping"}, headers=header).status_code for _ in range(3)]
    assert 429 in codes
