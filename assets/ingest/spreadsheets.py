"""spreadsheets: one `raw/spreadsheets/<table>` asset per dlt resource."""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingest.common import PLACEHOLDER_URL, TRANSLATOR, definition_pipeline, report_quarantine
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
    """Spreadsheet inbox files, each read once per content hash; unreadable rows quarantined."""
    yield from dlt.run(
        context,
        dlt_source=spreadsheets_source(inbox=spreadsheet_inbox.path, mapping_path=spreadsheet_inbox.mapping_path),
        dlt_pipeline=duckdb.dlt_pipeline("spreadsheets"),
    )
    report_quarantine(context, duckdb, "spreadsheets")
