"""What the orchestrator hands dbt for the early cutoff (macros/materializations/cutoff.sql): the
project's code as one digest that moves with a macro, a setting or our code but not with a model's
own file or a raw table (each model checks those itself), and each source's content or absence."""

import datetime as dt
import json

import duckdb
import pytest

from orchestration import build_inputs, cutoff

VARS = json.dumps({"business_timezone": "Europe/Moscow", "rfm_as_of": None})
NOON_UTC = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)


def _manifest(checksum="1", macro="select 1"):
    return {
        "metadata": {"project_name": "cdp"},
        "nodes": {"model.cdp.a": {"resource_type": "model", "checksum": {"checksum": checksum}, "config": {}}},
        "macros": {"macro.cdp.m": {"package_name": "cdp", "macro_sql": macro}},
        "sources": {"source.cdp.crm.customers": {"schema": "raw_crm", "identifier": "customers"},
                    "source.cdp.crm.orders": {"schema": "raw_crm", "identifier": "orders"},
                    "source.cdp.crm.other": {"schema": "elsewhere", "identifier": "other"}},
    }


@pytest.fixture
def setup(tmp_path, monkeypatch):
    project_file = tmp_path / "dbt_project.yml"
    project_file.write_text("vars: {}\n")
    monkeypatch.setattr(build_inputs, "_PROJECT_FILE", project_file)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest()))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw_crm")
    con.execute("create table raw_crm.customers (id int, _dlt_load_id varchar)")
    con.execute("insert into raw_crm.customers values (1, '1700000000.1')")
    con.execute("create schema elsewhere")
    con.execute("create table elsewhere.other (id int)")
    yield con, manifest
    con.close()


def _settings(con, manifest, now=NOON_UTC, vars_json=VARS, keep=True) -> dict:
    inputs = build_inputs.collect_inputs(con, manifest, vars_json, now)
    return json.loads(cutoff.settings(con, manifest, inputs, keep=keep))


def test_sources_carry_their_content_or_absence_and_an_unhashed_table_is_unknown(setup):
    con, manifest = setup
    first = _settings(con, manifest)
    assert first["sources"]["source.cdp.crm.orders"] == "absent"
    assert "source.cdp.crm.other" not in first["sources"], "a table nobody hashed must make its readers unknown"
    con.execute("insert into raw_crm.customers values (2, '1700000900.1')")
    second = _settings(con, manifest)
    assert second["sources"]["source.cdp.crm.customers"] != first["sources"]["source.cdp.crm.customers"]
    assert second["code"] == first["code"], "a raw table is not code"


def test_code_moves_with_a_macro_or_a_setting_but_not_with_a_models_own_file_or_the_day(setup):
    con, manifest = setup
    first = _settings(con, manifest)
    manifest.write_text(json.dumps(_manifest(checksum="2")))
    assert _settings(con, manifest)["code"] == first["code"]
    next_day = _settings(con, manifest, now=NOON_UTC + dt.timedelta(days=1))
    assert next_day["code"] == first["code"] and next_day["today"] != first["today"]
    manifest.write_text(json.dumps(_manifest(macro="select 2")))
    assert _settings(con, manifest)["code"] != first["code"]
    manifest.write_text(json.dumps(_manifest()))
    assert _settings(con, manifest, vars_json=json.dumps({"currency": "KZT"}))["code"] != first["code"]


def test_a_forced_rebuild_keeps_nothing(setup):
    con, manifest = setup
    assert _settings(con, manifest)["keep"] is True
    assert _settings(con, manifest, keep=False)["keep"] is False


def test_prepare_keeps_only_each_models_newest_record(setup):
    con, _ = setup
    cutoff.prepare(con)
    for node, inputs in [("a", "1"), ("a", "2"), ("b", "1")]:
        con.execute(f"insert into {cutoff.TABLE} (node, inputs_digest) values (?, ?)", [node, inputs])
    cutoff.prepare(con)
    assert sorted(con.execute(f"select node, inputs_digest from {cutoff.TABLE}").fetchall()) == [("a", "2"), ("b", "1")]


def test_kept_models_are_read_from_dbts_run_results(tmp_path):
    assert cutoff.kept_in(tmp_path) == []
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.cdp.b", "message": "KEPT"}, {"unique_id": "model.cdp.a", "message": "OK"},
        {"unique_id": "model.cdp.c", "message": "KEPT"}]}))
    assert cutoff.kept_in(tmp_path) == ["model.cdp.b", "model.cdp.c"]


def test_a_kept_model_is_told_from_the_result_event_dagster_dbt_materialises():
    result = lambda status: {"info": {"name": "LogModelResult"}, "data": {"status": status, "node_info": {}}}  # noqa: E731
    assert cutoff.is_kept(result("KEPT"))
    assert not cutoff.is_kept(result("OK"))
    assert not cutoff.is_kept({"info": {"name": "LogTestResult"}, "data": {"status": "KEPT"}})
