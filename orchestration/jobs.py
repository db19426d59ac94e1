"""Jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from cdp.settings import BusinessSettings
from cdp.systems import SYSTEMS, System
from orchestration.resources import resource_key

daily_refresh_job = dg.define_asset_job(
    "daily_refresh_job",
    selection=dg.AssetSelection.all(),
    description="Extract every source, rebuild the warehouse, and sync every segment.",
)



def daily_refresh_job_schedule(settings: BusinessSettings) -> dg.ScheduleDefinition:
    """05:00 in the business's time zone."""
    return dg.ScheduleDefinition(
        name="daily_refresh_job_schedule", job=daily_refresh_job, cron_schedule="0 5 * * *",
        execution_timezone=settings.timezone, default_status=dg.DefaultScheduleStatus.STOPPED,
    )


def inbox_sensor(system: System) -> dg.SensorDefinition:
    """`<system>_inbox_sensor`: a new or changed file in a file inbox (folder or S3 prefix) triggers a
    refresh. The cursor is the set of (name, size and mtime or ETag) seen; the ingest still decides
    by content hash."""
    key = resource_key(system)

    @dg.sensor(name=f"{system.name}_inbox_sensor", job=daily_refresh_job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.STOPPED, required_resource_keys={key},
               description=f"A new or changed file in the {system.title} inbox triggers daily_refresh_job.")
    def _sensor(context: dg.SensorEvaluationContext):
        inbox = getattr(context.resources, key)
        try:
            now = {f"{f.name}|{f.stamp}" for f in inbox.open().files()}
        except Exception as exc:  # a missing folder or an unreachable bucket: say so, try again next tick
            return dg.SkipReason(f"inbox {inbox.inbox} cannot be listed: {type(exc).__name__}: {exc}")
        seen = set(filter(None, (context.cursor or "").split("\n")))
        new = sorted(now - seen)
        context.update_cursor("\n".join(sorted(now)))
        if not new:
            return dg.SkipReason("no new or changed files")
        return dg.RunRequest(run_key="|".join(new))

    return _sensor


def build_sensors(settings: BusinessSettings) -> list[dg.SensorDefinition]:
    """An inbox sensor for every enabled file inbox."""
    return [inbox_sensor(system) for name, system in SYSTEMS.items()
            if system.per_mapping_entry and settings.enabled(name)]


def cart_recovery_definitions(activation_keys: list[dg.AssetKey], settings: BusinessSettings) -> tuple[list, list]:
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
        execution_timezone=settings.timezone, default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    return [job], [schedule]
