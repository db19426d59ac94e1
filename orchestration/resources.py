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


class Bitrix24Api(dg.ConfigurableResource):
    """An incoming webhook `https://<portal>/rest/<user_id>/<code>/`: `base_url` is the portal
    address (a `/rest/<user_id>` suffix is honoured), `api_key` the secret webhook code."""

    base_url: str
    api_key: str
    user_id: int = 1


class AmoCRMApi(dg.ConfigurableResource):
    """`https://<subdomain>.amocrm.ru` (or `.kommo.com`) and a long-lived access token (or an
    OAuth access token someone keeps fresh), sent as `Authorization: Bearer`."""

    base_url: str
    access_token: str


class SpreadsheetInbox(dg.ConfigurableResource):
    """A local folder or an `s3://bucket/prefix/` of csv/xlsx/xls files, and the YAML mapping that
    says what their columns mean. The S3 fields are used only when `path` is an S3 address."""

    path: str
    mapping_path: str | None = None
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str | None = None

    def source_kwargs(self) -> dict:
        """Arguments for `spreadsheets_source` (and `open_inbox`, minus the mapping)."""
        return {"inbox": self.path, "mapping_path": self.mapping_path, "s3_endpoint_url": self.s3_endpoint_url,
                "s3_access_key_id": self.s3_access_key_id, "s3_secret_access_key": self.s3_secret_access_key,
                "s3_region": self.s3_region}

    def open(self):
        from connectors.spreadsheets.inbox import open_inbox

        return open_inbox(self.path, s3_endpoint_url=self.s3_endpoint_url, s3_access_key_id=self.s3_access_key_id,
                          s3_secret_access_key=self.s3_secret_access_key, s3_region=self.s3_region)


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


class SendsayApi(dg.ConfigurableResource):
    """Sendsay: the API host (`https://api.sendsay.ru`; the client adds
    `/general/api/v100/json/<login>`), the account login, and a sub-user's API key. The login is
    not secret; the demo account's name is the default."""

    base_url: str
    api_key: str
    login: str = "linzy-shop"


class OneCApi(dg.ConfigurableResource):
    """1C's standard OData interface: the publication (`https://host/trade`; `/odata/standard.odata`
    is added), an infobase user with read rights on the published objects, and its password.
    The user name is not secret; `odata` (the demo infobase's) is the default."""

    base_url: str
    password: str
    user: str = "odata"
    sales_lookback_days: int = 30


class OneCExchange(dg.ConfigurableResource):
    """The folder 1C (or the site) writes CommerceML exchange files into."""

    path: str
