"""unisender: one `raw/unisender/<table>` asset per dlt resource."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, run_and_report
from connectors.unisender import unisender_source
from orchestration.resources import UnisenderApi, Warehouse


@dlt_assets(
    dlt_source=unisender_source(base_url=PLACEHOLDER_URL, api_key="unset"),
    dlt_pipeline=definition_pipeline("unisender"),
    name="unisender_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def unisender_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, unisender_api: UnisenderApi):
    """Unisender contacts with their subscription status (unsubscribes feed consent), campaigns,
    per-address delivery results and visited links (engagement)."""
    yield from run_and_report(
        context, dlt,
        unisender_source(base_url=unisender_api.base_url, api_key=unisender_api.api_key),
        duckdb.dlt_pipeline("unisender"), duckdb, "unisender",
    )
