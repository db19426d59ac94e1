"""The business configuration: one validated YAML file that Dagster, dbt and the connectors read.

Its path comes from `CDP_BUSINESS_CONFIG`; without it, `business.yml` in the working directory;
without that, every system we know is enabled with the defaults below (the demo's setting). A
wrong file fails before anything runs, with a message naming the bad key. The format is
documented in README.md ("Your own business") and `business.example.yml`.

dbt receives the settings as variables (`dbt_vars`): which systems are enabled and the shapes
their staging offers, survivorship ranks per source system (each spreadsheet mapping entry is a
source system of its own), the business time zone, currency, RFM as-of date and segment windows.
"""

from __future__ import annotations

import datetime as dt
import os
from statistics import NormalDist
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdp.systems import SYSTEMS

ENV_VAR = "CDP_BUSINESS_CONFIG"
DEFAULT_FILE = "business.yml"


class SettingsError(ValueError):
    """The business configuration is wrong; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemSettings(_Strict):
    """Per-system overrides; an empty entry enables the system with its defaults."""

    rank: int | None = Field(default=None, ge=1, le=99)
    timezone: str | None = None
    # spreadsheets only: the YAML mapping of the inbox's files (connectors/spreadsheets/README.md).
    mapping: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return _check_zone(value) if value else value


class RfmSettings(_Strict):
    # A date, 'latest_order' (a replayed history is scored as of its own last order), or null for
    # today in the business time zone.
    as_of: dt.date | Literal["latest_order"] | None = None
    history_months: int = Field(default=12, ge=1, le=120)


class SegmentSettings(_Strict):
    welcome_window_days: int = Field(default=14, ge=1)
    birthday_window_days: int = Field(default=7, ge=0)
    replenishment_days_before: int = Field(default=7, ge=0)
    replenishment_days_ahead: int = Field(default=14, ge=0)
    recent_buyers_days: int = Field(default=30, ge=1)
    lookalike_seed_segments: tuple[str, ...] = ("Champions", "Loyal")
    abandoned_cart_min_hours: int = Field(default=1, ge=0)
    abandoned_cart_max_hours: int = Field(default=3, ge=1)


class IdentitySettings(_Strict):
    # An identifier held by more records than this within one source system is a switchboard or
    # a shared mailbox, not a person: reported and not used for linking.
    max_records_per_identifier: int = Field(default=4, ge=2)


class ActivationSettings(_Strict):
    # Share of every activated segment held back as a control group (never synced) so a campaign's
    # lift can be measured; chosen by a stable hash of segment and customer id
    # (macros/activation/control_group.sql). A segment's meta.audience.control_share overrides it.
    control_share: float = Field(default=0.1, ge=0.0, lt=1.0)
    # Destinations this business uses (cdp/destinations.py); a segment's destination not listed
    # here is left out. Default: every destination we know.
    destinations: tuple[str, ...] | None = None
    # A list is read back from its destination (to refill what someone removed by hand) at least
    # this often; in between, a sync whose audience has nothing to add or remove by our own record
    # of the list does not contact the destination. 20 h: the daily job reads every list back, a
    # second run the same day and the hourly cart job do not. 0: read back on every run.
    read_back_hours: float = Field(default=20.0, ge=0.0)

    @field_validator("destinations")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        from cdp.destinations import DESTINATIONS

        unknown = [name for name in value or () if name not in DESTINATIONS]
        if unknown:
            raise ValueError(f"unknown destination(s) {', '.join(unknown)}; known: {', '.join(DESTINATIONS)}")
        return value


class ValueSettings(_Strict):
    """Predicted customer value (BG/NBD + Gamma-Gamma, models/intermediate/value/)."""

    # Expected purchases and revenue are predicted over this many months after the as-of date.
    horizon_months: int = Field(default=12, ge=1, le=60)
    # The holdout check refits the model on the history up to this many months before the as-of
    # date and compares its predictions with the purchases made since (marts.value_holdout_check).
    holdout_months: int = Field(default=6, ge=1, le=36)
    # Customers in the top share of predicted revenue are value tier "high" (the next 30 %
    # "medium", the rest "low"); a customer the model cannot score has no tier.
    high_value_share: float = Field(default=0.2, gt=0.0, lt=1.0)
    # "High value, slipping away": high tier and the probability of being active fell by at least
    # this much since the as-of date a month earlier.
    slipping_alive_drop: float = Field(default=0.1, gt=0.0, lt=1.0)
    # "Next-purchase window": the customer's own average gap between purchases says the next one
    # is due between this many days ago and this many days ahead.
    next_purchase_days_before: int = Field(default=7, ge=0)
    next_purchase_days_ahead: int = Field(default=14, ge=0)
    # Fewer repeat buyers than this and the model is not fitted (its parameters would be noise);
    # the marts then say so instead of predicting.
    min_repeat_customers: int = Field(default=30, ge=5)
    # Each fit sees at most this many customers (a fixed pseudo-random sample; every customer is
    # scored). 0 = all. Population parameters need far fewer; this keeps the fit within a minute.
    max_fit_customers: int = Field(default=100_000, ge=0)
    # False: the models are fitted once per as-of date and kept for the day's later builds while
    # the customer base holds (int_value_models_fitted); true: fitted again on every build.
    refit_every_run: bool = False


class LiftSettings(_Strict):
    """Campaign lift against the control group (marts.campaign_lift)."""

    # Purchases within this many days after a segment's members were assigned count for its send.
    window_days: int = Field(default=30, ge=1, le=365)
    # Below this many people in the treated or the control group the verdict is "too small to tell".
    min_group_size: int = Field(default=100, ge=2)
    # Two-sided confidence level of the intervals (0.95: z = 1.96).
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)


class BusinessSettings(_Strict):
    timezone: str = "Europe/Moscow"
    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    systems: dict[str, SystemSettings] = Field(default_factory=lambda: {name: SystemSettings() for name in SYSTEMS})
    rfm: RfmSettings = RfmSettings()
    segments: SegmentSettings = SegmentSettings()
    identity: IdentitySettings = IdentitySettings()
    activation: ActivationSettings = ActivationSettings()
    value: ValueSettings = ValueSettings()
    lift: LiftSettings = LiftSettings()
    origin: str = Field(default="(built-in defaults)", exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("systems", mode="before")
    @classmethod
    def _systems(cls, value: Any) -> Any:
        if isinstance(value, list):  # `systems: [retailcrm, spreadsheets]`
            value = {name: {} for name in value}
        if isinstance(value, dict):
            unknown = [name for name in value if name not in SYSTEMS]
            if unknown:
                raise ValueError(f"unknown system(s) {', '.join(map(str, unknown))}; known: {', '.join(SYSTEMS)}")
            value = {name: entry or {} for name, entry in value.items()}
        return value

    @model_validator(mode="after")
    def _mapping_only_for_files(self) -> "BusinessSettings":
        for name, entry in self.systems.items():
            if entry.mapping and not SYSTEMS[name].per_mapping_entry:
                raise ValueError(f"systems.{name}.mapping: only a file inbox (spreadsheets) takes a mapping")
        return self

    def destination_enabled(self, name: str) -> bool:
        return self.activation.destinations is None or name in self.activation.destinations

    def enabled(self, name: str) -> bool:
        return name in self.systems

    def rank(self, name: str) -> int:
        return self.systems[name].rank or SYSTEMS[name].rank

    def mapping_path(self) -> str | None:
        """The spreadsheet mapping, resolved against the configuration file's folder."""
        entry = self.systems.get("spreadsheets")
        if not entry or not entry.mapping:
            return None
        path = Path(entry.mapping)
        if not path.is_absolute() and self.origin and Path(self.origin).is_file():
            path = Path(self.origin).resolve().parent / path
        return str(path.resolve())

    def source_ranks(self) -> dict[str, int]:
        """Survivorship rank per source_system value: each system, and each spreadsheet mapping
        entry under its own name (its `rank`, else the inbox's)."""
        ranks = {name: self.rank(name) for name in self.systems}
        if "spreadsheets" in self.systems:
            from connectors.spreadsheets.mapping import load_mapping

            for entry in load_mapping(self.mapping_path()).entries:
                ranks[entry.name] = entry.rank or self.rank("spreadsheets")
        return ranks

    def dbt_vars(self) -> dict[str, Any]:
        return {
            "cdp_systems": {
                name: {"rank": self.rank(name), "shapes": list(SYSTEMS[name].shapes),
                       **({"timezone": entry.timezone} if entry.timezone else {}),
                       **({"per_mapping_entry": True} if SYSTEMS[name].per_mapping_entry else {})}
                for name, entry in self.systems.items()
            },
            "cdp_source_ranks": self.source_ranks(),
            "business_timezone": self.timezone,
            "currency": self.currency,
            "rfm_as_of": self.rfm.as_of.isoformat() if isinstance(self.rfm.as_of, dt.date) else self.rfm.as_of,
            "rfm_history_months": self.rfm.history_months,
            "identity_max_records_per_identifier": self.identity.max_records_per_identifier,
            "activation_control_share": self.activation.control_share,
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in self.segments.model_dump().items()},
            **{f"value_{k}": v for k, v in self.value.model_dump().items()},
            **{f"lift_{k}": v for k, v in self.lift.model_dump().items()},
            # The normal quantile of the two-sided confidence level (Jinja cannot compute it).
            "lift_z": round(NormalDist().inv_cdf(0.5 + self.lift.confidence / 2), 6),
        }


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (for example Europe/Moscow, Asia/Yekaterinburg)") from None
    return value


