"""All dbt models, seeds and tests as assets (`<layer>/<model>`) with dbt tests as asset checks."""


import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt import dbt_project, ensure_manifest
from orchestration.keys import CdpDbtTranslator
from orchestration.resources import Warehouse


@dbt_assets(manifest=ensure_manifest(), project=dbt_project, dagster_dbt_translator=CdpDbtTranslator(),
            name="dbt_models", pool="duckdb_writer")
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: Warehouse):
    # profiles.yml reads the warehouse path from the environment; hand it the resource's value so
    # dlt, dbt and activation can never disagree on which file they use.
    os.environ["CDP_DUCKDB_PATH"] = duckdb.path
    os.environ["CDP_STATE_DIR"] = duckdb.identity_state_dir
    yield from dbt.cli(["build"], context=context).stream()
