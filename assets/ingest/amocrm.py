"""amocrm: one `raw/amocrm/<table>` asset per dlt resource (contacts, leads, quarantine)."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, run_and_report
from connectors.amocrm import amocrm_source
from orchestration.resources import AmoCRMApi, Warehouse


@dlt_assets(
    dlt_source=amocrm_source(base_url=PLACEHOLDER_URL, access_token="unset"),
    dlt_pipeline=definition_pipeline("amocrm"),
    name="amocrm_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def amocrm_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, amocrm_api: AmoCRMApi):
    """amoCRM contacts and leads, merged on id; later runs read only what changed (updated_at)."""
    yield from run_and_report(
        context, dlt,
        amocrm_source(base_url=amocrm_api.base_url, access_token=amocrm_api.access_token),
        duckdb.dlt_pipeline("amocrm"), duckdb, "amocrm",
    )
