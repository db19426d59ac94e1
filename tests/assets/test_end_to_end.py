"""The whole chain at small scale in a temporary folder: emulators and S3 as real processes over
loopback, the real DuckDB file, the daily job in-process. Asserts outcomes, not mechanics."""

import csv
import hashlib
import io
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


REACTIVATION_LIST = "Реактивация: письмо «Мы скучаем»"


def _unisender_members(run, title: str = REACTIVATION_LIST) -> set[str]:
    base = run["env"]["UNISENDER_BASE_URL"]
    lists = requests.get(f"{base}/_emulator/lists", timeout=10).json()
    target = next(item for item in lists if item["title"] == title)
    return set(requests.get(f"{base}/_emulator/lists/{target['id']}/members", timeout=10).json())


def _s3(run):
    env = run["env"]
    return boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _s3_file(run, prefix: str) -> set[str]:
    body = _s3(run).get_object(Bucket=run["env"]["S3_AUDIENCE_BUCKET"], Key=f"{prefix}/audience.csv")["Body"].read().decode()
    return {row["identifier"] for row in csv.DictReader(io.StringIO(body))}


def _activations(run) -> list:
    from assets.activate import audiences_from_manifest, client_available
    from orchestration.dbt import ensure_manifest

    return [spec for spec in audiences_from_manifest(ensure_manifest()) if client_available(spec.destination)]


def _client(run, name: str):
    from orchestration.resources import S3Storage, destination_resource_class

    from cdp.destinations import DESTINATIONS

    env = run["env"]
    if name == "s3_file":
        return S3Storage(endpoint_url=env["S3_ENDPOINT_URL"], bucket=env["S3_AUDIENCE_BUCKET"], access_key_id="testing",
                         secret_access_key="testing", region="us-east-1").destination()
    values = {a: env.get(s.env, s.default) for a, s in DESTINATIONS[name].settings.items() if env.get(s.env, s.default)}
    return destination_resource_class(name)(**values).client()


def _held_by_destinations(run) -> dict[tuple[str, str], set[str] | None]:
    """What every destination list holds now, read back from the emulators and S3 themselves."""
    from connectors.common.destination import ListRef

    lists = {(d, s): ListRef(i, n) for d, s, i, n in _q(run, "select destination, segment, list_id, list_name from activation.destination_lists")}
    held = {}
    for spec in _activations(run):
        client = _client(run, spec.destination)
        ref = client.ensure_list(spec.list_name, spec.address_type, lists[(spec.destination, spec.segment)])
        held[(spec.destination, spec.segment)] = client.holding(ref)
    return held


def _form(identifier: str, address: str) -> str:
    kind, _, hashing = identifier.partition("_")
    if not hashing:
        return address
    value = address.strip().lower() if kind == "email" else "".join(ch for ch in address if ch.isdigit())
    return hashlib.new(hashing, value.encode()).hexdigest()


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
        # and one brand-new person (a name of their own: the same full name with nothing to
        # contradict it is evidence of the same person).
        known = con.execute("select id, email from raw_retailcrm.customers where email like '%@%' order by id limit 1").fetchone()
        con.execute("create temp table _new as select * from raw_retailcrm.customers where id = ?", [known[0]])
        con.execute("update _new set id = 99999991, phones = '[]', external_id = null, custom_fields = null")
        con.execute("insert into raw_retailcrm.customers by name select * from _new")
        con.execute("update _new set id = 99999992, email = 'brand.new.person@example.org', "
                    "last_name = 'Небывалова', first_name = 'Евпраксия', patronymic = 'Тихоновна'")
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
    assert not (revoked & _s3_file(run, "audiences/reactivation"))


def test_segment_audience_and_synced_counts_agree(run):
    audience = _q(run, "select count(*) from activation.audience__unisender__seg_reactivation")[0][0]
    sent = _q(run, "select count(*) from activation.sync_state where destination = 'unisender' and segment = 'seg_reactivation'")[0][0]
    assert audience > 0 and sent == audience == len(_unisender_members(run))
    manifest = json.loads(_s3(run).get_object(Bucket=run["env"]["S3_AUDIENCE_BUCKET"],
                                              Key="audiences/reactivation/manifest.json")["Body"].read())
    assert manifest["rows"] == _q(run, "select count(*) from activation.audience__s3_file__seg_reactivation")[0][0]


def test_quarantine_reports_broken_spreadsheet_lines(run):
    meta = json.loads((run["data"] / "ground_truth" / "meta.json").read_text())
    rows = _q(run, "select position, reason from marts.quarantine_rows where source_system = 'spreadsheets'")
    assert len(rows) == meta["spreadsheet_broken_lines"]
    assert all(pos.startswith("loyalty_members.csv line ") and reason for pos, reason in rows)


def test_every_synced_contact_has_its_consent_proof(run):
    """One query answers which consent event allowed each send, and the event really is a grant
    for that customer and channel."""
    n, with_event, with_evidence = _q(run, "select count(*), count(consent_event_id), count(consent_evidence) from activation.consent_proof")[0]
    assert n > 0 and n == with_event == with_evidence
    wrong = _q(run, """
        select count(*) from activation.consent_proof p join marts.consent_events e using (consent_event_id)
        where e.channel <> p.channel or e.event_kind = 'revoked'""")[0][0]
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


