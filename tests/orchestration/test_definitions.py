"""The Definitions as Dagster loads them: every dbt source is fed by an ingestion asset, every
asset sits in its layer's group under the one key scheme, and nothing reaches a destination
without passing a blocking consent check. They follow the business settings and the declaration of
the systems: only enabled systems are ingested and wired, a wrong settings file stops them before
anything runs, and .env.example lists exactly the variables they read.

Built with the demo's settings (conftest.py) unless a test says otherwise."""

from pathlib import Path

import dagster as dg
import pytest

from cdp.destinations import DESTINATIONS
from cdp.settings import SettingsError, load_settings, parse_settings
from cdp.systems import SYSTEMS

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"raw": "ingest", "staging": "staging", "intermediate": "intermediate", "marts": "marts",
          "segments": "segments", "reference": "reference", "audience": "activate", "activation": "activate"}
DESTINATION_SETTINGS = [s for d in DESTINATIONS.values() for s in d.settings.values()]
# Read outside the resources' fields: the environment's name (orchestration/env.py, profiles.yml),
# the settings file itself (cdp/settings.py) and DuckDB's memory cap (profiles.yml, and
# Warehouse.dlt_pipeline when a load starts).
NOT_RESOURCE_VARIABLES = {"CDP_ENV", "CDP_BUSINESS_CONFIG", "CDP_DUCKDB_MEMORY_LIMIT"}


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def _orphan_sources(graph) -> list[str]:
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    sources_read_by_dbt = {dep for key in materializable if key.path[0] in ("staging", "intermediate", "marts")
                           for dep in graph.get(key).parent_keys if dep.path[0] == "raw"}
    return sorted(k.to_user_string() for k in sources_read_by_dbt - materializable)


def test_every_dbt_source_is_fed_by_an_ingestion_asset(graph):
    assert any(k.path[0] == "raw" for k in graph.get_all_asset_keys()), "dbt reads raw tables"
    orphans = _orphan_sources(graph)
    assert not orphans, f"dbt sources without an ingestion asset (a dlt resource of that name): {orphans}"


def test_every_declared_system_is_ingested_by_its_own_op_with_its_own_resource(defs):
    ops = {a.node_def.name for a in defs.assets if a.node_def.name.endswith("_ingest")}
    assert ops == {f"{name}_ingest" for name in SYSTEMS}, "the demo enables every declared system"
    for name, system in SYSTEMS.items():
        (ingest,) = [a for a in defs.assets if a.node_def.name == f"{name}_ingest"]
        assert f"{name}_api" in ingest.required_resource_keys
        assert {tuple(k.path[:2]) for k in ingest.keys} == {("raw", name)}
        assert ingest.node_def.description == system.description


