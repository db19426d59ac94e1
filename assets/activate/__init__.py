"""Activation assets built from the segments' dbt `meta.audience`: for every segment and each of
its destinations, an `audience/<destination>/<segment>` asset (who would be sent, consent-gated,
with the blocking check `every_member_has_consent`) and an `activation/<destination>/<segment>`
asset that syncs it. Adding a destination to a segment is a YAML change in dbt_project."""


import json
from pathlib import Path
from typing import Any

import dagster as dg

from assets.activate import audience as audience_mod
from assets.activate import s3_sync, unisender_sync
from assets.activate.audience import Destination
from connectors.unisender import UnisenderClient
from orchestration.keys import activation_key, audience_key
from orchestration.resources import S3Storage, UnisenderApi, Warehouse

SUPPORTED = {"unisender", "s3_file"}


def destinations_from_manifest(manifest_path: Path) -> list[Destination]:
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    found: list[Destination] = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        spec = meta.get("audience")
        if not spec:
            continue
        for d in spec.get("destinations", []):
            if d["type"] not in SUPPORTED:
                raise ValueError(f"{node['name']}: destination type {d['type']!r} is not one of {sorted(SUPPORTED)}")
            found.append(Destination(
                segment=node["name"], type=d["type"], channel=d.get("channel", spec["channel"]),
                identifier=d.get("identifier", spec["identifiers"][0]), description=node.get("description", ""),
                options={k: v for k, v in d.items() if k not in ("type", "channel", "identifier")},
            ))
    return sorted(found, key=lambda d: (d.segment, d.type))


def _audience_asset(dest: Destination) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    key = audience_key(dest.type, dest.segment)

    @dg.asset(key=key, deps=[dg.AssetKey(["segments", dest.segment]), dg.AssetKey(["marts", "consent_current"])],
              group_name="activate", kinds={"duckdb"}, pool="duckdb_writer",
              description=f"Who {dest.segment} would send to {dest.type}: members with {dest.channel} consent and a {dest.identifier}.")
    def _audience(context: dg.AssetExecutionContext, duckdb: Warehouse) -> dg.MaterializeResult:
        with duckdb.connect() as con:
            counts = audience_mod.build(con, dest)
        context.log.info(f"{dest.segment} → {dest.type}: {counts}")
        return dg.MaterializeResult(metadata={k: dg.MetadataValue.int(v) for k, v in counts.items()})

    @dg.asset_check(asset=key, name="every_member_has_consent", blocking=True,
                    description=f"Every contact in the audience has current {dest.channel} consent; the sync does not run otherwise.")
    def _gate(duckdb: Warehouse) -> dg.AssetCheckResult:
        with duckdb.connect(read_only=True) as con:
            bad = audience_mod.members_without_consent(con, dest)
        return dg.AssetCheckResult(passed=bad == 0, metadata={"members_without_consent": bad},
                                   description=None if bad == 0 else f"{bad} member(s) lack {dest.channel} consent")

    return _audience, _gate


def _activation_asset(dest: Destination) -> dg.AssetsDefinition:
    key = activation_key(dest.type, dest.segment)
    common: dict[str, Any] = dict(key=key, deps=[audience_key(dest.type, dest.segment)], group_name="activate",
                                  pool="duckdb_writer", description=(dest.description or dest.segment).strip())

    if dest.type == "unisender":
        @dg.asset(**common, kinds={"unisender"})
        def _sync(context: dg.AssetExecutionContext, duckdb: Warehouse, unisender_api: UnisenderApi) -> dg.MaterializeResult:
            client = UnisenderClient(unisender_api.base_url, unisender_api.api_key)
            with duckdb.connect() as con:
                result = unisender_sync.sync(con, client, dest, context.run.run_id, context.log)
            return dg.MaterializeResult(metadata=result)
    else:
        @dg.asset(**common, kinds={"s3"})
        def _sync(context: dg.AssetExecutionContext, duckdb: Warehouse, s3: S3Storage) -> dg.MaterializeResult:
            with duckdb.connect() as con:
                result = s3_sync.sync(con, s3.client(), s3.bucket, dest, context.run.run_id, context.log)
            return dg.MaterializeResult(metadata=result)

    return _sync


def build_activation_definitions(manifest_path: Path) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for dest in destinations_from_manifest(manifest_path):
        audience_asset, gate = _audience_asset(dest)
        assets += [audience_asset, _activation_asset(dest)]
        checks.append(gate)
    return assets, checks