# Every way a source revokes: the mailing tools' own unsubscribes, a CRM opt-out, a spreadsheet's
# consent status (the loyalty list, an event sign-up sheet).
REVOKING_SOURCES = {"platform unsubscribe": ("unisender", "sendsay"), "CRM opt-out": ("retailcrm",),
                    "spreadsheet status": ("loyalty", "events")}


def test_no_address_revoked_in_any_way_reaches_any_destination(run):
    """Per address and channel: an address with a standing revocation, or a revocation later than
    its last grant, is never sent, whoever else says yes. Read back from every destination."""
    revoked = _q(run, """
        select channel, address, list(distinct source_system) from marts.consent_events
        group by 1, 2
        having bool_or(event_kind = 'revoked' and is_standing_revocation)
            or max(coalesce(event_at, 'infinity'::timestamp)) filter (where event_kind = 'revoked')
               >= coalesce(max(event_at) filter (where event_kind <> 'revoked'), '-infinity'::timestamp)""")
    held = _held_by_destinations(run)
    specs = {(s.destination, s.segment): s for s in _activations(run)}
    assert {d for d, _ in held} >= {"unisender", "s3_file"}
    in_segments = {a for (a,) in _q(run, " union ".join(
        f"select email from segments.{seg} union select phone from segments.{seg}" for seg in {s for _, s in held}))}
    for way, sources in REVOKING_SOURCES.items():
        planted = [(ch, a) for ch, a, by in revoked if set(by) & set(sources)]
        assert {a for _, a in planted} & in_segments, f"segment members have addresses revoked by {way}: the gate had work"
        for key, identifiers in held.items():
            spec = specs[key]
            if identifiers is None:
                continue
            outgoing = {_form(spec.identifier, a) for ch, a in planted if ch == spec.channel and ("@" in a) == (spec.address_type == "email")}
            assert not (outgoing & identifiers), f"{way}: a revoked address reached {key}"


def _activation_job(run, selection, config=None, env=None):
    from orchestration.definitions import build_definitions

    with environment(env or run["env"]):
        defs = build_definitions()
        job = dg.define_asset_job("activate_only", selection=selection, config=config).resolve(asset_graph=defs.resolve_asset_graph())
        with dg.DagsterInstance.ephemeral() as instance:
            return job.execute_in_process(instance=instance, resources=defs.resources, raise_on_error=False)


def _read_back_now(run) -> dict:
    from orchestration.definitions import build_definitions
    from orchestration.run import sync_config

    with environment(run["env"]):
        return sync_config(build_definitions(), read_back_hours=0.0)


def test_a_second_run_sends_nothing_and_an_emptied_list_is_refilled(run):
    batches_before = _q(run, "select count(*) from activation.sync_batches")[0][0]
    members = _unisender_members(run)
    assert _activation_job(run, dg.AssetSelection.key_prefixes(["activation"])).success
    resent = _q(run, "select destination, segment, action, contacts, accepted, rejected, detail from activation.sync_batches "
                     "order by finished_at offset ?", batches_before)
    assert not resent, f"idempotent: nothing resent, but {resent}"

    # Someone empties the list in Unisender and deletes the S3 file: the next read-back puts them
    # back. Within activation.read_back_hours of the last one our record of the lists is trusted;
    # a run with read_back_hours 0 (`python -m orchestration.run --activate --read-back`) reads back now.
    base = run["env"]["UNISENDER_BASE_URL"]
    (list_id,) = [i["id"] for i in requests.get(f"{base}/_emulator/lists", timeout=10).json() if i["title"] == REACTIVATION_LIST]
    requests.post(f"{base}/_emulator/lists/{list_id}/empty", timeout=10).raise_for_status()
    s3_before = _s3_file(run, "audiences/reactivation")
    _s3(run).delete_object(Bucket=run["env"]["S3_AUDIENCE_BUCKET"], Key="audiences/reactivation/audience.csv")
    assert not _unisender_members(run)
    trusted = _activation_job(run, dg.AssetSelection.key_prefixes(["activation"]))
    assert trusted.success and not _unisender_members(run)
    statuses = _q(run, "select status, read_back from activation.sync_report where run_id = ? and list_name = ? and destination = 'unisender'",
                  trusted.run_id, REACTIVATION_LIST)
    assert statuses == [("no_change", False)], statuses
    assert _activation_job(run, dg.AssetSelection.key_prefixes(["activation"]), _read_back_now(run)).success
    assert _unisender_members(run) == members
    assert _s3_file(run, "audiences/reactivation") == s3_before


