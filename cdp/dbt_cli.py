"""dbt with the business settings: every dbt command gets the same `--vars` Dagster gives it.

    python -m cdp.dbt_cli build                       # the whole project, the current settings
    python -m cdp.dbt_cli build --select +customer_360
    CDP_BUSINESS_CONFIG=demo/business.yml python -m cdp.dbt_cli parse
    python -m cdp.dbt_cli vars                        # print the variables and stop

The settings are read from `CDP_BUSINESS_CONFIG` (cdp/settings.py) and passed as
`--vars <json of dbt_vars()>` unless the command line has its own `--vars`; `--project-dir` and
`--profiles-dir` default to `dbt_project/` when neither the command line nor `DBT_PROJECT_DIR` /
`DBT_PROFILES_DIR` names them. The warehouse file is `CDP_DUCKDB_PATH`, as for Dagster. Then this
process becomes dbt (exec), so signals and the exit code are dbt's own.

Dagster runs dbt through this module too (the `cdp-dbt` script is its `dbt_executable`). Started
that way (dagster-dbt sets `DAGSTER_DBT_CLI=true`), dbt asks the kernel to end it when the process
that started it dies (Linux `PR_SET_PDEATHSIG`): a run killed outright (SIGKILL, an out-of-memory
kill) then cannot leave dbt running and holding the DuckDB lock. A dbt started by hand keeps the
usual behaviour and outlives its shell under `nohup`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

_PARENT = os.getppid()  # taken first: the check after prctl compares against it

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# Commands that read the project (every one takes --vars, --project-dir and --profiles-dir).
PROJECT_COMMANDS = {"build", "run", "test", "seed", "snapshot", "compile", "parse", "list", "ls", "show",
                    "run-operation", "retry", "clone", "debug", "docs", "source", "deps", "clean"}


def dbt_vars(settings: Any = None) -> dict[str, Any]:
    from cdp.settings import load_settings

    return (settings or load_settings()).dbt_vars()


def dbt_vars_json(settings: Any = None) -> str:
    """The `--vars` argument: stable (sorted keys), so equal settings give equal text."""
    return json.dumps(dbt_vars(settings), sort_keys=True, separators=(",", ":"))


def _has_flag(args: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in args)


def dbt_args(args: list[str], settings: Any = None, environ: dict[str, str] | None = None) -> list[str]:
    """The command line dbt gets: `args` plus the settings' `--vars` and the project folders, each
    unless given."""
    environ = os.environ if environ is None else environ
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in PROJECT_COMMANDS:  # `--version`, `--help`, or nothing: pass through
        return list(args)
    extra: list[str] = []
    if not _has_flag(args, "--vars"):
        extra += ["--vars", dbt_vars_json(settings)]
    if not _has_flag(args, "--project-dir") and not environ.get("DBT_PROJECT_DIR"):
        extra += ["--project-dir", str(PROJECT_DIR)]
    if not _has_flag(args, "--profiles-dir") and not environ.get("DBT_PROFILES_DIR"):
        extra += ["--profiles-dir", str(PROJECT_DIR)]
    return [*args, *extra]


def die_with_parent() -> None:
    """Linux only: SIGTERM this process when its parent dies; survives exec."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    # A blocked or ignored SIGTERM is inherited across fork and exec (a library in the process that
    # started us may have blocked it around its own spawn): the parent's death would then never
    # reach us. This process wants the default: to die.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0) != 0:
        return
    if os.getppid() != _PARENT:  # the parent died before the request took effect
        os._exit(128 + signal.SIGTERM)


def dbt_executable() -> str:
    """The dbt beside this interpreter, so an un-activated virtualenv still finds it."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["vars"]:
        print(json.dumps(dbt_vars(), ensure_ascii=False, indent=2))
        return 0
    from cdp.settings import SettingsError

    try:
        full = dbt_args(args)
    except SettingsError as exc:  # say what is wrong in the configuration, not a traceback
        print(f"cdp.dbt_cli: {exc}", file=sys.stderr)
        return 2
    if os.environ.get("DAGSTER_DBT_CLI") == "true":
        die_with_parent()
    executable = dbt_executable()
    sys.stdout.flush()
    os.execv(executable, [executable, *full])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
