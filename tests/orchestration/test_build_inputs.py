"""The fingerprint that lets a run with nothing new skip `dbt build`: it must move with every input
the models read, and only with them."""

import datetime as dt
import json

import duckdb
import pytest

from orchestration import build_inputs

VARS = json.dumps({"business_timezone": "Asia/Yekaterinburg", "rfm_as_of": None})
NOON_UTC = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)


def _manifest(checksum="1", macro="select 1", materialized="table", test_checksum="t"):
    return {
        "metadata": {"project_name": "cdp"},
        "nodes": {"model.cdp.a": {"resource_type": "model", "checksum": {"checksum": checksum},
                                  "config": {"materialized": materialized}},
                  "test.cdp.t": {"resource_type": "test", "checksum": {"checksum": test_checksum}}},
        "macros": {"macro.cdp.m": {"package_name": "cdp", "macro_sql": macro},
                   "macro.dbt.x": {"package_name": "dbt", "macro_sql": "whatever"}},
    }


@pytest.fixture
def setup(tmp_path, monkeypatch):
    project_file = tmp_path / "dbt_project.yml"
    project_file.write_text("vars:\n  identity_match_threshold: 0.9\n")
    monkeypatch.setattr(build_inputs, "_PROJECT_FILE", project_file)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest()))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw_crm")
    con.execute("create table raw_crm.customers (id int, _dlt_load_id varchar, _dlt_id varchar)")
    con.execute("insert into raw_crm.customers values (1, '1700000000.1', 'a'), (2, '1700000000.1', 'b')")
    con.execute("create table raw_crm._dlt_pipeline_state (version int, _dlt_load_id varchar)")
    yield con, manifest
    con.close()


def _fp(con, manifest, vars_json=VARS, now=NOON_UTC):
    return build_inputs.fingerprint(con, manifest, vars_json, now)


def test_same_inputs_same_fingerprint(setup):
    con, manifest = setup
    assert _fp(con, manifest) == _fp(con, manifest)


def test_a_changed_value_a_new_row_or_a_deleted_row_changes_it(setup):
    con, manifest = setup
    before = _fp(con, manifest)
    con.execute("update raw_crm.customers set id = 3, _dlt_load_id = '1700000500.2' where id = 2")  # dlt merges a change
    changed = _fp(con, manifest)
    con.execute("insert into raw_crm.customers values (4, '1700000600.1', 'd')")
    added = _fp(con, manifest)
    con.execute("delete from raw_crm.customers where id = 1")
    deleted = _fp(con, manifest)
    assert len({before, changed, added, deleted}) == 4


def test_the_same_rows_merged_again_under_a_new_load_do_not_change_it(setup):
    """A source that re-reads a look-back window merges identical rows with new dlt ids."""
    con, manifest = setup
    before = _fp(con, manifest)
    con.execute("update raw_crm.customers set _dlt_load_id = '1700000500.2', _dlt_id = _dlt_id || 'x'")
    con.execute("create schema raw_crm_staging")  # dlt's merge staging is not an input
    con.execute("create table raw_crm_staging.customers as select * from raw_crm.customers")
    assert _fp(con, manifest) == before


def test_dlt_bookkeeping_alone_does_not_change_it(setup):
    con, manifest = setup
    before = _fp(con, manifest)
    con.execute("insert into raw_crm._dlt_pipeline_state values (2, '1700000900.3')")  # a run that loaded nothing
    assert _fp(con, manifest) == before


def test_a_model_change_a_setting_or_a_new_day_changes_it(setup, tmp_path):
    con, manifest = setup
    before = _fp(con, manifest)
    assert _fp(con, manifest, now=NOON_UTC + dt.timedelta(hours=1)) == before
    # 19:00 UTC is already tomorrow in Yekaterinburg (UTC+5): "today" moved.
    assert _fp(con, manifest, now=NOON_UTC.replace(hour=19)) != before
    assert _fp(con, manifest, vars_json=json.dumps({"business_timezone": "Asia/Yekaterinburg", "rfm_as_of": None,
                                                    "currency": "KZT"})) != before
    manifest.write_text(json.dumps(_manifest(checksum="2")))
    assert _fp(con, manifest) != before
    manifest.write_text(json.dumps(_manifest(macro="select 2")))
    assert _fp(con, manifest) != before
    manifest.write_text(json.dumps(_manifest(materialized="view")))
    assert _fp(con, manifest) != before
    manifest.write_text(json.dumps(_manifest(test_checksum="changed")))  # tests build nothing
    assert _fp(con, manifest) == before


def test_a_fixed_as_of_date_takes_the_clock_out(setup):
    con, manifest = setup
    fixed = json.dumps({"business_timezone": "Europe/Moscow", "rfm_as_of": "2026-06-30"})
    assert _fp(con, manifest, fixed) == _fp(con, manifest, fixed, now=NOON_UTC + dt.timedelta(days=3))


def test_last_built_is_the_newest_recorded_and_says_what_changed(setup):
    con, manifest = setup
    assert build_inputs.last_built(con) is None
    first = build_inputs.collect_inputs(con, manifest, VARS, NOON_UTC)
    build_inputs.record_built(con, first, "run-1")
    con.execute("insert into raw_crm.customers values (5, '1700000800.1', 'e')")
    second = build_inputs.collect_inputs(con, manifest, VARS, NOON_UTC.replace(hour=19))
    build_inputs.record_built(con, second, "run-2")
    fingerprint, run_id, inputs = build_inputs.last_built(con)
    assert (fingerprint, run_id, inputs) == (build_inputs.digest(second), "run-2", second)
    assert build_inputs.changed(first, second) == ["raw_crm.customers", "today"]


