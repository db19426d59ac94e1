"""Activation assets: one `activation/<destination>/<segment>` asset per audience dbt model (the
models of dbt_project/models/activation that carry `meta.activation`, generated from the segments'
meta), each needing only its own destination's resource, so a business that only writes files
needs no mailing tool's key. Before each sync, a blocking check reads the independent consent gate
(activation.consent_gate_offenders) for that audience; the sync itself (assets/activate/engine.py)
reads the gate again right before sending. Adding a destination to a segment is a YAML change.

A destination whose client module is not installed is left out with a warning (its audience model
is still built and tested).
"""


import importlib.util
import json
from pathlib import Path
from typing import Optional

import dagster as dg

from cdp.audiences import AudienceSpec
from cdp.destinations import destination
from orchestration.keys import activation_key, audience_key, audience_spec_meta
from orchestration.resources import Warehouse, destination_resource_key

GATE_CHECK = "every_address_has_consent_by_the_events"


class SyncConfig(dg.Config):
    dry_run: bool = False  # report the adds and removes per destination; send nothing, change nothing
    # Read the destination back unless it was read back less than this many hours ago and our record
    # of the list has nothing to add or remove (assets/activate/engine.py). Unset: the business
    # setting `activation.read_back_hours`; 0 reads every list back now.
    read_back_hours: Optional[float] = None


def audiences_from_manifest(manifest_path: Path) -> list[AudienceSpec]:
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    specs = [AudienceSpec.from_meta(meta) for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and (meta := audience_spec_meta(node))]
    return sorted(specs, key=lambda s: (s.segment, s.destination))


def client_available(name: str) -> bool:
    module = destination(name).client.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _gate(spec: AudienceSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=audience_key(spec.destination, spec.segment), name=GATE_CHECK, blocking=True,
                    description=f"Every address sent to {destination(spec.destination).title} has {spec.channel} "
                                f"consent by the consent events themselves (not the mart that built the audience); "
                                f"the sync does not run otherwise.")
    def _check(duckdb: Warehouse) -> dg.AssetCheckResult:
        from assets.activate.engine import gate_offenders

        with duckdb.connect(read_only=True) as con:
            offenders = gate_offenders(con, spec)
        return dg.AssetCheckResult(
            passed=not offenders,
            metadata={"offenders": len(offenders), "offender_hashes": dg.MetadataValue.json([h for h, _ in offenders[:50]])},
            description=None if not offenders else f"{len(offenders)} address(es) without consent by the events: "
                        + ", ".join(f"{h} ({r})" for h, r in offenders[:10]))

    return _check


def _metadata(report) -> dict:
    meta = {
        "destination": destination(report.destination).title, "list": report.list_name, "list_id": report.list_id,
        "mode": report.mode, "dry_run": report.dry_run, "status": report.status, "audience": report.audience,
        "added": report.added, "removed": report.removed, "rejected": report.rejected,
        "rejected_reasons": dg.MetadataValue.json(report.rejected_reasons),
    }
    if report.held_after is not None:
        meta["now_holds"] = report.held_after
    if report.holding is not None:
        if report.holding.matched is not None:
            meta["matched"] = report.holding.matched
            if report.holding.size:
                meta["match_rate"] = round(report.holding.matched / report.holding.size, 4)
        if report.holding.status:
            meta["platform_status"] = report.holding.status
        if report.holding.url:
            meta["url"] = dg.MetadataValue.url(report.holding.url) if report.holding.url.startswith("http") else report.holding.url
    if report.message:
        meta["message"] = report.message
    return meta


def _activation(spec: AudienceSpec, read_back_hours: float) -> dg.AssetsDefinition:
    dest = destination(spec.destination)
    resource = destination_resource_key(spec.destination)

    @dg.asset(key=activation_key(spec.destination, spec.segment), deps=[audience_key(spec.destination, spec.segment), dg.AssetKey(["audience", "consent_gate_offenders"]),
                    dg.AssetKey(["audience", "control_group_members"])],
              group_name="activate", kinds={spec.destination}, pool="duckdb_writer",
              required_resource_keys={"duckdb", resource},
              description=f"{spec.segment} → {dest.title}, «{spec.list_name}» ({spec.identifier}, {spec.mode}). "
                          f"{dest.description}")
    def _sync(context: dg.AssetExecutionContext, config: SyncConfig) -> dg.MaterializeResult:
        from assets.activate.engine import sync

        res = getattr(context.resources, resource)
        client = res.destination() if spec.destination == "s3_file" else res.client()
        with context.resources.duckdb.connect() as con:
            report = sync(con, client, spec, context.run.run_id, dry_run=config.dry_run, log=context.log,
                          read_back_hours=read_back_hours if config.read_back_hours is None else config.read_back_hours)
        if report.status in ("failed", "blocked"):
            raise dg.Failure(description=report.message, metadata=_metadata(report))
        return dg.MaterializeResult(metadata=_metadata(report))

    return _sync


def build_activation_definitions(manifest_path: Path, enabled=lambda name: True, read_back_hours: float = 0.0,
                                 ) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition]]:
    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for spec in audiences_from_manifest(manifest_path):
        if not enabled(spec.destination):
            continue
        if not client_available(spec.destination):
            dg.get_dagster_logger().warning(f"{spec.destination}: client {destination(spec.destination).client} is not "
                                            f"installed; {spec.segment} is not synced there")
            continue
        assets.append(_activation(spec, read_back_hours))
        checks.append(_gate(spec))
    return assets, checks
