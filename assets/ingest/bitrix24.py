"""bitrix24: one `raw/bitrix24/<table>` asset per dlt resource."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, run_and_report
from connectors.bitrix24 import bitrix24_source
from orchestration.resources import Bitrix24Api, Warehouse


@dlt_assets(
    dlt_source=bitrix24_source(base_url=PLACEHOLDER_URL, api_key="unset"),
    dlt_pipeline=definition_pipeline("bitrix24"),
    name="bitrix24_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def bitrix24_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, bitrix24_api: Bitrix24Api):
    """Bitrix24 contacts and deals changed since the last run (`DATE_MODIFY` cursor), merged on ID."""
    yield from run_and_report(
        context, dlt,
        bitrix24_source(base_url=bitrix24_api.base_url, api_key=bitrix24_api.api_key,
                                   user_id=bitrix24_api.user_id),
        duckdb.dlt_pipeline("bitrix24"), duckdb, "bitrix24",
    )
