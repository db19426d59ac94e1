"""One dlt multi-asset per source system enabled in the business settings, built from its
declaration in cdp/systems.py; each dlt resource is one `raw/<system>/<table>` asset.

Sources are built twice: once when the definitions are built, with the declaration's placeholder
arguments, so Dagster can see the tables (no network is touched: dlt resources are lazy), and again
at run time from the `<system>_api` resource, which carries the real URLs, keys and folders.
"""

import inspect

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import TRANSLATOR, definition_pipeline, load_source, run_and_report
from cdp.settings import BusinessSettings
from cdp.systems import SYSTEMS, System
from orchestration.resources import Warehouse, api_resource_class, resource_key


def ingest_assets_for(system: System, settings: BusinessSettings) -> dg.AssetsDefinition:
    """`<system>_ingest`: the system's dlt source run into `raw_<system>`, with row counts and the
    quarantine report."""
    source = load_source(system.source)
    api_key = resource_key(system)
    # A file inbox's tables can depend on the business's mapping: build the placeholder with it.
    placeholder = {**system.placeholder,
                   **({"mapping_path": settings.mapping_path()} if system.per_mapping_entry else {})}

    def ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, **resources):
        yield from run_and_report(context, dlt, source(**resources[api_key].source_kwargs()),
                                  duckdb.dlt_pipeline(system.name), duckdb, system.name)

    # Dagster finds resources by parameter name; this one's name is the system's resource key.
    ingest.__signature__ = inspect.signature(ingest).replace(parameters=[
        *list(inspect.signature(ingest).parameters.values())[:3],
        inspect.Parameter(api_key, inspect.Parameter.KEYWORD_ONLY, annotation=api_resource_class(system.name)),
    ])
    ingest.__doc__ = system.description
    ingest.__name__ = ingest.__qualname__ = f"{system.name}_ingest"
    return dlt_assets(
        dlt_source=source(**placeholder),
        dlt_pipeline=definition_pipeline(system.name),
        name=f"{system.name}_ingest",
        dagster_dlt_translator=TRANSLATOR,
        pool="duckdb_writer",
    )(ingest)


def build_ingest_assets(settings: BusinessSettings) -> list[dg.AssetsDefinition]:
    """One multi-asset per enabled system, in declaration order."""
    return [ingest_assets_for(system, settings) for name, system in SYSTEMS.items() if settings.enabled(name)]
