"""1C: `raw/onec/<table>` from the standard OData interface and `raw/commerceml/<table>` from the
CommerceML exchange folder, one multi-asset each (two dlt sources, two pipelines, two datasets)."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, run_and_report
from connectors.onec import commerceml_source, onec_source
from orchestration.resources import OneCApi, OneCExchange, Warehouse


@dlt_assets(
    dlt_source=onec_source(base_url=PLACEHOLDER_URL, password="unset"),
    dlt_pipeline=definition_pipeline("onec"),
    name="onec_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def onec_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, onec_api: OneCApi):
    """1C counterparties and products (changed `DataVersion` only), sales documents by `Date` with a
    look-back window, and their lines; merged on `Ref_Key`, deletion marks kept."""
    yield from run_and_report(
        context, dlt,
        onec_source(base_url=onec_api.base_url, user=onec_api.user, password=onec_api.password,
                               sales_lookback_days=onec_api.sales_lookback_days),
        duckdb.dlt_pipeline("onec"), duckdb, "onec",
    )


@dlt_assets(
    dlt_source=commerceml_source(exchange_dir="."),
    dlt_pipeline=definition_pipeline("commerceml"),
    name="commerceml_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def commerceml_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, onec_exchange: OneCExchange):
    """CommerceML exchange files (catalogue, offers, order documents), each read once per content
    hash; unreadable files and documents quarantined."""
    yield from run_and_report(
        context, dlt,
        commerceml_source(exchange_dir=onec_exchange.path),
        duckdb.dlt_pipeline("commerceml"), duckdb, "commerceml",
    )
