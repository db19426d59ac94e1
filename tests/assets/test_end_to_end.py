"""The whole chain at small scale in a temporary folder: emulators and S3 as real processes over
loopback, the real DuckDB file, the daily job in-process. Asserts outcomes, not mechanics."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import dagster as dg
import duckdb
import pandas as pd
import pytest
import requests

from cdp.identity_quality import measure
from demo.pipeline import materialize_all
from demo.stack import environment, running_stack


@pytest.fixture(scope="module")
def run(demo_data, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    with running_stack(demo_data) as env:
        env = {**env, "CDP_DUCKDB_PATH": str(warehouse)}
        with environment(env):
            result = materialize_all(env)
            assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
            yield {"env": env, "warehouse": warehouse, "data": demo_data, "result": result}


def _q(run, sql, *params):
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _unisender_members(run) -> set[str]:
    base = run["env"]["UNISENDER_BASE_URL"]
    lists = requests.get(f"{base}/_emulator/lists", timeout=10).json()
    target = next(item for item in lists if item["title"] == "CDP: реактивация")
    return set(requests.get(f"{base}/_emulator/lists/{target['id']}/members", timeout=10).json())


def test_known_cross_source_duplicate_is_one_customer(run):
    truth = pd.read_csv(run["data"] / "ground_truth" / "identity.csv", dtype=str)
    crm = pd.read_parquet(run["data"] / "retailcrm" / "customers.parquet")
    crm = crm[crm["email"].str.strip() != ""]
    uni = truth[truth.source_system == "unisender"]
    crm_truth = truth[truth.source_system == "retailcrm"].merge(crm.assign(source_record_id=crm["id"].astype(str)), on="source_record_id")
    # A person whose CRM e-mail is written differently (case/spaces) from the mailing tool's copy.
    pair = crm_truth[crm_truth["email"] != crm_truth["email"].str.strip().str.lower()].merge(uni, on="person_id", suffixes=("_crm", "_esp")).iloc[0]
    ids = _q(run, "select distinct customer_id from marts.customer_identity_map where record_key in (?, ?)",
             f"retailcrm:{pair['source_record_id_crm']}", f"unisender:{pair['source_record_id_esp']}")
    assert len(ids) == 1


def test_identity_is_mostly_right_against_ground_truth(run):
    quarantined = _q(run, "select count(*) from marts.quarantine_rows where source_system = 'spreadsheets'")[0][0]
    # A buyer named only by orders (here: a till receipt's card whose loyalty row was quarantined)
    # is a customer the generator's ground truth does not list.
    order_only = _q(run, "select count(*) from intermediate.int_source_records_unioned where is_order_only")[0][0]
    q = measure(run["warehouse"], run["data"] / "ground_truth" / "identity.csv")
    assert q.unmatched_records == quarantined + order_only, "every record resolved except the quarantined ones"
    assert q.customers < q.records, "duplicates were merged"
    assert q.precision > 0.99 and q.recall > 0.95, q  # the quality command reports the figures at scale


def test_customer_ids_survive_a_rebuilt_warehouse_and_new_records(run, tmp_path):
    """The id registry is state: a new warehouse file (same state folder) gives every record its
    old id back, and records arriving later join the people they belong to without renumbering."""
    before = dict(_q(run, "select record_key, customer_id from marts.customer_identity_map"))
    rebuilt = tmp_path / "rebuilt.duckdb"
    state_dir = run["warehouse"].parent / "state"
    with duckdb.connect(str(rebuilt)) as con:  # the raw layer only, as if reloaded from the sources
        con.execute(f"attach '{run['warehouse']}' as old (read_only)")
        for (schema,) in con.execute("select distinct schema_name from duckdb_schemas() where database_name = 'old' and schema_name like 'raw_%'").fetchall():
            con.execute(f"create schema {schema}")
            for (table,) in con.execute(f"select table_name from duckdb_tables() where database_name = 'old' and schema_name = '{schema}'").fetchall():
                con.execute(f"create table {schema}.{table} as select * from old.{schema}.{table}")
        # New records arrive: a second CRM record for an existing person (same e-mail, new id),
        # and one brand-new person.
        known = con.execute("select id, email from raw_retailcrm.customers where email like '%@%' order by id limit 1").fetchone()
        con.execute("create temp table _new as select * from raw_retailcrm.customers where id = ?", [known[0]])
        con.execute("update _new set id = 99999991, phones = '[]', external_id = null, custom_fields = null")
        con.execute("insert into raw_retailcrm.customers by name select * from _new")
        con.execute("update _new set id = 99999992, email = 'brand.new.person@example.org'")
        con.execute("insert into raw_retailcrm.customers by name select * from _new")
        con.execute("detach old")
    env = {**run["env"], "CDP_DUCKDB_PATH": str(rebuilt), "CDP_STATE_DIR": str(state_dir)}
    # By hand, as the README says: dbt with the same business settings (--vars) as the pipeline.
    built = subprocess.run([sys.executable, "-m", "cdp.dbt_cli", "build", "--select", "+customer_identity_map", "+customer_id_history",
                            "--exclude", "resource_type:unit_test", "--indirect-selection", "cautious", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project",
                            "--target-path", str(tmp_path / "target")],
                           env={**os.environ, **env}, cwd=Path(__file__).parents[2], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(str(rebuilt), read_only=True) as con:
        after = dict(con.execute("select record_key, customer_id from marts.customer_identity_map").fetchall())
        events = con.execute("select event_kind, count(*) from marts.customer_id_history group by 1").fetchall()
    assert {k: after[k] for k in before} == before, "no one was renumbered"
    assert after["retailcrm:99999991"] == before[f"retailcrm:{known[0]}"], "a new record joins its person's id"
    assert after["retailcrm:99999992"] not in set(before.values())
    assert dict(events)["created"] == len(set(after.values())), "one created event per person, none repeated"


def test_unsubscribed_in_email_platform_was_not_synced(run):
    revoked = set(pd.read_csv(run["data"] / "ground_truth" / "email_revoked.csv")["email"])
    segment_emails = {e for (e,) in _q(run, "select email from segments.seg_reactivation where email is not null")}
    assert revoked & segment_emails, "the segment does contain people who unsubscribed, so the gate had work to do"
    assert not (revoked & _unisender_members(run))
    env = run["env"]
    s3 = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    body = s3.get_object(Bucket=env["S3_AUDIENCE_BUCKET"], Key="audiences/reactivation/audience.csv")["Body"].read().decode()
    assert not (revoked & set(body.splitlines()[1:]) ) and not any(line.split(",")[1] in revoked for line in body.splitlines()[1:])


def test_segment_audience_and_synced_counts_agree(run):
    audience = _q(run, "select count(*) from activation.audience__unisender__seg_reactivation")[0][0]
    sent = _q(run, "select count(*) from activation.sync_state where destination = 'unisender' and segment = 'seg_reactivation' and status = 'sent'")[0][0]
    assert audience > 0 and sent == audience == len(_unisender_members(run))
    env = run["env"]
    s3 = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    manifest = json.loads(s3.get_object(Bucket=env["S3_AUDIENCE_BUCKET"], Key="audiences/reactivation/manifest.json")["Body"].read())
    assert manifest["rows"] == _q(run, "select count(*) from activation.audience__s3_file__seg_reactivation")[0][0]


def test_quarantine_reports_broken_spreadsheet_lines(run):
    meta = json.loads((run["data"] / "ground_truth" / "meta.json").read_text())
    rows = _q(run, "select position, reason from marts.quarantine_rows where source_system = 'spreadsheets'")
    assert len(rows) == meta["spreadsheet_broken_lines"]
    assert all(pos.startswith("loyalty_members.csv line ") and reason for pos, reason in rows)


def test_second_run_sends_nothing_new_and_gate_blocks_a_bad_audience(run, monkeypatch):
    from assets.activate import audience as audience_mod
    from orchestration.definitions import build_definitions

    batches_before = _q(run, "select count(*) from activation.sync_batches")[0][0]
    members_before = _unisender_members(run)
    with environment(run["env"]):
        defs = build_definitions()
        selection = dg.AssetSelection.groups("activate")
        job = dg.define_asset_job("activate_only", selection=selection).resolve(asset_graph=defs.resolve_asset_graph())
        with dg.DagsterInstance.ephemeral() as instance:
            assert job.execute_in_process(instance=instance, resources=defs.resources).success
        assert _q(run, "select count(*) from activation.sync_batches")[0][0] == batches_before, "idempotent: nothing resent"

        # A bug that forgets the consent join must be stopped by the blocking check.
        def leaky_build(con, dest):
            con.execute(f"create or replace table {dest.audience_table} as select customer_id, email as identifier, given_name, "
                        f"email as address from segments.{dest.segment} where email is not null")
            return {"audience": con.execute(f"select count(*) from {dest.audience_table}").fetchone()[0]}

        monkeypatch.setattr(audience_mod, "build", leaky_build)
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, resources=defs.resources, raise_on_error=False)
        checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert checks and not all(c.passed for c in checks)
        # No activation behind a failed gate ran (a segment that is empty today has nothing to leak
        # and its gate passes).
        failed = {tuple(c.asset_key.path[1:]) for c in checks if not c.passed}
        materialized = {tuple(e.asset_key.path[1:]) for e in result.all_events
                        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path[0] == "activation"}
        assert failed and not failed & materialized
    assert _unisender_members(run) == members_before


def test_every_synced_contact_has_its_consent_proof(run):
    """One query answers which consent event allowed each send, and the event really is a grant
    for that customer and channel."""
    n, with_event, with_evidence = _q(run, "select count(*), count(consent_event_id), count(consent_evidence) from activation.consent_proof")[0]
    assert n > 0 and n == with_event == with_evidence
    wrong = _q(run, """
        select count(*) from activation.consent_proof p join marts.consent_events e using (consent_event_id)
        where e.customer_id <> p.customer_id or e.channel <> p.channel or e.event_kind = 'revoked'""")[0][0]
    assert wrong == 0


def test_unsubscribe_in_unisender_after_crm_opt_in_means_no_email_consent(run):
    rows = _q(run, """
        select c.address, c.has_consent
        from marts.consent_current c
        where c.channel = 'email'
          and exists (select 1 from marts.consent_events g where g.address = c.address and g.channel = 'email'
                      and g.source_system = 'retailcrm' and g.event_kind = 'granted'
                      and g.event_at < (select max(r.event_at) from marts.consent_events r where r.address = c.address
                                        and r.channel = 'email' and r.source_system = 'unisender' and r.event_kind = 'revoked'))""")
    assert rows, "the demo data has addresses opted in in the CRM and later unsubscribed in Unisender"
    assert not any(has for _, has in rows)


def test_no_address_any_source_revoked_reaches_a_destination(run):
    """Per address: an address with a standing revocation, or a revocation later than its last
    grant, is never sent, whoever else (another record, another system) says yes. Checked against
    what the destination holds (the emulator's read-back) and what the sync state says was sent."""
    revoked = {a for (a,) in _q(run, """
        select address from marts.consent_events
        where channel = 'email'
        group by 1
        having bool_or(event_kind = 'revoked' and is_standing_revocation)
            or max(coalesce(event_at, 'infinity'::timestamp)) filter (where event_kind = 'revoked')
               >= coalesce(max(event_at) filter (where event_kind <> 'revoked'), '-infinity'::timestamp)""")}
    segment = {e for (e,) in _q(run, "select email from segments.seg_reactivation where email is not null")}
    assert revoked & segment, "the segment holds revoked addresses, so the gate had work to do"
    sent = {i for (i,) in _q(run, "select identifier from activation.sync_state where destination = 'unisender' and status = 'sent'")}
    assert sent and not (revoked & sent)
    assert not (revoked & _unisender_members(run))


def test_the_summary_shows_predicted_value_and_the_holdout_check(run, capsys):
    from cdp.summary import print_summary, summary

    s = summary(run["warehouse"], run["env"], run["data"])
    value = s["value"]
    assert "not fitted" not in value["model"]["status"], value["model"]["status"]
    assert all(x > 0 for x in value["model"]["bgnbd"].values())
    assert sum(t["customers"] for t in value["tiers"].values()) == _q(run, "select count(*) from marts.customer_value")[0][0]
    assert sum(h["customers"] for h in value["holdout_check"]) > 0
    print_summary(s, run["warehouse"])
    shown = capsys.readouterr().out
    assert "Predicted value" in shown and "holdout check" in shown
