"""What every ingest asset shares: the declared dlt source, the placeholder pipeline Dagster reads
the tables from, the translator that names assets `raw/<system>/<table>`, and the row counts and
quarantine report after a run."""

import importlib
from typing import Callable

import dagster as dg

from cdp.memory import release_freed_memory, resident_bytes
from orchestration.keys import CdpDltTranslator
from orchestration.resources import Warehouse

TRANSLATOR = CdpDltTranslator()


# dlt's default for DuckDB is INSERT statements; Parquet loads through DuckDB's own reader.
# RetailCRM at 20,000 people (35,293 orders): load 125 s with the default, 15 s with Parquet
# (/tmp/prof_rcrm2.py in the issue-15 notes; the 2-core machine, shared).
LOADER_FILE_FORMAT = "parquet"


def load_source(path: str) -> Callable:
    """The dlt source function named `module:function` in a system's declaration."""
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


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


def run_and_report(context: dg.AssetExecutionContext, dlt_resource, source, pipeline, warehouse: Warehouse, system: str):
    """Run a dlt source as its assets, then add each table's total row count (`dagster/row_count`,
    shown in the UI next to dlt's rows-loaded-this-run) and report the quarantine."""
    started_at = resident_bytes()
    results = list(dlt_resource.run(context, dlt_source=source, dlt_pipeline=pipeline,
                                    loader_file_format=LOADER_FILE_FORMAT))
    with warehouse.connect(read_only=True) as con:
        existing = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [f"raw_{system}"]).fetchall()}
        for result in results:
            key = getattr(result, "asset_key", None)
            table = key.path[-1] if key is not None else None
            if table in existing and hasattr(result, "_replace"):
                total = con.execute(f'select count(*) from "raw_{system}"."{table}"').fetchone()[0]
                result = result._replace(metadata={**(result.metadata or {}), "dagster/row_count": dg.MetadataValue.int(total)})
            yield result
    report_quarantine(context, warehouse, system)
    # The steps after this one run in this process (and the dbt step beside it): the load's pages,
    # Arrow buffers and DuckDB's scratch go back to the system instead of staying with Python.
    release_freed_memory(since=started_at)