def _describe(error: ValidationError, origin: str) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{origin}: {where}: {message}")
    return "\n".join(lines)


def parse_settings(spec: Any, origin: str = "business configuration") -> BusinessSettings:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise SettingsError(f"{origin}: expected a mapping of settings at the top level")
    try:
        settings = BusinessSettings.model_validate({**spec, "origin": origin})
    except ValidationError as exc:
        raise SettingsError(_describe(exc, origin)) from None
    if "spreadsheets" in settings.systems:
        from connectors.spreadsheets.mapping import MappingError, load_mapping

        try:
            names = {e.name for e in load_mapping(settings.mapping_path()).entries}
        except MappingError as exc:
            raise SettingsError(f"{origin}: systems.spreadsheets.mapping: {exc}") from None
        clash = sorted(names & set(SYSTEMS))
        if clash:
            raise SettingsError(f"{origin}: spreadsheet mapping entries {', '.join(clash)} are named like systems; "
                                "rename them (an entry's name is its source_system)")
    return settings


def config_path() -> Path | None:
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise SettingsError(f"{ENV_VAR}={configured}: no such file")
        return path
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def load_settings(path: str | Path | None = None) -> BusinessSettings:
    path = Path(path) if path else config_path()
    if path is None:
        return parse_settings({}, "(built-in defaults: every system enabled)")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: cannot read the business configuration: {exc}") from None
    return parse_settings(spec, str(path))
