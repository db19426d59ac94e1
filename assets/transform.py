"""All dbt models, seeds and tests as assets (`<layer>/<model>`) with dbt tests as asset checks, run
with the business settings as dbt variables; a whole build whose inputs have not changed since the
last one is skipped (orchestration/build_inputs.py)."""

import json
import os
from graphlib import TopologicalSorter

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from cdp.dbt_cli import dbt_vars_json
from cdp.settings import BusinessSettings
from cdp.systems import SYSTEMS
from orchestration import build_inputs, cutoff
from orchestration.dbt import dbt_project, ensure_manifest, invocation_target, keep_parse
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
    manifest = ensure_manifest(settings)

    @dbt_assets(manifest=manifest, project=dbt_project, dagster_dbt_translator=CdpDbtTranslator(),
                name="dbt_models", pool="duckdb_writer", exclude=exclude)
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: Warehouse):
        # profiles.yml reads the warehouse path from the environment; hand it the resource's value so
        # dlt, dbt and activation can never disagree on which file they use.
        os.environ["CDP_DUCKDB_PATH"] = duckdb.path
        os.environ["CDP_STATE_DIR"] = duckdb.identity_state_dir
        # `context.assets_def` is the subset being run, so compare with every model's key.
        whole = set(context.selected_asset_keys) == every_model
        inputs = None
        changed_raw = None
        cutoff_env = None
        if whole:
            forced = context.run.tags.get(build_inputs.REBUILD_TAG) == "always"
            with duckdb.connect() as con:
                inputs = build_inputs.collect_inputs(con, manifest, dbt_vars)
                last = build_inputs.last_built(con)
                skip = last and last[0] == build_inputs.digest(inputs) and not forced
                if not skip:
                    cutoff.prepare(con)
                    cutoff_env = cutoff.settings(con, manifest, inputs, keep=not forced)
            if skip:
                yield from unchanged(context, last[1])
                return
            if last and not forced:
                what = build_inputs.changed(last[2], inputs)
                context.log.info(f"dbt build: {len(what)} input(s) changed since run {last[1]}: "
                                 + ", ".join(what[:12]) + (" …" if len(what) > 12 else ""))
                changed_raw = build_inputs.changed_raw_tables(last[2], inputs)
        # Only a whole build after a recorded one may keep union slices: a subset leaves no record.
        # Only a whole build keeps models whose inputs did not move (macros/materializations/cutoff.sql).
        args = ["build", "--vars", dbt_vars]
        cutoff.environ_for(cutoff_env)
        if changed_raw is None:
            os.environ.pop(build_inputs.STALE_STAGING_ENV, None)
        else:
            reads = build_inputs.UnchangedReads(manifest, changed_raw)
            os.environ[build_inputs.STALE_STAGING_ENV] = json.dumps(reads.stale_staging())
            # Unit tests depend on the code alone, and these data tests on raw rows that did not
            # change: all passed in the last build, on the same code.
            passed = reads.passed_tests()
            args += ["--exclude", " ".join(["test_type:unit", *passed])]
            context.log.info(f"dbt build: union tables rewrite only the slices reading {len(changed_raw)} changed raw "
                             f"table(s); unit tests and {len(passed)} data test(s) on unchanged staging data are not run again")
        try:
            target = invocation_target(manifest, f"dbt_models-{context.run_id[:7]}")
            invocation = dbt.cli(args, context=context, target_path=target)
            try:
                yield from marked_kept(invocation, context)
            finally:
                stop(invocation.process)
                keep_parse(target, manifest)
            kept = cutoff.kept_in(target)
            if kept:
                context.log.info(f"dbt build: {len(kept)} model(s) kept their tables, their inputs unchanged since "
                                 "their last build: " + ", ".join(k.split(".")[-1] for k in kept[:12])
                                 + (" …" if len(kept) > 12 else ""))
        finally:
            os.environ.pop(build_inputs.STALE_STAGING_ENV, None)
            cutoff.environ_for(None)
        if inputs and invocation.is_successful():
            with duckdb.connect() as con:
                build_inputs.record_built(con, inputs, context.run_id)

    every_model = set(dbt_models.keys)
    return dbt_models


def marked_kept(invocation, context: dg.AssetExecutionContext):
    """dagster-dbt's events for the build (what `invocation.stream()` yields), with a model that
    kept its table (macros/materializations/cutoff.sql) marked `cdp/kept` on its materialisation,
    so the UI tells a table rebuilt from one kept as it was."""
    for raw in invocation.stream_raw_events():
        kept = cutoff.is_kept(raw.raw_event)
        for event in raw.to_default_asset_events(manifest=invocation.manifest, dagster_dbt_translator=invocation.dagster_dbt_translator,
                                                 context=context, target_path=invocation.target_path, project=invocation.project):
            if kept and isinstance(event, (dg.Output, dg.AssetMaterialization)):
                event = event.with_metadata({**event.metadata, cutoff.KEPT_METADATA: "inputs unchanged since its last build"})
            yield event


def unchanged(context: dg.AssetExecutionContext, built_by: str):
    """Every model as it is: the tables already hold what a build would write. Each is reported
    materialised (marked unchanged, with the run that built it) so the activation downstream still
    runs and reconciles with its destinations."""
    context.log.info(f"dbt build skipped: no raw table, model, setting or date changed since run {built_by}")
    deps = context.assets_def.asset_deps
    selected = set(context.selected_asset_keys)
    order = TopologicalSorter({k: deps.get(k, set()) & selected for k in selected}).static_order()
    for key in order:  # Dagster wants a multi-asset's outputs in dependency order
        yield dg.MaterializeResult(asset_key=key, metadata={"cdp/unchanged_since_run": built_by})


def stop(process) -> None:
    """Never leave dbt running after its step: it holds the DuckDB lock (PITFALLS). dagster-dbt
    forwards an interrupt as SIGINT but only waits for dbt to exit (25 s) and never kills it; a step
    that ends any other way (an error while streaming, a generator closed early) would leave it
    running too. A run killed outright is covered by the dbt executable itself (cdp/dbt_cli.py)."""
    if process.poll() is None:
        process.kill()
        process.wait()
