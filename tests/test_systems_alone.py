"""Any business, any subset: the warehouse builds with each system enabled alone, and with none of
the API systems, before any of them was ever loaded (an empty warehouse). A system that is enabled
but not loaded reads as empty through `raw_table()`; a disabled one is never unioned.

Each case is a real `dbt build` of every model and seed (contracts enforced) through the same
`python -m cdp.dbt_cli` the pipeline uses, on its own DuckDB file. Data and unit tests are left
out here (half the time); they run on real data in the end-to-end and own-business tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import duckdb
import pytest

from cdp.systems import SYSTEMS

CASES = {name: [name] for name in SYSTEMS}
CASES["files_only"] = [name for name, system in SYSTEMS.items() if name in ("spreadsheets", "commerceml")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_warehouse_builds_with_only_these_systems(case, tmp_path):
    systems = CASES[case]
    config = tmp_path / "business.yml"
    config.write_text("systems:\n" + "".join(f"  {name}:\n" for name in systems) + "rfm:\n  as_of: 2025-01-31\n",
                      encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    env = {**os.environ, "CDP_BUSINESS_CONFIG": str(config), "CDP_DUCKDB_PATH": str(warehouse),
           "CDP_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "cdp.dbt_cli", "build", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"), "--quiet", "--exclude", "resource_type:test", "resource_type:unit_test"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        marts = {t for (t,) in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        customers = con.execute("select count(*) from marts.customer_360").fetchone()[0]
    assert {"customer_360", "consent_current", "fct_orders", "rfm"} <= marts
    assert customers == 0  # nothing was loaded, and nothing was made up
    # The unions read the enabled systems' staging and no other.
    compiled = next((tmp_path / "target" / "compiled").rglob("int_person_records_raw.sql")).read_text(encoding="utf-8")
    named = set(re.findall(r"stg_([a-z0-9]+)__person_records", compiled))
    assert named == {name for name in systems if "person_records" in SYSTEMS[name].shapes}