def test_every_asset_follows_the_key_scheme_and_sits_in_its_layer_group(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert key.path[0] in LAYERS, key
        assert node.group_name == LAYERS[key.path[0]], (key, node.group_name)
        per_destination = key.path[0] == "activation" or (key.path[0] == "audience" and key.path[1] in DESTINATIONS)
        expected_len = 3 if key.path[0] == "raw" or per_destination else 2
        assert len(key.path) == expected_len, key


def test_every_activation_waits_for_a_blocking_consent_check(graph):
    activations = [k for k in graph.get_all_asset_keys() if k.path[0] == "activation"]
    assert activations
    for key in activations:
        (audience,) = [p for p in graph.get(key).parent_keys if p.path[0] == "audience" and p.path[1:] == key.path[1:]]
        gates = [c for c in graph.get(audience).check_keys if c.name == "every_address_has_consent_by_the_events"]
        assert gates, f"{audience.to_user_string()} has no consent gate"
        assert all(graph.get_check_spec(c).blocking for c in gates)


def test_the_daily_job_covers_every_asset(defs):
    job = defs.resolve_job_def("daily_refresh_job")
    graph = defs.resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    in_job = set(job.asset_layer.executable_asset_keys)
    assert materializable <= in_job, sorted(k.to_user_string() for k in materializable - in_job)
    assert dg.AssetKey(["activation", "unisender", "seg_reactivation"]) in in_job


def _settings_file(tmp_path, text: str) -> Path:
    path = tmp_path / "business.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_only_the_enabled_system_is_ingested_and_wired(tmp_path, monkeypatch):
    """A business with nothing but a spreadsheet inbox: one ingest asset, one system resource (plus
    what activation needs as a destination), one inbox sensor."""
    from orchestration.definitions import build_definitions

    monkeypatch.setenv("CDP_BUSINESS_CONFIG", str(_settings_file(tmp_path, "systems: [spreadsheets]\n")))
    only = build_definitions()
    ingest = [a for a in only.assets if a.node_def.name.endswith("_ingest")]
    assert [a.node_def.name for a in ingest] == ["spreadsheets_ingest"]
    graph = only.resolve_asset_graph()
    raw = {k.path[1] for k in graph.get_all_asset_keys() if k.path[0] == "raw" and graph.get(k).is_materializable}
    assert raw == {"spreadsheets"}
    # A disabled system's staging may still name its raw tables (dbt stands in zero rows for them:
    # macro raw_table); they are then external, never ingested, and the enabled system's are all fed.
    assert not [k for k in _orphan_sources(graph) if k.startswith("raw/spreadsheets/")]

    destinations = {key for a in only.assets if not a.node_def.name.endswith("_ingest")
                    for key in a.required_resource_keys}
    system_resources = {key for key in only.resources if key.removesuffix("_api") in SYSTEMS}
    assert "spreadsheets_api" in system_resources
    assert system_resources - {"spreadsheets_api"} <= destinations, "only destinations besides the enabled system"
    assert {s.name for s in only.sensors} == {"spreadsheets_inbox_sensor"}
    assert only.resources["spreadsheets_api"].mapping_path is None, "no mapping: the connector's default"


def test_an_unknown_system_stops_the_definitions_with_a_clear_error(tmp_path, monkeypatch):
    from orchestration.definitions import build_definitions

    monkeypatch.setenv("CDP_BUSINESS_CONFIG", str(_settings_file(tmp_path, "systems: [retailcrm, salesforce]\n")))
    with pytest.raises(SettingsError, match=r"business\.yml: systems: unknown system\(s\) salesforce; known: retailcrm"):
        build_definitions()


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    names = [name.strip() for name, _ in pairs]
    assert len(names) == len(set(names)), "a variable listed twice"
    return {name.strip(): value for name, value in pairs}


def test_env_example_lists_every_declared_setting_and_nothing_else():
    listed = set(_env_example())
    declared = {setting.env for system in SYSTEMS.values() for setting in system.settings.values()}
    declared |= {setting.env for setting in DESTINATION_SETTINGS}
    platform = {"CDP_BUSINESS_CONFIG", "CDP_DUCKDB_PATH", "CDP_DUCKDB_MEMORY_LIMIT", "CDP_ENV"}
    s3 = {name for name in listed if name.startswith("S3_")}
    assert s3 >= {"S3_ENDPOINT_URL", "S3_AUDIENCE_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"}
    assert declared - listed == set(), "declared in cdp/systems.py but missing from .env.example"
    assert listed - declared - platform - s3 == set(), "in .env.example but declared nowhere"
    for settings in [*(system.settings.values() for system in SYSTEMS.values()), DESTINATION_SETTINGS]:
        for setting in settings:
            if setting.default is not None:
                assert _env_example()[setting.env] == setting.default, f"{setting.env}: not the declared default"
            if setting.secret:
                assert _env_example()[setting.env] == "", f"{setting.env} is a secret: no value in the example"


def test_the_resources_read_exactly_the_variables_env_example_lists(monkeypatch):
    """Every variable a resource reads (every system enabled, every variable set, so optional
    values bind to theirs too) is in .env.example, and every listed variable is read by one."""
    from orchestration.definitions import build_resources
    from orchestration.resources import destination_resource_key

    listed = set(_env_example())
    for name in listed:
        monkeypatch.setenv(name, "x")
    resources = build_resources(load_settings(ROOT / "demo" / "business.yml"),
                                {destination_resource_key(name) for name in DESTINATIONS})
    read = {value.env_var_name for resource in resources.values() for value in vars(resource).values()
            if isinstance(value, dg.EnvVar)}
    assert read == listed - NOT_RESOURCE_VARIABLES


def test_secrets_come_only_from_the_environment():
    from orchestration.definitions import build_resources

    resources = build_resources(load_settings(ROOT / "demo" / "business.yml"))
    for name, system in SYSTEMS.items():
        for arg, setting in system.settings.items():
            if setting.secret:
                value = getattr(resources[f"{name}_api"], arg)
                assert isinstance(value, dg.EnvVar) and value.env_var_name == setting.env, (name, arg)


def test_demo_and_example_settings_cover_every_system():
    demo = load_settings(ROOT / "demo" / "business.yml")
    assert set(demo.systems) == set(SYSTEMS) and demo.rfm.as_of == "latest_order"
    example = load_settings(ROOT / "business.example.yml")
    assert set(example.systems) == set(SYSTEMS), "business.example.yml documents every system"


def test_dbt_runs_through_the_wrapper_that_dies_with_the_run(defs):
    assert Path(defs.resources["dbt"].dbt_executable).name == "cdp-dbt"


def test_the_manifest_is_parsed_again_when_the_settings_or_the_mapping_change(tmp_path):
    from orchestration.dbt import manifest_dir

    one, two = (parse_settings({"systems": names}) for names in (["retailcrm"], ["retailcrm", "onec"]))
    assert manifest_dir(one) != manifest_dir(two)
    assert manifest_dir(one) == manifest_dir(parse_settings({"systems": ["retailcrm"]}))
    mapping = tmp_path / "mapping.yml"
    mapping.write_bytes((ROOT / "connectors" / "spreadsheets" / "default_mapping.yml").read_bytes())
    config = _settings_file(tmp_path, "systems:\n  spreadsheets:\n    mapping: mapping.yml\n")
    before = manifest_dir(load_settings(config))
    mapping.write_bytes(mapping.read_bytes() + b"\n# a changed column spelling\n")
    assert manifest_dir(load_settings(config)) != before


def test_the_dbt_resource_knows_the_version_of_the_dbt_it_runs(defs):
    """DbtCli answers the version from the installed package instead of starting `dbt --version`:
    it must be what the configured executable itself reports."""
    import re
    import subprocess

    dbt = defs.resources["dbt"]
    printed = subprocess.run([dbt.dbt_executable, "--version"], capture_output=True, text=True, timeout=120).stdout
    assert str(dbt._cli_version) == re.search(r"(\d+\.\d+\.\d+)", printed).group(1)
