"""Run the pipeline once, in this process, for your own business, and say what it produced.

    python -m orchestration.run --config business.yml --inbox path/to/exports --warehouse data/mine.duckdb

It does what the daily job does for the systems your business configuration enables: extract,
build the warehouse (customers, consent, RFM, segments) and the consent-gated audiences. Syncing
audiences to outside destinations (mailing tools, ad cabinets, S3) needs their credentials, so it
runs only with `--activate`; `--dry-run` instead shows, per destination, what a sync would add and
remove, and sends nothing. For a schedule, sensors and the UI use `dagster dev -w workspace.yaml` with the
same environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _options(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m orchestration.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, help="business configuration (default: $CDP_BUSINESS_CONFIG, else ./business.yml)")
    ap.add_argument("--inbox", help="the spreadsheet inbox: a folder or s3://bucket/prefix/ (default: $SPREADSHEET_INBOX)")
    ap.add_argument("--warehouse", type=Path, help="the DuckDB file (default: $CDP_DUCKDB_PATH, else data/warehouse.duckdb)")
    ap.add_argument("--activate", action="store_true", help="also sync the audiences to their destinations")
    ap.add_argument("--dry-run", action="store_true",
                    help="plan the syncs: report adds and removes per destination, send nothing")
    ap.add_argument("--read-back", action="store_true",
                    help="with --activate: read every list back from its destination now, however recently it "
                         "was (activation.read_back_hours in the business configuration)")
    return ap.parse_args(argv)


def sync_config(defs, **values) -> dict:
    """Run config giving every activation asset the same SyncConfig values (assets/activate)."""
    ops = {a.node_def.name: {"config": values} for a in defs.assets
           if hasattr(a, "keys") and any(k.path[0] == "activation" for k in a.keys)}
    return {"ops": ops}


def dry_run_config(defs) -> dict:
    """Run config that makes every activation asset plan instead of send."""
    return sync_config(defs, dry_run=True)


def print_plan(warehouse: Path, run_id: str) -> None:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""select destination, segment, list_name, status, audience, held_before, added, removed, message
                              from activation.sync_report where run_id = ? order by 1, 2""", [run_id]).fetchall()
    print("Dry run: nothing was sent. Per destination, what a sync would do:")
    for dest, seg, name, status, audience, held, added, removed, message in rows:
        print(f"  {dest:<16} «{name}» ({seg}): audience {audience:,}, holds {held if held is not None else '?'}, "
              f"would add {added:,}, remove {removed:,}" + (f" — {message}" if message else ""))


def main(argv: list[str] | None = None) -> int:
    args = _options(argv)
    # A command line is the process's own entry point: it sets the variables the definitions read,
    # before anything is built, exactly as a shell `export` would.
    if args.config:
        os.environ["CDP_BUSINESS_CONFIG"] = str(args.config.resolve())
    if args.inbox:
        os.environ["SPREADSHEET_INBOX"] = args.inbox if args.inbox.startswith("s3://") else str(Path(args.inbox).resolve())
    warehouse = (args.warehouse or Path(os.environ.get("CDP_DUCKDB_PATH", "data/warehouse.duckdb"))).resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    os.environ["CDP_DUCKDB_PATH"] = str(warehouse)

    import dagster as dg

    from cdp.settings import SettingsError, load_settings
    from cdp.summary import print_summary, summary
    from orchestration.definitions import build_definitions
    from orchestration.progress import log_file_for, run_with_progress

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    selection = dg.AssetSelection.all()
    if not (args.activate or args.dry_run):
        selection = selection - dg.AssetSelection.key_prefixes(["activation"])
    built = build_definitions(settings)
    config = (dry_run_config(built) if args.dry_run
              else sync_config(built, read_back_hours=0.0) if args.activate and args.read_back else None)
    job = dg.define_asset_job("run_once", selection=selection)
    defs = dg.Definitions.merge(built, dg.Definitions(jobs=[job]))
    started = time.perf_counter()
    result = run_with_progress(defs, "run_once", log_file_for(warehouse.parent / "logs", "run_once"), run_config=config)
    if args.dry_run:
        print_plan(warehouse, result.run_id)
    if not result.success:
        for event in [e for e in result.all_events if e.is_failure][:5]:
            error = getattr(event.event_specific_data, "error", None)
            print(f"FAILED: {event.step_key}: {error.message if error else event.message}", file=sys.stderr)
        return 1
    print(f"Pipeline finished in {time.perf_counter() - started:.1f}s ({', '.join(settings.systems)})")
    print_summary(summary(warehouse), warehouse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
