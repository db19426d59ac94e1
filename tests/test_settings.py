"""The business configuration: a wrong file is refused before anything runs, naming the bad key;
a right one reaches dbt as the variables the models read."""

from __future__ import annotations

import pytest

from cdp.settings import SettingsError, load_settings, parse_settings


def _write(tmp_path, text: str, name: str = "business.yml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, named", [
    ("systems: [retailcrm, hubspot]\n", "hubspot"),
    ("timezone: Moscow/Russia\n", "timezone"),
    ("rfm:\n  as_of: yesterday\n", "rfm.as_of"),
    ("segments:\n  welcome_window_dayz: 3\n", "welcome_window_dayz"),
    ("currency: rubles\n", "currency"),
    ("value:\n  horizon_months: 0\n", "value.horizon_months"),
    ("value:\n  high_value_share: 1.5\n", "value.high_value_share"),
    ("lift:\n  window: 30\n", "lift.window"),
    ("lift:\n  confidence: 1\n", "lift.confidence"),
    ("systems:\n  retailcrm:\n    mapping: m.yml\n", "systems.retailcrm"),
    ("systems:\n  spreadsheets:\n    mapping: no_such_mapping.yml\n", "no_such_mapping.yml"),
])
def test_a_wrong_configuration_names_what_is_wrong(tmp_path, text, named):
    with pytest.raises(SettingsError) as error:
        load_settings(_write(tmp_path, text))
    assert named in str(error.value) and str(tmp_path) in str(error.value)


def test_a_mapping_entry_named_like_a_system_is_refused(tmp_path):
    _write(tmp_path, "mappings:\n  - name: retailcrm\n    patterns: ['*']\n    table: members\n    record_id: id\n"
                     "    columns: {email: E-mail}\n", "mapping.yml")
    with pytest.raises(SettingsError, match="retailcrm"):
        load_settings(_write(tmp_path, "systems:\n  spreadsheets:\n    mapping: mapping.yml\n"))


def test_dbt_receives_the_enabled_systems_ranks_and_knobs(tmp_path):
    _write(tmp_path, "mappings:\n  - name: crm_export\n    rank: 1\n    patterns: ['crm*']\n    table: members\n"
                     "    record_id: id\n    columns: {email: E-mail}\n", "mapping.yml")
    settings = load_settings(_write(tmp_path, """
timezone: Asia/Yekaterinburg
currency: RUB
systems:
  spreadsheets: {mapping: mapping.yml, rank: 3}
  unisender:
    timezone: UTC
rfm: {as_of: 2025-06-30}
segments: {welcome_window_days: 21}
"""))
    v = settings.dbt_vars()
    assert set(v["cdp_systems"]) == {"spreadsheets", "unisender"}
    assert v["cdp_systems"]["unisender"]["timezone"] == "UTC" and "timezone" not in v["cdp_systems"]["spreadsheets"]
    assert v["cdp_source_ranks"] == {"spreadsheets": 3, "unisender": 5, "crm_export": 1}
    assert (v["business_timezone"], v["rfm_as_of"], v["welcome_window_days"]) == ("Asia/Yekaterinburg", "2025-06-30", 21)


def test_no_file_means_every_system_with_the_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("CDP_BUSINESS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.rfm.as_of is None and settings.timezone == "Europe/Moscow"
    assert len(settings.systems) == 8



def test_value_and_lift_settings_reach_dbt_with_the_normal_quantile(tmp_path):
    v = load_settings(_write(tmp_path, "value: {horizon_months: 6, holdout_months: 3}\n"
                                       "lift: {window_days: 14, confidence: 0.9}\n")).dbt_vars()
    assert (v["value_horizon_months"], v["value_holdout_months"], v["lift_window_days"]) == (6, 3, 14)
    assert v["lift_z"] == pytest.approx(1.644854, abs=1e-6)
    assert parse_settings({}).dbt_vars()["lift_z"] == pytest.approx(1.959964, abs=1e-6)