def test_a_run_with_nothing_new_skips_the_build_and_still_reconciles(run):
    """Nothing was loaded since the fixture's build: the dbt step skips (every model reported
    unchanged, naming the run that built it), activation still runs against the destinations and
    sends nothing; a run tagged to rebuild builds."""
    from orchestration.build_inputs import REBUILD_TAG
    from orchestration.definitions import build_definitions

    batches_before = _q(run, "select count(*) from activation.sync_batches")[0][0]
    built_by = _q(run, "select run_id from ops.dbt_build_inputs order by built_at desc limit 1")[0][0]
    assert built_by == run["result"].run_id

    def transform_and_activate(tags=None):
        with environment(run["env"]):
            defs = build_definitions()
            job = dg.define_asset_job("transform_and_activate", selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(["raw"]))
            job = job.resolve(asset_graph=defs.resolve_asset_graph())
            with dg.DagsterInstance.ephemeral() as instance:
                return job.execute_in_process(instance=instance, resources=defs.resources, tags=tags or {})

    def materialised(result):
        return {tuple(e.asset_key.path): e.event_specific_data.materialization.metadata
                for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}

    skipped = transform_and_activate()
    assert skipped.success
    marks = materialised(skipped)
    models = {k: m for k, m in marks.items() if k[0] in {"staging", "intermediate", "marts", "segments", "audience"}}
    assert ("marts", "customer_360") in models
    assert all(m["cdp/unchanged_since_run"].value == built_by for m in models.values())
    assert any(k[0] == "activation" for k in marks), "activation did not run after a skipped build"
    assert _q(run, "select count(*) from activation.sync_batches")[0][0] == batches_before

    rebuilt = transform_and_activate({REBUILD_TAG: "always"})
    assert rebuilt.success
    rebuilt_models = {k: m for k, m in materialised(rebuilt).items() if k[0] in {"staging", "intermediate", "marts"}}
    assert ("marts", "customer_360") in rebuilt_models
    assert not any("cdp/unchanged_since_run" in m for m in rebuilt_models.values())
    assert _q(run, "select run_id from ops.dbt_build_inputs order by built_at desc limit 1")[0][0] == rebuilt.run_id


UNIONS = ["int_person_records_raw", "int_identifiers_raw", "int_consent_events_raw", "int_orders_unioned",
          "int_order_items_unioned", "int_carts_unioned", "int_campaigns_unioned", "int_message_events_unioned"]


