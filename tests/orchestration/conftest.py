"""Definitions here are built with the demo's business configuration (every system enabled), as the
demo and the UI run them; tests that need other settings pass or point at their own file."""

import pytest

from demo.stack import BUSINESS_CONFIG


@pytest.fixture(autouse=True, scope="module")
def demo_business_config():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDP_BUSINESS_CONFIG", str(BUSINESS_CONFIG))
        yield BUSINESS_CONFIG
