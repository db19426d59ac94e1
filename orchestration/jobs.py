"""Jobs, schedules and sensors."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

daily_refresh_job = dg.define_asset_job(
    "daily_refresh_job",
    selection=dg.AssetSelection.all(),
    description="Extract every source, rebuild the warehouse, and sync every segment.",
)

daily_refresh_job_schedule = dg.ScheduleDefinition(
    job=daily_refresh_job, cron_schedule="0 5 * * *", execution_timezone="Europe/Moscow",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(job=daily_refresh_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def spreadsheet_inbox_sensor(context: dg.SensorEvaluationContext):
    """A new or changed file in the spreadsheet inbox triggers a refresh. The cursor is the set of
    (name, size, mtime) seen; the ingest itself still decides by content hash."""
    folder = Path(os.environ.get("SPREADSHEET_INBOX", ""))
    if not folder.is_dir():
        return dg.SkipReason(f"inbox {folder} is not a folder")
    seen = set(filter(None, (context.cursor or "").split("\n")))
    now = {f"{p.name}|{p.stat().st_size}|{int(p.stat().st_mtime)}" for p in folder.iterdir() if p.is_file()}
    new = sorted(now - seen)
    context.update_cursor("\n".join(sorted(now)))
    if not new:
        return dg.SkipReason("no new or changed files")
    return dg.RunRequest(run_key="|".join(new))