def _run_dbt(run, warehouse: Path, args: list[str], changed_raw: list[str] | None = None, state: Path | None = None,
             cutoff: str | None = None) -> None:
    env = {**os.environ, **run["env"], "CDP_DUCKDB_PATH": str(warehouse)}
    env.pop("CDP_DBT_STALE_STAGING", None)
    env.pop("CDP_DBT_CUTOFF", None)
    if state is not None:
        env["CDP_STATE_DIR"] = str(state)
    if cutoff is not None:
        env["CDP_DBT_CUTOFF"] = cutoff
    if changed_raw is not None:
        from orchestration.build_inputs import UnchangedReads
        from orchestration.dbt import ensure_manifest

        with environment(run["env"]):
            stale = UnchangedReads(ensure_manifest(), changed_raw).stale_staging()
        env["CDP_DBT_STALE_STAGING"] = json.dumps(stale)
    done = subprocess.run([sys.executable, "-m", "cdp.dbt_cli", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]


def test_union_tables_rewrite_only_the_slices_whose_raw_tables_changed(run, tmp_path):
    """A build told which raw tables changed rewrites those systems' slices of the union tables
    and of the e-mail events, keeps the rest, and ends with the same rows as a build from scratch.
    One CRM's contact is renamed, another's deleted, a spreadsheet row and a platform's deliveries
    changed; a mark planted in an unchanged system's slice survives, one planted in a changed
    system's slice is gone, and a kept event credited to the wrong customer is put right."""
    import shutil

    incremental, scratch = tmp_path / "incremental.duckdb", tmp_path / "scratch.duckdb"
    shutil.copy(run["warehouse"], incremental)
    with duckdb.connect(str(incremental)) as con:
        renamed = con.execute("update raw_amocrm.contacts set name = 'Изменённый Контакт', first_name = null, "
                              "last_name = null where id = (select min(id) from raw_amocrm.contacts)").fetchone()[0]
        deleted = con.execute("delete from raw_bitrix24.contacts where id = (select max(id) from raw_bitrix24.contacts)").fetchone()[0]
        sheet = con.execute("update raw_spreadsheets.members set phone = '8 (912) 000-00-01' "
                            "where record_id = (select min(record_id) from raw_spreadsheets.members)").fetchone()[0]
        assert renamed == 1 and deleted == 1 and sheet == 1
        gone = con.execute("delete from raw_unisender.campaign_deliveries where email = "
                           "(select min(email) from raw_unisender.campaign_deliveries)").fetchone()[0]
        assert gone > 0
        for system in ("sendsay", "amocrm", "loyalty"):
            con.execute("insert into intermediate.int_person_records_raw (record_key, source_system, source_record_id) "
                        "values (?, ?, 'planted')", [f"{system}:planted", system])
        # A kept event row credited to the wrong customer takes its address's owner again.
        misattributed = con.execute("update marts.fct_email_events set customer_id = 'planted' where email_event_id = "
                                    "(select min(email_event_id) from marts.fct_email_events where platform = 'sendsay' "
                                    "and customer_id is not null)").fetchone()[0]
        assert misattributed == 1
        for platform in ("sendsay", "unisender"):
            con.execute("insert into marts.campaign_performance (campaign_key, platform, sent) values (?, ?, 1)",
                        [f"{platform}:planted", platform])
    shutil.copy(incremental, scratch)
    with duckdb.connect(str(scratch)) as con:
        con.execute("delete from intermediate.int_person_records_raw where source_record_id = 'planted'")
        con.execute("delete from marts.campaign_performance where campaign_key like '%:planted'")

    changed = ["raw_amocrm.contacts", "raw_bitrix24.contacts", "raw_spreadsheets.members", "raw_unisender.campaign_deliveries"]
    selection = ["--select", *UNIONS, "+int_identifier_owners", "fct_email_events", "campaign_performance"]
    _run_dbt(run, incremental, ["run", *selection], changed_raw=changed)
    _run_dbt(run, scratch, ["run", *selection, "--full-refresh"])

    with duckdb.connect(str(incremental)) as con:
        kept = {r[0] for r in con.execute("select source_system from intermediate.int_person_records_raw "
                                          "where source_record_id = 'planted'").fetchall()}
        assert kept == {"sendsay"}, "only the unchanged system's slice keeps what was there"
        con.execute("delete from intermediate.int_person_records_raw where source_record_id = 'planted'")
        kept = {r[0] for r in con.execute("select platform from marts.campaign_performance "
                                          "where campaign_key like '%:planted'").fetchall()}
        assert kept == {"sendsay"}, "campaign counts are kept for platforms whose events did not change"
        con.execute("delete from marts.campaign_performance where campaign_key like '%:planted'")
        con.execute(f"attach '{scratch}' as scratch (read_only)")
        assert not con.execute("select count(*) from marts.fct_email_events where customer_id = 'planted'").fetchone()[0]
        for table in [f"intermediate.{t}" for t in UNIONS] + ["marts.fct_email_events", "marts.campaign_performance"]:
            total = con.execute(f"select count(*) from {table}").fetchone()[0]
            differ = con.execute(f"select count(*) from ((select * from {table} except all "
                                 f"select * from scratch.{table}) union all "
                                 f"(select * from scratch.{table} except all "
                                 f"select * from {table}))").fetchone()[0]
            assert differ == 0, f"{table}: {differ} of {total} rows differ from a build from scratch"
        assert con.execute("select count(*) from intermediate.int_message_events_unioned").fetchone()[0] > 0
        names = con.execute("select count(*) from intermediate.int_person_records_raw "
                            "where source_system = 'amocrm' and full_name = 'Изменённый Контакт'").fetchone()[0]
        assert names == 1, "the renamed contact's slice was rewritten"


PAIRS_DIGEST = ("select count(*), coalesce(sum(hash(p)::hugeint), 0) "
                "from intermediate.int_identity_pairs_shared as p")


def _differ(con, table: str) -> tuple[int, int]:
    """Rows of `table` that differ from the same table in the attached `scratch`, and its rows."""
    total = con.execute(f"select count(*) from {table}").fetchone()[0]
    differ = con.execute(f"select count(*) from ((select * from {table} except all select * from scratch.{table}) "
                         f"union all (select * from scratch.{table} except all select * from {table}))").fetchone()[0]
    return differ, total


def test_identity_pairs_and_components_redo_only_where_changed_records_sit_and_end_as_from_scratch(run, tmp_path):
    """After three person records changed (a renamed contact, a spreadsheet row's phone, a deleted
    contact), int_identity_pairs_shared judges again only the pairs around them and
    int_identity_components propagates only the components they touch: a mark planted in an
    untouched pair and one in an untouched component survive. Both tables equal a build that
    judges and propagates everything (`identity_incremental: false`). A pairs table edited by hand
    since its fingerprints were kept is judged again in full."""
    import importlib.util
    import shutil

    from cdp.dbt_cli import dbt_vars
    from cdp.systems import SYSTEMS

    spec = importlib.util.spec_from_file_location(
        "components", Path(__file__).resolve().parents[2] / "dbt_project/models/intermediate/identity/int_identity_components.py")
    components = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(components)

    kept, scratch = tmp_path / "kept.duckdb", tmp_path / "scratch.duckdb"
    shutil.copy(run["warehouse"], kept)
    with duckdb.connect(str(kept)) as con:
        amocrm = con.execute("update raw_amocrm.contacts set name = 'Изменённый Контакт', first_name = null, last_name = null "
                             "where id = (select min(id) from raw_amocrm.contacts) returning 'amocrm:' || id").fetchone()[0]
        assert con.execute("update raw_spreadsheets.members set phone = '8 (912) 000-00-01' "
                           "where record_id = (select min(record_id) from raw_spreadsheets.members)").fetchone()[0] == 1
        assert con.execute("delete from raw_bitrix24.contacts where id = (select max(id) from raw_bitrix24.contacts)").fetchone()[0] == 1
    shutil.copy(kept, scratch)
    with duckdb.connect(str(kept)) as con:
        # A lone record of a system nobody changed: its component is left as it is, mark and all
        # (the kept links' digest is made to match, as if the last build had written the mark).
        planted = con.execute("select max(record_key) from intermediate.int_identity_components where record_key like 'sendsay:%' "
                              "and record_key = cluster_key and cluster_key not in (select cluster_key from "
                              "intermediate.int_identity_components where record_key <> cluster_key)").fetchone()[0]
        con.execute("update intermediate.int_identity_components set cluster_key = 'planted' where record_key = ?", [planted])
        digest = con.execute(components.DIGEST.format(table="intermediate.int_identity_components")).fetchone()
        con.execute(f"update {components.LINKS_TABLE} set records = ?, digest = ?", list(digest))
        # A pair far from every change (no record of a changed system holds an identifier either
        # record holds) keeps its verdict, mark and all; the kept digest is made to match again.
        sheets = [row[0] for row in _q(run, "select distinct source_system from intermediate.int_person_records_raw")
                  if row[0] not in SYSTEMS]
        far = con.execute("""
            with near as (
                select distinct others.record_key
                from intermediate.int_identifiers_pairable as mine
                join intermediate.int_identity_records as r using (record_key)
                join intermediate.int_identifiers_pairable as others using (identifier_type, identifier_value)
                where list_contains($systems, r.source_system) or mine.identifier_value = '+79120000001'
            )
            select record_key_a, record_key_b from intermediate.int_identity_pairs_shared
            where record_key_a not in (select record_key from near) and record_key_b not in (select record_key from near)
            order by all limit 1
        """, {"systems": ["amocrm", "bitrix24", *sheets]}).fetchone()
        assert far is not None
        con.execute("update intermediate.int_identity_pairs_shared set evidence = ['planted'] "
                    "where record_key_a = ? and record_key_b = ?", list(far))
        con.execute("update ops.identity_pair_fingerprints set pairs = ?, digest = ?", list(con.execute(PAIRS_DIGEST).fetchone()))

    selection = ["--select", "+int_identity_components"]
    _run_dbt(run, kept, ["run", *selection])
    with environment(run["env"]):
        everything = json.dumps({**dbt_vars(), "identity_incremental": False})  # a `--vars` replaces the settings'
    _run_dbt(run, scratch, ["run", *selection, "--vars", everything])

    with duckdb.connect(str(kept)) as con:
        con.execute(f"attach '{scratch}' as scratch (read_only)")
        assert con.execute("select evidence from intermediate.int_identity_pairs_shared where record_key_a = ? and record_key_b = ?",
                           list(far)).fetchone()[0] == ["planted"], "an untouched pair was judged again"
        judged = con.execute("select count(*) from intermediate.int_identity_pair_fingerprints where is_changed").fetchone()[0]
        assert 3 <= judged < 100, f"{judged} records counted as changed"
        con.execute("update intermediate.int_identity_pairs_shared as p set evidence = s.evidence "
                    "from scratch.intermediate.int_identity_pairs_shared as s "
                    "where (p.record_key_a, p.record_key_b) = (s.record_key_a, s.record_key_b) and p.evidence = ['planted']")
        differ, total = _differ(con, "intermediate.int_identity_pairs_shared")
        assert differ == 0, f"{differ} of {total} pairs differ from judging every pair"
        assert con.execute("select count(*) from intermediate.int_identity_pairs_shared where ? in (record_key_a, record_key_b)",
                           [amocrm]).fetchone()[0] == con.execute(
            "select count(*) from scratch.intermediate.int_identity_pairs_shared where ? in (record_key_a, record_key_b)",
            [amocrm]).fetchone()[0]

        assert con.execute("select cluster_key from intermediate.int_identity_components where record_key = ?",
                           [planted]).fetchone()[0] == "planted", "an untouched component was propagated again"
        con.execute("update intermediate.int_identity_components set cluster_key = record_key where record_key = ?", [planted])
        differ, total = _differ(con, "intermediate.int_identity_components")
        assert differ == 0, f"{differ} of {total} components differ from a propagation over everything"
        assert con.execute("select count(*) from intermediate.int_identity_components where record_key = ?", [amocrm]).fetchone()[0] == 1

        # Edited by hand, and the kept digest left as it was: every pair is judged again. (The
        # digest kept is of the table with the first mark, put right above: another mark.)
        con.execute("update intermediate.int_identity_pairs_shared set evidence = ['planted again'] "
                    "where record_key_a = ? and record_key_b = ?", list(far))
    _run_dbt(run, kept, ["run", "--select", "int_identity_pair_fingerprints", "int_identity_pairs_shared"])
    with duckdb.connect(str(kept)) as con:
        con.execute(f"attach '{scratch}' as scratch (read_only)")
        assert con.execute("select count(*) from intermediate.int_identity_pair_fingerprints where is_changed").fetchone()[0] == 0
        differ, total = _differ(con, "intermediate.int_identity_pairs_shared")
        assert differ == 0, f"{differ} of {total} pairs differ after a table edited by hand was judged again"


def _transform(run, warehouse: Path, tags: dict[str, str] | None = None):
    """The dbt step and its checks through Dagster (every asset but the raw loads and activation) on
    `warehouse`, its id registry in `state/` beside it: the run's result and its log messages."""
    from orchestration.definitions import build_definitions

    with environment({**run["env"], "CDP_DUCKDB_PATH": str(warehouse), "CDP_STATE_DIR": str(warehouse.parent / "state")}):
        defs = build_definitions()
        job = dg.define_asset_job("transform", selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(["raw"])
                                  - dg.AssetSelection.key_prefixes(["activation"]))
        job = job.resolve(asset_graph=defs.resolve_asset_graph())
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, resources=defs.resources, tags=tags)
            return result, [e.user_message for e in instance.all_logs(result.run_id)]


