"""One dlt multi-asset per outside system; each resource is one `raw/<system>/<table>` asset.

Sources are built twice: once at import with placeholder settings so Dagster can see the tables
(no network is touched: dlt resources are lazy), and again at run time from the resources, which
carry the real URLs and keys.
"""


import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from connectors.retailcrm import retailcrm_source
from connectors.spreadsheets import spreadsheets_source
from connectors.unisender import unisender_source
from orchestration.keys import CdpDltTranslator
from orchestration.resources import RetailCRMApi, SpreadsheetInbox, UnisenderApi, Warehouse

_PLACEHOLDER = "http://configured-at-run-time.invalid"
_TRANSLATOR = CdpDltTranslator()


def _definition_pipeline(system: str):
    import dlt

    return dlt.pipeline(pipeline_name=system, destination="duckdb", dataset_name=f"raw_{system}")


def _report_quarantine(context: dg.AssetExecutionContext, warehouse: Warehouse, system: str) -> None:
    with warehouse.connect(read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = 'quarantine'",
            [f"raw_{system}"],
        ).fetchone()[0]
        if not exists:
            return
        rows = con.execute(f"select reason, count(*) from raw_{system}.quarantine group by 1 order by 2 desc").fetchall()
    if rows:
        total = sum(n for _, n in rows)
        context.log.warning(f"{system}: {total} row(s) in raw_{system}.quarantine: " + "; ".join(f"{n} × {r}" for r, n in rows))


@dlt_assets(
    dlt_source=retailcrm_source(base_url=_PLACEHOLDER, api_key="unset"),
    dlt_pipeline=_definition_pipeline("retailcrm"),
    name="retailcrm_ingest",
    dagster_dlt_translator=_TRANSLATOR,
    pool="duckdb_writer",
)
def retailcrm_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, retailcrm_api: RetailCRMApi):
    """RetailCRM customers and orders, merged on id."""
    yield from dlt.run(
        context,
        dlt_source=retailcrm_source(base_url=retailcrm_api.base_url, api_key=retailcrm_api.api_key),
        dlt_pipeline=duckdb.dlt_pipeline("retailcrm"),
    )
    _report_quarantine(context, duckdb, "retailcrm")


@dlt_assets(
    dlt_source=spreadsheets_source(inbox="."),
    dlt_pipeline=_definition_pipeline("spreadsheets"),
    name="spreadsheets_ingest",
    dagster_dlt_translator=_TRANSLATOR,
    pool="duckdb_writer",
)
def spreadsheets_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, spreadsheet_inbox: SpreadsheetInbox):
    """Spreadsheet inbox files, each read once per content hash; unreadable rows quarantined."""
    yield from dlt.run(
        context,
        dlt_source=spreadsheets_source(inbox=spreadsheet_inbox.path, mapping_path=spreadsheet_inbox.mapping_path),
        dlt_pipeline=duckdb.dlt_pipeline("spreadsheets"),
    )
    _report_quarantine(context, duckdb, "spreadsheets")


@dlt_assets(
    dlt_source=unisender_source(base_url=_PLACEHOLDER, api_key="unset"),
    dlt_pipeline=_definition_pipeline("unisender"),
    name="unisender_ingest",
    dagster_dlt_translator=_TRANSLATOR,
    pool="duckdb_writer",
)
def unisender_ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, duckdb: Warehouse, unisender_api: UnisenderApi):
    """Unisender contacts with their subscription status (unsubscribes feed consent)."""
    yield from dlt.run(
        context,
        dlt_source=unisender_source(base_url=unisender_api.base_url, api_key=unisender_api.api_key),
        dlt_pipeline=duckdb.dlt_pipeline("unisender"),
    )
    _report_quarantine(context, duckdb, "unisender")


ingest_assets = [retailcrm_ingest, spreadsheets_ingest, unisender_ingest]
