"""The dbt step never leaves dbt running after it ends (it would hold the DuckDB lock)."""

import subprocess
import sys

from assets.transform import stop


def test_a_dbt_step_that_ends_early_leaves_no_dbt_behind():
    dbt = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop(dbt)
    assert dbt.returncode is not None


def test_a_finished_dbt_is_left_alone():
    dbt = subprocess.Popen([sys.executable, "-c", "pass"])
    dbt.wait()
    stop(dbt)
    assert dbt.returncode == 0
