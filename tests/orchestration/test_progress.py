"""A run shows progress and a line per step on the terminal; everything else (Dagster's events,
what steps print, as dbt's lines are printed) goes to the log file."""

import io
import logging
import os
import sys

import dagster as dg
from rich.console import Console

from orchestration.progress import log_file_for, run_with_progress


# Like dlt's: a handler made before the run, holding the process's stderr stream of that time.
_LIBRARY_LOG = logging.getLogger("a_library")
_LIBRARY_LOG.addHandler(logging.StreamHandler(sys.__stderr__))
_LIBRARY_LOG.propagate = False


@dg.asset
def first() -> int:
    print("a line a step prints, like dbt's")
    _LIBRARY_LOG.warning("a library's warning through its own handler")
    os.write(2, b"bytes written straight to descriptor 2\n")
    return 1


@dg.asset(deps=[first])
def second(context: dg.AssetExecutionContext) -> int:
    context.log.debug("a debug line")
    return 2


@dg.asset(deps=[second])
def broken() -> int:
    raise RuntimeError("this step fails")


def _run(tmp_path, selection):
    job = dg.define_asset_job("job", selection=selection)
    defs = dg.Definitions(assets=[first, second, broken], jobs=[job])
    terminal = io.StringIO()
    log = log_file_for(tmp_path / "logs", "job")
    result = run_with_progress(defs, "job", log, Console(file=terminal, width=200))
    return result, terminal.getvalue(), log.read_text(encoding="utf-8")


def test_terminal_gets_progress_and_the_file_gets_the_log(tmp_path, capfd):
    result, terminal, log = _run(tmp_path, dg.AssetSelection.assets(first, second))
    leaked = capfd.readouterr()
    assert "a library's warning" not in leaked.err + leaked.out and "descriptor 2" not in leaked.err
    assert "a library's warning through its own handler" in log and "bytes written straight to descriptor 2" in log
    assert result.success
    assert "done first: 1 asset(s)" in terminal and "done second: 1 asset(s)" in terminal
    assert "2 of 2 assets materialised" in terminal
    assert "DEBUG" not in terminal and "a line a step prints" not in terminal
    assert "a line a step prints, like dbt's" in log
    assert "a debug line" in log and "STEP_SUCCESS" in log


def test_a_failed_step_is_named_on_the_terminal(tmp_path):
    result, terminal, log = _run(tmp_path, dg.AssetSelection.all())
    assert not result.success
    assert "FAILED broken" in terminal and "job FAILED in broken" in terminal
    assert "this step fails" in log
