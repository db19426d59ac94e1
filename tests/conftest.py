"""Shared fixtures: small demo data generated once per session into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.generate import Config, generate

SMALL = 1500


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(Config(customers=SMALL, seed=7), out)
    return out
