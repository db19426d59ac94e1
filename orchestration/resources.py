"""Resources: where the warehouse is and how to reach each outside system. Secrets come only
from environment variables (`dg.EnvVar`), locally from a git-ignored `.env`.

Each source system's resource `<system>_api` is derived from its declaration in cdp/systems.py:
one field per argument of its dlt source (`System.settings`), each read from the setting's
environment variable. A file inbox (a system whose mapping entries are systems of their own) also
carries the business's mapping and the S3 account an `s3://` inbox is read with.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import dlt
import duckdb
from botocore.config import Config as BotoConfig
from pydantic import Field, create_model

from cdp.memory import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV, duckdb_destination  # noqa: F401 (the budget's names, read here by tests)
from cdp.settings import BusinessSettings
from cdp.systems import SYSTEMS, System




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
        """Pipeline `<system>` into dataset `raw_<system>`; local dlt state lives beside the file,
        DuckDB held to the run's memory budget."""
        return dlt.pipeline(
            pipeline_name=system,
            destination=duckdb_destination(self.path),
            dataset_name=f"raw_{system}",
            pipelines_dir=str(Path(self.path).resolve().parent / ".dlt_pipelines"),
        )


class S3Storage(dg.ConfigurableResource):
    """Any S3-compatible store (Yandex Object Storage, MinIO, moto's server in the demo)."""

    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "ru-central1"

    def destination(self):
        """Audience files in this bucket (connectors/common/s3_destination.py)."""
        from connectors.common.s3_destination import S3FileDestination

        return S3FileDestination(self.client(), self.bucket)

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )


# The S3 account of an s3:// spreadsheet inbox: the same variables as the audience bucket's.
S3_INBOX_ENV = {
    "s3_endpoint_url": "S3_ENDPOINT_URL",
    "s3_access_key_id": "S3_ACCESS_KEY_ID",
    "s3_secret_access_key": "S3_SECRET_ACCESS_KEY",
}


class SourceApi(dg.ConfigurableResource):
    """How to reach one source system: the arguments of its dlt source. Subclasses are generated
    per system (`api_resource_class`), one field per `Setting`."""

    def source_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the system's dlt source (None means: the source's own default)."""
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None}


class FileInboxApi(SourceApi):
    """A folder or an `s3://bucket/prefix/` of csv/xlsx/xls files (the system's `inbox` setting), the
    business's mapping that says what their columns mean, and the S3 account used only when the
    inbox is an S3 address."""

    mapping_path: str | None = Field(default=None, description="the business's spreadsheet mapping (YAML)")
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str | None = None

    def open(self):
        """The inbox itself (the sensor lists it without reading any file)."""
        from connectors.spreadsheets.inbox import open_inbox

        return open_inbox(getattr(self, "inbox"), s3_endpoint_url=self.s3_endpoint_url,
                          s3_access_key_id=self.s3_access_key_id, s3_secret_access_key=self.s3_secret_access_key,
                          s3_region=self.s3_region)


def resource_key(system: System | str) -> str:
    return f"{system if isinstance(system, str) else system.name}_api"


@functools.cache
def api_resource_class(name: str) -> type[SourceApi]:
    """`<Name>Api` with one `str` field per setting: required unless the setting has a default
    (secrets always are). Built once per system, so every caller sees the same class."""
    system = SYSTEMS[name]
    fields: dict[str, Any] = {
        arg: (str, Field(default=... if setting.secret or setting.default is None else setting.default,
                         description=f"{setting.help} (${setting.env})".strip()))
        for arg, setting in system.settings.items()
    }
    base = FileInboxApi if system.per_mapping_entry else SourceApi
    return create_model(f"{name.capitalize()}Api", __base__=base, __module__=__name__,
                        __doc__=f"{system.title}: the arguments of `{system.source}`.", **fields)


def _env_if_set(env: str) -> dg.EnvVar | None:
    """An optional value is bound to its variable only when the variable is set: `dg.EnvVar` has no
    default, and an unset variable would fail the run instead of taking the declared default. This
    reads the environment when the definitions are built (a run worker builds them again in its own
    environment, so both agree); required values and secrets are always `dg.EnvVar`."""
    return dg.EnvVar(env) if env in os.environ else None


def system_api(system: System, settings: BusinessSettings) -> SourceApi:
    """The `<system>_api` resource: every setting from its environment variable (never a literal
    secret, never argv), the declared default where a variable is unset."""
    values: dict[str, Any] = {}
    for arg, setting in system.settings.items():
        required = setting.secret or setting.default is None
        value = dg.EnvVar(setting.env) if required else _env_if_set(setting.env)
        if value is not None:
            values[arg] = value
    if system.per_mapping_entry:
        values["mapping_path"] = settings.mapping_path()
        for arg, env in S3_INBOX_ENV.items():
            if (value := _env_if_set(env)) is not None:
                values[arg] = value
    return api_resource_class(system.name)(**values)


class DestinationApi(dg.ConfigurableResource):
    """How to reach one destination (cdp/destinations.py): one field per `Setting`, and the client
    built from them. Subclasses are generated per destination (`destination_resource_class`)."""

    def client(self):
        """The destination's client (`DestinationSystem.client`, "module:Class"), built with the
        settings as keyword arguments. Imported here, when a sync runs, not at import."""
        import importlib

        from cdp.destinations import destination

        module, _, cls = destination(type(self).destination_name).client.partition(":")
        return getattr(importlib.import_module(module), cls)(**{n: getattr(self, n) for n in type(self).model_fields})


def destination_resource_key(name: str) -> str:
    """`s3` for files (the bucket's own resource), `<destination>_destination` for the rest."""
    return "s3" if name == "s3_file" else f"{name}_destination"


@functools.cache
def destination_resource_class(name: str) -> type[DestinationApi]:
    from cdp.destinations import destination

    dest = destination(name)
    fields: dict[str, Any] = {
        arg: (str, Field(default=... if setting.secret or setting.default is None else setting.default,
                         description=f"{setting.help} (${setting.env})".strip()))
        for arg, setting in dest.settings.items()
    }
    model = create_model(f"{''.join(p.capitalize() for p in name.split('_'))}Destination", __base__=DestinationApi,
                         __module__=__name__, __doc__=f"{dest.title}: {dest.description}", **fields)
    model.destination_name = name
    return model


def destination_resource(name: str) -> DestinationApi:
    """The destination's resource: every setting from its environment variable (`dg.EnvVar`), the
    declared default where an optional variable is unset."""
    from cdp.destinations import destination

    values: dict[str, Any] = {}
    for arg, setting in destination(name).settings.items():
        required = setting.secret or setting.default is None
        value = dg.EnvVar(setting.env) if required else _env_if_set(setting.env)
        if value is not None:
            values[arg] = value
    return destination_resource_class(name)(**values)
