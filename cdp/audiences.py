"""Which audiences exist: one per segment and destination, read from the segments' dbt
`meta.audience` and the destinations' declarations (cdp/destinations.py).

A segment says where it goes in its YAML (dbt_project/models/marts/segments/_segments__models.yml):

    meta:
      audience:
        control_share: 0.1          # optional; else the business setting activation.control_share
        destinations:
          - type: unisender
            list: "Реактивация: вернуть уснувших"   # the list's name as a marketer reads it
            identifier: email       # optional; a form the destination takes (its first by default)
            channel: email          # optional; else the destination's channel for that address type
            mode: mirror            # optional; mirror | add_only | upsert, else the destination's
            min_audience: 100       # optional; may only raise the platform's own minimum

From that, `python -m cdp.audience_models` writes one dbt model per (segment, destination)
(`dbt_project/models/activation/`), and Dagster builds one activation asset per model from the
`meta.activation` those models carry. Everything downstream reads the spec, nobody re-derives it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cdp.destinations import DESTINATIONS, IDENTIFIER_FORMS, Mode, destination

MODES = ("mirror", "add_only", "upsert")


class AudienceSpecError(ValueError):
    """A segment's meta.audience names something that does not exist or does not fit."""


@dataclass(frozen=True)
class AudienceSpec:
    segment: str
    destination: str
    list_name: str
    identifier: str  # one of IDENTIFIER_FORMS
    channel: str
    mode: Mode
    min_audience: int
    control_share: float | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def address_type(self) -> str:
        return self.identifier.split("_")[0]

    @property
    def model(self) -> str:
        return f"audience__{self.destination}__{self.segment}"

    def as_meta(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {})}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "AudienceSpec":
        return cls(**meta)


def _spec(segment: str, audience: dict[str, Any], entry: dict[str, Any]) -> AudienceSpec:
    where = f"{segment}: meta.audience.destinations"
    name = entry.get("type")
    if name not in DESTINATIONS:
        raise AudienceSpecError(f"{where}: type {name!r} is not a destination; known: {', '.join(DESTINATIONS)}")
    dest = destination(name)
    identifier = entry.get("identifier", dest.identifier_forms[0])
    if identifier not in IDENTIFIER_FORMS or identifier not in dest.identifier_forms:
        raise AudienceSpecError(f"{where}: {name} takes {', '.join(dest.identifier_forms)}, not {identifier!r}")
    address_type = identifier.split("_")[0]
    channel = entry.get("channel") or dest.channels[address_type]
    mode = entry.get("mode", dest.default_mode)
    if mode not in MODES:
        raise AudienceSpecError(f"{where}: mode {mode!r} is not one of {', '.join(MODES)}")
    list_name = entry.get("list") or entry.get("prefix")
    if not list_name:
        raise AudienceSpecError(f"{where}: {name} needs a `list` (the name marketers see)")
    minimum = max(int(entry.get("min_audience", 0)), dest.min_audience)
    share = entry.get("control_share", audience.get("control_share"))
    options = {k: v for k, v in entry.items()
               if k not in ("type", "list", "identifier", "channel", "mode", "min_audience", "control_share")}
    return AudienceSpec(segment, name, list_name, identifier, channel, mode, minimum,
                        None if share is None else float(share), options)


def audience_specs(segment_meta: dict[str, dict[str, Any]]) -> list[AudienceSpec]:
    """Every (segment, destination) the segments declare, given each segment's dbt meta."""
    specs = [_spec(segment, meta["audience"], entry)
             for segment, meta in segment_meta.items() if (meta or {}).get("audience")
             for entry in meta["audience"].get("destinations", [])]
    seen: set[str] = set()
    for spec in specs:
        if spec.model in seen:
            raise AudienceSpecError(f"{spec.segment}: {spec.destination} is named twice; one audience per segment "
                                    f"and destination")
        seen.add(spec.model)
    return sorted(specs, key=lambda s: (s.segment, s.destination))
