"""sendsay: one `raw/sendsay/<table>` asset per dlt resource."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, run_and_report
from connectors.sendsay import sendsay_source
from orchestration.resources import SendsayApi, Warehouse


@dlt_assets(
    dlt_source=sendsay_source(base_url=PLACEHOLDER_URL, login="unset", api_key="unset"),
    dlt_pipeline=definition_pipeline("sendsay"),
    name="sendsay_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def sendsay_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, sendsay_api: SendsayApi):
    """Sendsay members with their list memberships and stop-list state, issues, and per-member
    issue statistics (unsubscribes there feed consent; opens and clicks feed engagement)."""
    yield from run_and_report(
        context, dlt,
        sendsay_source(base_url=sendsay_api.base_url, login=sendsay_api.login, api_key=sendsay_api.api_key),
        duckdb.dlt_pipeline("sendsay"), duckdb, "sendsay",
    )
