"""The one Definitions: resources from the environment, ingest → transform → activate assets,
the daily job and its schedule, and the inbox sensor."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from assets.activate import build_activation_definitions
from assets.ingest import ingest_assets
from assets.transform import dbt_models
from orchestration.dbt import dbt_project, ensure_manifest
from orchestration.jobs import (
    cart_recovery_definitions,
    daily_refresh_job,
    daily_refresh_job_schedule,
    spreadsheet_inbox_sensor,
)
from orchestration.resources import RetailCRMApi, S3Storage, SpreadsheetInbox, UnisenderApi, Warehouse
from orchestration.resources import Bitrix24Api
from orchestration.resources import AmoCRMApi
from orchestration.resources import SendsayApi
from orchestration.resources import OneCApi, OneCExchange


def build_resources() -> dict:
    return {
        "dlt": DagsterDltResource(),
        # The dbt beside this interpreter, so an un-activated virtualenv still finds it.
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
        "duckdb": Warehouse(path=dg.EnvVar("CDP_DUCKDB_PATH")),
        "retailcrm_api": RetailCRMApi(base_url=dg.EnvVar("RETAILCRM_BASE_URL"), api_key=dg.EnvVar("RETAILCRM_API_KEY")),
        "unisender_api": UnisenderApi(base_url=dg.EnvVar("UNISENDER_BASE_URL"), api_key=dg.EnvVar("UNISENDER_API_KEY")),
        "bitrix24_api": Bitrix24Api(base_url=dg.EnvVar("BITRIX24_BASE_URL"), api_key=dg.EnvVar("BITRIX24_API_KEY")),
        "amocrm_api": AmoCRMApi(base_url=dg.EnvVar("AMOCRM_BASE_URL"), access_token=dg.EnvVar("AMOCRM_API_KEY")),
        "sendsay_api": SendsayApi(base_url=dg.EnvVar("SENDSAY_BASE_URL"), api_key=dg.EnvVar("SENDSAY_API_KEY")),
        # 1C: the API key of the stack is the OData user's password; the user name is on the resource.
        "onec_api": OneCApi(base_url=dg.EnvVar("ONEC_BASE_URL"), password=dg.EnvVar("ONEC_API_KEY")),
        "onec_exchange": OneCExchange(path=dg.EnvVar("ONEC_EXCHANGE_DIR")),
        # An s3:// inbox uses the same S3-compatible account as the audience bucket.
        "spreadsheet_inbox": SpreadsheetInbox(
            path=dg.EnvVar("SPREADSHEET_INBOX"),
            s3_endpoint_url=dg.EnvVar("S3_ENDPOINT_URL"),
            s3_access_key_id=dg.EnvVar("S3_ACCESS_KEY_ID"),
            s3_secret_access_key=dg.EnvVar("S3_SECRET_ACCESS_KEY"),
        ),
        "s3": S3Storage(
            endpoint_url=dg.EnvVar("S3_ENDPOINT_URL"),
            bucket=dg.EnvVar("S3_AUDIENCE_BUCKET"),
            access_key_id=dg.EnvVar("S3_ACCESS_KEY_ID"),
            secret_access_key=dg.EnvVar("S3_SECRET_ACCESS_KEY"),
        ),
    }


def build_definitions() -> dg.Definitions:
    activation_assets, activation_checks = build_activation_definitions(ensure_manifest())
    cart_jobs, cart_schedules = cart_recovery_definitions([a.key for a in activation_assets])
    return dg.Definitions(
        assets=[*ingest_assets, dbt_models, *activation_assets],
        asset_checks=activation_checks,
        jobs=[daily_refresh_job, *cart_jobs],
        schedules=[daily_refresh_job_schedule, *cart_schedules],
        sensors=[spreadsheet_inbox_sensor],
        resources=build_resources(),
        # One process, one step at a time: DuckDB allows a single writer (PITFALLS: dagster#26848).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
