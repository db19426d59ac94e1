"""The environment's name (local, ci, prod); the dbt target has the same name."""

import os


def environment_name() -> str:
    return os.environ.get("CDP_ENV", "local")
