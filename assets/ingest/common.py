"""What every ingest module shares: the placeholder pipeline Dagster reads the tables from, the
translator that names assets `raw/<system>/<table>`, and the quarantine report after a run."""

import dagster as dg

from orchestration.keys import CdpDltTranslator
from orchestration.resources import Warehouse

PLACEHOLDER_URL = "http://configured-at-run-time.invalid"
TRANSLATOR = CdpDltTranslator()


def definition_pipeline(system: str):
    """A pipeline that is never run: `@dlt_assets` reads the source's tables from it at import."""
    import dlt

    return dlt.pipeline(pipeline_name=system, destination="duckdb", dataset_name=f"raw_{system}")


def report_quarantine(context: dg.AssetExecutionContext, warehouse: Warehouse, system: str) -> None:
    """Log how many rows the source refused and why (counts and reasons only, never payloads)."""
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