def test_a_table_loaded_without_load_ids_is_hashed_each_time(setup):
    con, manifest = setup
    con.execute("create table raw_crm.orders (id int, total decimal(18,2))")
    con.execute("insert into raw_crm.orders values (1, 10.00)")
    before = _fp(con, manifest)
    assert _fp(con, manifest) == before
    con.execute("update raw_crm.orders set total = 11.00")
    assert _fp(con, manifest) != before


def test_a_var_set_in_dbt_project_yml_changes_it(setup, tmp_path):
    """Its vars reach the SQL through var(): no model's checksum moves when one changes."""
    con, manifest = setup
    before = _fp(con, manifest)
    (tmp_path / "dbt_project.yml").write_text("vars:\n  identity_match_threshold: 0.95\n")
    assert _fp(con, manifest) != before


def test_changed_raw_tables_only_when_nothing_but_raw_tables_and_the_date_moved(setup, tmp_path):
    """The union tables may keep the slices of unchanged systems only when staging's other inputs
    (models, macros, settings, our code) are what the last build had; the calendar date is not one."""
    con, manifest = setup
    con.execute("create table raw_crm.orders (id int, _dlt_load_id varchar)")
    first = build_inputs.collect_inputs(con, manifest, VARS, NOON_UTC)
    assert build_inputs.changed_raw_tables({}, first) is None  # no build on record
    assert build_inputs.changed_raw_tables(first, first) == []

    con.execute("insert into raw_crm.orders values (1, '1700000900.1')")
    later = build_inputs.collect_inputs(con, manifest, VARS, NOON_UTC.replace(hour=19))
    assert build_inputs.changed_raw_tables(first, later) == ["raw_crm.orders"]

    manifest.write_text(json.dumps(_manifest(macro="select 2")))
    edited = build_inputs.collect_inputs(con, manifest, VARS, NOON_UTC)
    assert build_inputs.changed_raw_tables(first, edited) is None
    other_vars = build_inputs.collect_inputs(con, manifest, json.dumps({"currency": "KZT"}), NOON_UTC)
    assert build_inputs.changed_raw_tables(later, other_vars) is None


def test_unchanged_reads_are_those_reading_only_unchanged_raw_tables_through_staging(tmp_path):
    manifest = tmp_path / "manifest.json"
    source = lambda schema, table: {"schema": schema, "identifier": table}  # noqa: E731
    model = lambda name, *parents: {"resource_type": "model", "name": name, "depends_on": {"nodes": list(parents)}}  # noqa: E731
    test = lambda name, *parents: {"resource_type": "test", "name": name, "depends_on": {"nodes": list(parents)}}  # noqa: E731
    manifest.write_text(json.dumps({
        "sources": {"source.p.crm.customers": source("raw_crm", "customers"),
                    "source.p.mail.events": source("raw_mail", "events")},
        "nodes": {
            "seed.p.codes": {"resource_type": "seed", "name": "codes", "depends_on": {"nodes": []}},
            "model.p.stg_crm__customers": model("stg_crm__customers", "source.p.crm.customers"),
            "model.p.stg_crm__people": model("stg_crm__people", "model.p.stg_crm__customers", "seed.p.codes"),
            "model.p.stg_mail__events": model("stg_mail__events", "source.p.mail.events", "seed.p.codes"),
            "model.p.int_people": model("int_people", "model.p.stg_crm__people"),
            "test.p.t_crm": test("not_null_stg_crm__people_id", "model.p.stg_crm__people"),
            "test.p.t_mail": test("unique_stg_mail__events_id", "model.p.stg_mail__events"),
            "test.p.t_both": test("relationships_mail_crm", "model.p.stg_mail__events", "model.p.stg_crm__customers"),
            "test.p.t_int": test("unique_int_people_id", "model.p.int_people"),
        },
    }))
    def passed(changed):
        return build_inputs.UnchangedReads(manifest, changed).passed_tests()

    assert passed(["raw_crm.customers"]) == ["unique_stg_mail__events_id"]
    assert passed(["raw_mail.events"]) == ["not_null_stg_crm__people_id"]
    assert passed([]) == sorted(["not_null_stg_crm__people_id", "unique_stg_mail__events_id", "relationships_mail_crm"])
    # The same walk names the staging models whose union slices are read again.
    assert build_inputs.UnchangedReads(manifest, ["raw_crm.customers"]).stale_staging() == [
        "stg_crm__customers", "stg_crm__people"]
    assert build_inputs.UnchangedReads(manifest, []).stale_staging() == []


def test_no_staging_model_reads_the_clock():
    """A new day alone leaves the union slices and the staging tests as they were
    (`changed_raw_tables` ignores "today"): that holds only while staging never asks for the date."""
    from pathlib import Path

    staging = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging"
    clock = ("as_of_date(", "now()", "current_date", "current_timestamp", "today(")
    readers = [str(p.relative_to(staging)) for p in staging.rglob("*.sql")
               if any(word in p.read_text(encoding="utf-8").lower() for word in clock)]
    assert list(staging.rglob("*.sql")) and readers == []
