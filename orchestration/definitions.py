"""The one Definitions, built from the business settings (`CDP_BUSINESS_CONFIG`, cdp/settings.py)
and the declaration of every source system (cdp/systems.py): an ingest asset and a `<system>_api`
resource per enabled system, the dbt assets parsed and run with the settings as dbt variables,
activation, the daily job and its schedule, and an inbox sensor per enabled file inbox.

A wrong settings file stops here, with `cdp.settings.SettingsError` naming the bad key, before any
asset is built or any run starts."""

from __future__ import annotations

import sys
from collections.abc import Collection
from pathlib import Path

import dagster as dg
from dagster_dlt import DagsterDltResource

from assets.activate import build_activation_definitions
from assets.ingest import build_ingest_assets
from assets.transform import build_dbt_assets
from cdp.settings import BusinessSettings, load_settings
from cdp.systems import SYSTEMS
from orchestration.dbt import DbtCli, dbt_project, ensure_manifest
from orchestration.jobs import build_sensors, cart_recovery_definitions, daily_refresh_job, daily_refresh_job_schedule
from cdp.destinations import DESTINATIONS
from orchestration.resources import (
    S3Storage, Warehouse, destination_resource, destination_resource_key, resource_key, system_api,
)


def dbt_executable() -> str:
    """`cdp-dbt` (cdp/dbt_cli.py) beside this interpreter: dbt that dies with the run that started it
    (PITFALLS: a killed run must not leave dbt holding the DuckDB lock). An environment installed
    before the script existed falls back to plain dbt, with a warning."""
    bin_dir = Path(sys.executable).parent
    wrapper = bin_dir / "cdp-dbt"
    if wrapper.exists():
        return str(wrapper)
    dg.get_dagster_logger().warning(f"{wrapper} is missing (reinstall the project: make setup); "
                                    "dbt runs unwrapped and may outlive a killed run")
    return str(bin_dir / "dbt")


def build_resources(settings: BusinessSettings, required: Collection[str] = ()) -> dict:
    """Warehouse, dlt, dbt and S3 as always; `<system>_api` for every enabled system, and for a
    system that an asset needs (`required`); `<destination>_destination` for every destination an
    activation asset needs (cdp/destinations.py), and no other."""
    systems = [s for name, s in SYSTEMS.items() if settings.enabled(name) or resource_key(s) in required]
    destinations = {destination_resource_key(name): destination_resource(name) for name in DESTINATIONS
                    if name != "s3_file" and destination_resource_key(name) in required}
    return {
        "dlt": DagsterDltResource(),
        "dbt": DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "duckdb": Warehouse(path=dg.EnvVar("CDP_DUCKDB_PATH")),
        "s3": S3Storage(
            endpoint_url=dg.EnvVar("S3_ENDPOINT_URL"),
            bucket=dg.EnvVar("S3_AUDIENCE_BUCKET"),
            access_key_id=dg.EnvVar("S3_ACCESS_KEY_ID"),
            secret_access_key=dg.EnvVar("S3_SECRET_ACCESS_KEY"),
        ),
        **{resource_key(system): system_api(system, settings) for system in systems},
        **destinations,
    }


def build_definitions(settings: BusinessSettings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    ingest_assets = build_ingest_assets(settings)
    dbt_models = build_dbt_assets(settings)
    activation_assets, activation_checks = build_activation_definitions(
        ensure_manifest(settings), settings.destination_enabled, settings.activation.read_back_hours)
    cart_jobs, cart_schedules = cart_recovery_definitions([a.key for a in activation_assets], settings)
    required = {key for a in activation_assets for key in a.required_resource_keys}
    return dg.Definitions(
        assets=[*ingest_assets, dbt_models, *activation_assets],
        asset_checks=activation_checks,
        jobs=[daily_refresh_job, *cart_jobs],
        schedules=[daily_refresh_job_schedule(settings), *cart_schedules],
        sensors=build_sensors(settings),
        resources=build_resources(settings, required),
        # One process, one step at a time: DuckDB allows a single writer (PITFALLS: dagster#26848).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