def test_a_run_after_one_crm_changed_keeps_the_other_slices_and_their_passed_tests(run, tmp_path):
    """Through Dagster, on a copy of the warehouse: one amoCRM contact changed since the last build.
    The build is told which raw table moved, runs no unit test and no test on staging data that did
    not change (they passed on the same rows and code), still runs the tests above staging, and
    rebuilds the marts."""
    import shutil

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(run["warehouse"], copy)
    state = Path(run["warehouse"]).parent / "state"
    if state.exists():
        shutil.copytree(state, tmp_path / "state")
    with duckdb.connect(str(copy)) as con:
        con.execute("update raw_amocrm.contacts set name = 'Изменённый Контакт', first_name = null, last_name = null, "
                    "_dlt_load_id = '9999999999.1' where id = (select min(id) from raw_amocrm.contacts)")
    result, messages = _transform(run, copy)
    assert result.success
    assert any("1 input(s) changed" in m and "raw_amocrm.contacts" in m for m in messages)
    assert any("union tables rewrite only the slices" in m for m in messages)
    checked = {tuple(e.event_specific_data.asset_key.path) for e in result.all_events
               if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert any(key[-1].startswith("stg_amocrm__") for key in checked), "tests on the changed system's staging ran"
    assert not any(key[-1].startswith("stg_unisender__") for key in checked), "tests on unchanged staging ran again"
    assert ("marts", "fct_email_events") in checked and ("marts", "customer_360") in checked
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_360 c join marts.customer_identity_map m using (customer_id) "
                           "where m.record_key in (select 'amocrm:' || min(id) from raw_amocrm.contacts)").fetchone()[0] == 1


