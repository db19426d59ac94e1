"""Jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from orchestration.resources import SpreadsheetInbox

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
def spreadsheet_inbox_sensor(context: dg.SensorEvaluationContext, spreadsheet_inbox: SpreadsheetInbox):
    """A new or changed file in the spreadsheet inbox (folder or S3 prefix) triggers a refresh. The
    cursor is the set of (name, size and mtime or ETag) seen; the ingest still decides by content hash."""
    try:
        now = {f"{f.name}|{f.stamp}" for f in spreadsheet_inbox.open().files()}
    except Exception as exc:  # a missing folder or an unreachable bucket: say so, try again next tick
        return dg.SkipReason(f"inbox {spreadsheet_inbox.path} cannot be listed: {type(exc).__name__}: {exc}")
    seen = set(filter(None, (context.cursor or "").split("\n")))
    new = sorted(now - seen)
    context.update_cursor("\n".join(sorted(now)))
    if not new:
        return dg.SkipReason("no new or changed files")
    return dg.RunRequest(run_key="|".join(new))


def cart_recovery_definitions(activation_keys: list[dg.AssetKey]) -> tuple[list, list]:
    """An hourly job for the abandoned-cart audience (a reminder is worth sending within hours,
    not tomorrow): everything upstream of its activations, i.e. a fresh load of carts and orders
    through identity, consent and the segment. Nothing when no segment is named so."""
    keys = [k for k in activation_keys if k.path[-1] == "seg_abandoned_cart"]
    if not keys:
        return [], []
    job = dg.define_asset_job(
        "cart_recovery_job",
        selection=dg.AssetSelection.assets(*keys).upstream(),
        description="Refresh carts and orders and sync the abandoned-cart audience.",
    )
    schedule = dg.ScheduleDefinition(
        name="cart_recovery_job_schedule", job=job, cron_schedule="15 * * * *",
        execution_timezone="Europe/Moscow", default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    return [job], [schedule]
