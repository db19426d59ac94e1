"""`python -m cdp.dbt_cli`: dbt with the business settings as --vars, and dbt that dies with the
Dagster run that started it (PITFALLS: a killed run must not leave dbt holding the DuckDB lock)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdp.dbt_cli import PROJECT_DIR, dbt_args, dbt_vars_json
from cdp.settings import parse_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings():
    return parse_settings({"systems": ["retailcrm"], "rfm": {"as_of": "2024-12-31"}}, "test settings")


def test_the_settings_become_vars_and_the_project_folders_defaults(settings):
    args = dbt_args(["build", "--select", "+rfm"], settings, environ={})
    assert args[:3] == ["build", "--select", "+rfm"]
    passed = json.loads(args[args.index("--vars") + 1])
    assert passed == json.loads(dbt_vars_json(settings))
    assert list(passed["cdp_systems"]) == ["retailcrm"] and passed["rfm_as_of"] == "2024-12-31"
    assert args[args.index("--project-dir") + 1] == str(PROJECT_DIR)
    assert args[args.index("--profiles-dir") + 1] == str(PROJECT_DIR)


def test_what_the_command_line_says_wins(settings):
    given = ["build", "--vars", "{}", "--project-dir=elsewhere", "--profiles-dir", "p"]
    assert dbt_args(given, settings, environ={}) == given
    assert dbt_args(["parse"], settings, environ={"DBT_PROJECT_DIR": "x", "DBT_PROFILES_DIR": "y"})[1] == "--vars"
    assert dbt_args(["--version"], settings, environ={}) == ["--version"]


def test_a_wrong_settings_file_is_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "business.yml"
    bad.write_text("systems: [nosuch]\n")
    done = subprocess.run([sys.executable, "-m", "cdp.dbt_cli", "parse"], env={**os.environ, "CDP_BUSINESS_CONFIG": str(bad)},
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "systems: unknown system(s) nosuch" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("run_prelude", [
    "",
    # A run whose SIGTERM is blocked or ignored when it starts dbt: both are inherited across exec.
    "import signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}); ",
    "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); ",
], ids=["plain", "sigterm-blocked", "sigterm-ignored"])
def test_started_by_dagster_it_dies_with_the_process_that_started_it(tmp_path, run_prelude):
    """The wrapper's request survives its exec into dbt; here the 'dbt' is a sleeping Python, and the
    'run' that started it is killed outright (SIGKILL: no chance to forward anything)."""
    pid_file = tmp_path / "child.pid"
    child = ("import os, time, pathlib; from cdp.dbt_cli import die_with_parent; die_with_parent(); "
             f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(120)")
    run = subprocess.Popen([sys.executable, "-c", f"{run_prelude}import subprocess, sys; "
                                                  f"subprocess.Popen([sys.executable, '-c', {child!r}]).wait()"],
                           cwd=ROOT, env={**os.environ, "DAGSTER_DBT_CLI": "true"})
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
        assert time.monotonic() < deadline, "the child outlived the process that started it"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"
