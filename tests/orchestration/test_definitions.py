"""The Definitions as Dagster loads them: every dbt source is fed by an ingestion asset, every
asset sits in its layer's group under the one key scheme, and nothing reaches a destination
without passing a blocking consent check."""

import dagster as dg
import pytest

from orchestration.definitions import build_definitions

LAYERS = {"raw": "ingest", "staging": "staging", "intermediate": "intermediate", "marts": "marts",
          "segments": "segments", "reference": "reference", "audience": "activate", "activation": "activate"}


@pytest.fixture(scope="module")
def graph():
    return build_definitions().resolve_asset_graph()


def test_every_dbt_source_is_fed_by_an_ingestion_asset(graph):
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    sources_read_by_dbt = {dep for key in materializable if key.path[0] in ("staging", "marts")
                           for dep in graph.get(key).parent_keys if dep.path[0] == "raw"}
    assert sources_read_by_dbt, "dbt reads raw tables"
    orphans = sorted(k.to_user_string() for k in sources_read_by_dbt - materializable)
    assert not orphans, f"dbt sources without an ingestion asset (a dlt resource of that name): {orphans}"


def test_every_asset_follows_the_key_scheme_and_sits_in_its_layer_group(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert key.path[0] in LAYERS, key
        assert node.group_name == LAYERS[key.path[0]], (key, node.group_name)
        expected_len = 3 if key.path[0] in ("raw", "audience", "activation") else 2
        assert len(key.path) == expected_len, key


def test_every_activation_waits_for_a_blocking_consent_check(graph):
    activations = [k for k in graph.get_all_asset_keys() if k.path[0] == "activation"]
    assert activations
    for key in activations:
        (audience,) = [p for p in graph.get(key).parent_keys if p.path[0] == "audience"]
        gates = [c for c in graph.get(audience).check_keys if c.name == "every_member_has_consent"]
        assert gates, f"{audience.to_user_string()} has no consent gate"
        assert all(graph.get_check_spec(c).blocking for c in gates)


def test_the_daily_job_covers_every_asset():
    defs = build_definitions()
    job = defs.resolve_job_def("daily_refresh_job")
    graph = defs.resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    in_job = set(job.asset_layer.executable_asset_keys)
    assert materializable <= in_job, sorted(k.to_user_string() for k in materializable - in_job)
    assert dg.AssetKey(["activation", "unisender", "seg_reactivation"]) in in_job