def test_every_union_row_belongs_to_its_systems_slice(run):
    """What keeping slices relies on (macros/systems/union_slices.sql): a fixed system's rows carry
    its name as source_system, and the spreadsheets' rows a mapping entry's name, never a system's."""
    from cdp.settings import load_settings
    from cdp.systems import SYSTEMS

    with environment(run["env"]):
        settings = load_settings()
    entries = set(settings.source_ranks()) - set(SYSTEMS)
    assert entries, "the demo maps spreadsheet entries"
    for table in UNIONS:
        found = {r[0] for r in _q(run, f"select distinct source_system from intermediate.{table}")}
        fixed = {name for name in found if name in SYSTEMS}
        assert not {name for name in fixed if SYSTEMS[name].per_mapping_entry}, table
        assert found - fixed <= entries, f"{table}: {found - fixed - entries}"


def test_a_dry_run_reports_per_destination_and_sends_nothing(run):
    batches_before = _q(run, "select count(*) from activation.sync_batches")[0][0]
    from orchestration.definitions import build_definitions
    from orchestration.run import dry_run_config

    with environment(run["env"]):
        config = dry_run_config(build_definitions())
    result = _activation_job(run, dg.AssetSelection.key_prefixes(["activation"]), config)
    assert result.success
    planned = _q(run, "select destination, status from activation.sync_report where run_id = ?", result.run_id)
    assert planned and {s for _, s in planned} == {"planned"} and {d for d, _ in planned} >= {"unisender", "s3_file"}
    assert _q(run, "select count(*) from activation.sync_batches")[0][0] == batches_before


def test_the_summary_shows_adds_removes_and_rejections_per_destination(run):
    from cdp.summary import summary

    activation = summary(run["warehouse"])["activation"]
    assert {"unisender", "s3_file"} <= set(activation)
    for per in activation.values():
        assert {"added", "removed", "rejected", "rejected_reasons", "lists"} <= set(per)
    sent = _q(run, "select count(*) from activation.sync_log where action = 'sent' and destination = 'unisender'")[0][0]
    first_run = _q(run, "select sum(added) from activation.sync_report where destination = 'unisender' and not dry_run "
                        "group by run_id order by min(reported_at) limit 1")[0][0]
    assert first_run > 0 and sent >= first_run
    assigned = _q(run, "select count(distinct segment), count(*) filter (where is_control) from activation.segment_assignments")[0]
    assert assigned[0] >= 1 and assigned[1] > 0, "members recorded with their control flag"


