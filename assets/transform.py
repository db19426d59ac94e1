"""All dbt models, seeds and tests as assets (`<layer>/<model>`) with dbt tests as asset checks, run
with the business settings as dbt variables."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from cdp.dbt_cli import dbt_vars_json
from cdp.settings import BusinessSettings
from cdp.systems import SYSTEMS
from orchestration.dbt import dbt_project, ensure_manifest
from orchestration.keys import CdpDbtTranslator
from orchestration.resources import Warehouse


def build_dbt_assets(settings: BusinessSettings) -> dg.AssetsDefinition:
    """`dbt_models`: the manifest parsed with these settings, and `dbt build` given the same
    `--vars`, so the graph Dagster shows is the one dbt runs."""
    dbt_vars = dbt_vars_json(settings)
    # A disabled system's staging is never unioned; leaving it out keeps its raw tables from
    # showing up in the asset graph as sources nobody loads.
    disabled = [name for name in SYSTEMS if not settings.enabled(name)]
    exclude = " ".join(f"path:models/staging/{name}" for name in disabled) or None

    @dbt_assets(manifest=ensure_manifest(settings), project=dbt_project, dagster_dbt_translator=CdpDbtTranslator(),
                name="dbt_models", pool="duckdb_writer", exclude=exclude)
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: Warehouse):
        # profiles.yml reads the warehouse path from the environment; hand it the resource's value so
        # dlt, dbt and activation can never disagree on which file they use.
        os.environ["CDP_DUCKDB_PATH"] = duckdb.path
        os.environ["CDP_STATE_DIR"] = duckdb.identity_state_dir
        invocation = dbt.cli(["build", "--vars", dbt_vars], context=context)
        try:
            yield from invocation.stream()
        finally:
            stop(invocation.process)

    return dbt_models


def stop(process) -> None:
    """Never leave dbt running after its step: it holds the DuckDB lock (PITFALLS). dagster-dbt
    forwards an interrupt as SIGINT but only waits for dbt to exit (25 s) and never kills it; a step
    that ends any other way (an error while streaming, a generator closed early) would leave it
    running too. A run killed outright is covered by the dbt executable itself (cdp/dbt_cli.py)."""
    if process.poll() is None:
        process.kill()
        process.wait()
