"""spreadsheets: one `raw/spreadsheets/<table>` asset per dlt resource (members, orders, quarantine)."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import TRANSLATOR, definition_pipeline, run_and_report
from connectors.spreadsheets import spreadsheets_source
from orchestration.resources import SpreadsheetInbox, Warehouse


@dlt_assets(
    dlt_source=spreadsheets_source(inbox="."),
    dlt_pipeline=definition_pipeline("spreadsheets"),
    name="spreadsheets_ingest",
    dagster_dlt_translator=TRANSLATOR,
    pool="duckdb_writer",
)
def spreadsheets_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, spreadsheet_inbox: SpreadsheetInbox):
    """Inbox files (folder or S3 prefix), each read once per content hash; a changed file replaces
    its rows; unreadable files and rows quarantined."""
    yield from run_and_report(
        context, dlt,
        spreadsheets_source(**spreadsheet_inbox.source_kwargs()),
        duckdb.dlt_pipeline("spreadsheets"), duckdb, "spreadsheets",
    )