def test_one_destination_down_does_not_stop_the_others(run):
    down = {**run["env"], "UNISENDER_BASE_URL": "http://127.0.0.1:9"}  # nothing listens there
    result = _activation_job(run, dg.AssetSelection.key_prefixes(["activation"]), _read_back_now(run), env=down)
    assert not result.success
    materialized = {tuple(e.asset_key.path[:2]) for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert ("activation", "s3_file") in materialized and ("activation", "unisender") not in materialized
    failed = _q(run, "select status, message from activation.sync_report where run_id = ? and destination = 'unisender'", result.run_id)
    assert failed and all(status == "failed" and "Unisender" in message for status, message in failed)


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


def test_control_group_members_never_reach_a_destination(run):
    """Issue 16: the held-back share of each segment is never synced. Checked in the sync log (no
    send to a control member) and read back from every destination that can list its members: no
    address that only control members of the segment hold is there."""
    assert _q(run, "select count(*) from activation.control_group_members")[0][0] > 0
    sent_to_control = _q(run, """
        select count(*) from activation.sync_log l
        join activation.control_group_members c on c.segment = l.segment and c.customer_id = l.customer_id
        where l.action = 'sent'""")[0][0]
    assert sent_to_control == 0
    held = _held_by_destinations(run)
    specs = {(s.destination, s.segment): s for s in _activations(run)}
    checked = 0
    for (destination, segment), identifiers in held.items():
        if identifiers is None:
            continue
        spec = specs[(destination, segment)]
        only_control = {a for (a,) in _q(run, f"""
            select address from marts.consent_current
            where channel = ? and address_type = ? and has_consent
              and customer_id in (select customer_id from activation.control_group_members where segment = ?)
            except
            select address from marts.consent_current
            where customer_id in (select customer_id from segments.{segment}
                                  except select customer_id from activation.control_group_members where segment = ?)
            """, spec.channel, spec.address_type, segment, segment)}
        checked += len(only_control)
        assert not ({_form(spec.identifier, a) for a in only_control} & identifiers), f"a control member reached {destination}"
    assert checked > 0, "some control member had a consented address the sync could have sent"


def test_the_gate_refuses_an_identifier_not_made_from_its_checked_address(run):
    """An audience whose row sends one hash but names another address (a bug in the audience SQL)
    fails the gate: it recomputes what is sent from the address it checked. Rolled back after."""
    table = "activation.audience__yandex_audience__seg_lookalike_seed"
    with duckdb.connect(str(run["warehouse"])) as con:
        assert con.execute(f"select count(*) from {table}").fetchone()[0] > 0
        assert con.execute("select count(*) from activation.consent_gate_offenders where destination = 'yandex_audience' "
                           "and segment = 'seg_lookalike_seed'").fetchone()[0] == 0
        con.begin()
        con.execute(f"update {table} set identifier = sha256('someone-else@example.ru') "
                    f"where address = (select min(address) from {table})")
        reasons = con.execute("select reason from activation.consent_gate_offenders where destination = 'yandex_audience' "
                              "and segment = 'seg_lookalike_seed'").fetchall()
        con.rollback()
    assert reasons == [("the identifier sent is not made from this address",)]


def test_zz_the_gate_blocks_a_wrong_consent_mart(run):
    """The consent mart says yes to everyone (a bug): the audiences rebuilt from it carry revoked
    addresses, the independent gate (consent events, not the mart) fails, and nothing is sent.
    Named zz_: it corrupts the warehouse, and puts it right at the end."""
    members = _unisender_members(run)
    s3_before = _s3_file(run, "audiences/reactivation")
    with duckdb.connect(str(run["warehouse"])) as con:
        # Granted once, revoked since: the mart forgets the revocation (its grant is still on file,
        # so dbt's own tests on the audiences cannot tell).
        con.execute("update marts.consent_current set has_consent = true where channel = 'email' and granting_event_id is not null")
    selection = dg.AssetSelection.key_prefixes(["audience"]) | dg.AssetSelection.key_prefixes(["activation"])
    result = _activation_job(run, selection)
    offenders = _q(run, "select count(*) from activation.consent_gate_offenders where destination = 'unisender' "
                        "and segment = 'seg_reactivation'")[0][0]
    assert offenders > 0, "the corrupted mart let revoked addresses into the audience"
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = [c for c in checks if not c.passed]
    blocked = [c for c in failed if c.asset_key.path[1:] == ["unisender", "seg_reactivation"]
               and c.check_name == "every_address_has_consent_by_the_events"]
    assert blocked and blocked[0].metadata["offenders"].value > 0
    materialized = {tuple(e.asset_key.path) for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert ("activation", "unisender", "seg_reactivation") not in materialized
    assert _unisender_members(run) == members and _s3_file(run, "audiences/reactivation") == s3_before


# Identity up to the components. Not the id registry's model and its marts: that model reads its
# registry files and is built every time, and its rows carry each record's previous id, which
# moves once more on the build after ids change, so its dependants may be built again then.
IDENTITY_CHAIN = ["int_identifiers_unioned", "int_identity_records", "int_identity_pairs_scored", "int_identity_links",
                  "int_identity_components"]


def test_a_build_keeps_the_models_whose_inputs_did_not_move_and_ends_as_from_scratch(run, tmp_path):
    """Through Dagster, on a copy of the warehouse: one completed RetailCRM order's amount changed
    since the last build. No person record moved, so the identity chain keeps its tables (dbt
    reports them KEPT, and records no new build of them), while the orders, RFM and segments are
    built again. Every table then holds the rows a build from scratch writes (`--full-refresh`
    with no early cutoff). A later `dbt run` by hand (no cutoff) withdraws the record of what it
    rebuilt, so the next build cannot keep a table on a record that no longer describes it."""
    import shutil

    from orchestration import cutoff

    kept, scratch = tmp_path / "kept" / "warehouse.duckdb", tmp_path / "scratch" / "warehouse.duckdb"
    state = Path(run["warehouse"]).parent / "state"
    kept.parent.mkdir()
    shutil.copy(run["warehouse"], kept)
    if state.exists():
        shutil.copytree(state, kept.parent / "state")

    def transform(warehouse, tags=None):
        result, messages = _transform(run, warehouse, tags)
        assert result.success
        done = [e.event_specific_data.materialization.metadata for e in result.all_events
                if e.event_type_value == "ASSET_MATERIALIZATION"]
        return messages, {m["unique_id"].value.split(".")[-1] for m in done if cutoff.KEPT_METADATA in m}

    # A build forced through on the same rows records what it built, and settles the ids: the
    # fixture's registry may hold more than its warehouse (test_customer_ids_survive_a_rebuilt_\
    # warehouse_and_new_records adds records to it). The build from scratch starts from the same
    # warehouse and registry, so the two differ only by what each build did.
    transform(kept, tags={"cdp/rebuild": "always"})
    scratch.parent.mkdir()
    shutil.copy(kept, scratch)
    shutil.copytree(kept.parent / "state", scratch.parent / "state")
    for copy in (kept, scratch):
        with duckdb.connect(str(copy)) as con:
            changed = con.execute("update raw_retailcrm.orders set total_summ = total_summ + 1000, _dlt_load_id = '9999999999.1' "
                                  "where id = (select min(id) from raw_retailcrm.orders where status = 'complete') "
                                  "returning id").fetchone()[0]
    def records(warehouse) -> dict[str, tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return {node.split(".")[-1]: (seq, content) for node, seq, content in con.execute(
                f"select node, seq, content_digest from {cutoff.TABLE} "
                "qualify row_number() over (partition by node order by seq desc) = 1").fetchall()}

    before = records(kept)
    assert before, "the fixture's build recorded what it built"

    messages, marked = transform(kept)
    assert any("model(s) kept their tables" in m for m in messages)

    after = records(kept)
    built = {node for node, (seq, _) in after.items() if before.get(node, (None,))[0] != seq}
    moved = sorted(node for node in built if before.get(node, (None, None))[1] != after[node][1])
    assert not built & set(IDENTITY_CHAIN), f"identity read no changed row, yet {built & set(IDENTITY_CHAIN)} were built; " \
        f"rebuilt with other content: {moved}"
    assert {"int_orders_unioned", "fct_orders", "rfm", "customer_360"} <= built
    assert set(IDENTITY_CHAIN) <= marked and not marked & built, "the UI marks exactly the kept models' materialisations"

    _run_dbt(run, scratch, ["run", "--full-refresh"], state=scratch.parent / "state")
    with duckdb.connect(str(kept)) as con:
        con.execute(f"attach '{scratch}' as scratch (read_only)")
        assert con.execute("select total_amount from marts.fct_orders where source_system = 'retailcrm' and source_order_id = ?",
                           [str(changed)]).fetchone() == con.execute(
            "select total_amount from scratch.marts.fct_orders where source_system = 'retailcrm' and source_order_id = ?",
            [str(changed)]).fetchone()
        # Not the run logs (value_model_runs, value_holdout_check): each row names the build that
        # wrote it, so a warehouse with more builds behind it has more rows.
        tables = [f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables t where table_catalog = 'warehouse' "
            "and table_schema in ('intermediate', 'marts', 'segments') and table_type = 'BASE TABLE' "
            "and not exists (select 1 from information_schema.columns c where c.table_catalog = t.table_catalog "
            "and c.table_schema = t.table_schema and c.table_name = t.table_name and c.column_name = 'run_id') "
            "order by 1, 2").fetchall()]
        assert len(tables) > 40
        differing = {}
        for table in tables:
            differ = con.execute(f"select count(*) from ((select * from {table} except all select * from scratch.{table}) "
                                 f"union all (select * from scratch.{table} except all select * from {table}))").fetchone()[0]
            if differ:
                differing[table] = differ
        assert differing == {}, f"tables that differ from a build from scratch (rows): {differing}"

    _run_dbt(run, kept, ["run", "--select", "int_identity_pairs_scored"], state=kept.parent / "state")
    with duckdb.connect(str(kept), read_only=True) as con:
        last = con.execute(f"select inputs_digest, content_digest from {cutoff.TABLE} where node like '%.int_identity_pairs_scored' "
                           "order by seq desc limit 1").fetchone()
    assert last == (None, None), "a build without the cutoff left a record the next build could trust"

    # The lift marts read the activation engine's tables by name, which dbt's graph does not know
    # (macros/activation/activation_table.sql): with the cutoff on they are still built every time.
    from cdp.dbt_cli import dbt_vars_json
    from cdp.settings import load_settings
    from orchestration import build_inputs
    from orchestration.dbt import ensure_manifest

    with environment({**run["env"], "CDP_DUCKDB_PATH": str(kept)}):
        settings = load_settings()
        manifest = ensure_manifest(settings)
        with duckdb.connect(str(kept)) as con:
            con.execute("insert into activation.sync_log (run_id, destination, segment, customer_id, action, status, logged_at) "
                        "values ('planted', 'unisender', 'seg_reactivation', 'cus_planted', 'add', 'sent', now())")
            on = cutoff.settings(con, manifest, build_inputs.collect_inputs(con, manifest, dbt_vars_json(settings)))
    _run_dbt(run, kept, ["run", "--select", "campaign_lift", "campaign_metrics", "fct_orders"], state=kept.parent / "state",
             cutoff=on)
    last = records(kept)
    assert last["fct_orders"][0] == after["fct_orders"][0], "fct_orders' inputs did not move, yet it was built"
    assert last["campaign_lift"][0] != after["campaign_lift"][0] and last["campaign_metrics"][0] != after["campaign_metrics"][0]


def test_the_benchmarks_profile_reruns_an_extract_into_a_scratch_warehouse(run, tmp_path):
    """`python -m demo.bench --profile` on an extract: the system's ingest again, under the profiler,
    into a scratch warehouse (the assets bring their own resources), and the run's warehouse
    named again afterwards."""
    from demo.bench.profile import profile_stage

    report = profile_stage("extract:amocrm", run["warehouse"], tmp_path / "scratch", tmp_path / "profile.txt")
    assert "run_and_report" in report.read_text(encoding="utf-8")
    with duckdb.connect(str(tmp_path / "scratch" / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute("select count(*) from raw_amocrm.contacts").fetchone()[0]
    assert loaded > 0 and loaded == _q(run, "select count(*) from raw_amocrm.contacts")[0][0]
    assert os.environ["CDP_DUCKDB_PATH"] == str(run["warehouse"])
