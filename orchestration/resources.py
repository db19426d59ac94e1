"""Resources: where the warehouse is and how to reach each outside system. Secrets come only
from environment variables (`dg.EnvVar`), locally from a git-ignored `.env`."""

from __future__ import annotations

from pathlib import Path

import boto3
import dagster as dg
import dlt
import duckdb
from botocore.config import Config as BotoConfig


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file. dlt, dbt and our own assets all write to this one path.

    `state_dir` holds what must outlive the warehouse itself: the customer id registry and its
    history (see int_customer_ids_assigned). Empty means `state/` beside the DuckDB file.
    """

    path: str
    state_dir: str = ""

    @property
    def identity_state_dir(self) -> str:
        return self.state_dir or str(Path(self.path).resolve().parent / "state")

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.path, read_only=read_only)

    def dlt_pipeline(self, system: str) -> dlt.Pipeline:
        """Pipeline `<system>` into dataset `raw_<system>`; local dlt state lives beside the file."""
        return dlt.pipeline(
            pipeline_name=system,
            destination=dlt.destinations.duckdb(self.path),
            dataset_name=f"raw_{system}",
            pipelines_dir=str(Path(self.path).resolve().parent / ".dlt_pipelines"),
        )


class RetailCRMApi(dg.ConfigurableResource):
    base_url: str
    api_key: str


class UnisenderApi(dg.ConfigurableResource):
    base_url: str
    api_key: str


class SpreadsheetInbox(dg.ConfigurableResource):
    """A local folder of xlsx/csv files and the YAML mapping that says what their columns mean."""

    path: str
    mapping_path: str | None = None


class S3Storage(dg.ConfigurableResource):
    """Any S3-compatible store (Yandex Object Storage, MinIO, moto's server in the demo)."""

    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "ru-central1"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )
