"""The one asset-key scheme, used by the dlt and dbt translators alike:

  raw tables      raw/<system>/<table>
  dbt models      <layer>/<model>        (staging, intermediate, marts, segments, reference, audience)
  audiences       audience/<destination>/<segment>   (dbt models of models/activation/ that carry
                  meta.activation: what would be sent, consent per address, control group held back)
  activations     activation/<destination>/<segment>
"""

from __future__ import annotations

from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData


def raw_key(system: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", system, table])


def audience_key(destination: str, segment: str) -> dg.AssetKey:
    return dg.AssetKey(["audience", destination, segment])


def activation_key(destination: str, segment: str) -> dg.AssetKey:
    return dg.AssetKey(["activation", destination, segment])


def dbt_layer(props: Mapping[str, Any]) -> str:
    if props["resource_type"] == "seed":
        return "reference"
    fqn = props.get("fqn", [])
    layer = fqn[1] if len(fqn) > 2 else "models"
    if layer == "marts" and len(fqn) > 3 and fqn[2] == "segments":
        return "segments"
    if layer == "activation":  # the audiences; `activation/` keys are the syncs themselves
        return "audience"
    return layer


def audience_spec_meta(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The audience spec a generated audience model carries (cdp/audience_models.py)."""
    return ((props.get("config") or {}).get("meta") or props.get("meta") or {}).get("activation")


class CdpDltTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        system = data.resource.source_name
        return spec.replace_attributes(
            key=raw_key(system, data.resource.table_name if isinstance(data.resource.table_name, str) else data.resource.name),
            deps=[],
            group_name="ingest",
        ).merge_attributes(kinds={"dlt", "duckdb"})


class CdpDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        if spec := audience_spec_meta(dbt_resource_props):
            return audience_key(spec["destination"], spec["segment"])
        return dg.AssetKey([dbt_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        layer = dbt_layer(dbt_resource_props)
        return "activate" if layer == "audience" else layer

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return dbt_resource_props.get("description") or super().get_description(dbt_resource_props)
