"""retailcrm: one `raw/retailcrm/<table>` asset per dlt resource (see connectors/retailcrm/README.md)."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, run_and_report
from connectors.retailcrm import retailcrm_source
from orchestration.resources import RetailCRMApi, Warehouse


@dlt_assets(
    dlt_source=retailcrm_source(base_url=PLACEHOLDER_URL, api_key="unset"),
    dlt_pipeline=definition_pipeline("retailcrm"),
    name="retailcrm_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def retailcrm_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, retailcrm_api: RetailCRMApi):
    """RetailCRM customers, orders, corporate customers (merged on id, kept current through the
    history journals after the first full load), the journals themselves, and recent carts."""
    yield from run_and_report(
        context, dlt,
        retailcrm_source(base_url=retailcrm_api.base_url, api_key=retailcrm_api.api_key),
        duckdb.dlt_pipeline("retailcrm"), duckdb, "retailcrm",
    )
