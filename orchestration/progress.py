"""Run a job in this process the way a person watches it: one progress bar over the assets and a
line per finished step, with the full Dagster log (every event, dbt's and dlt's lines included)
written to a file instead of the terminal.

Why: Dagster's default console logger prints every event at DEBUG; a newcomer's first `make demo`
was some 1,500 lines in which the one failure was hard to find. The log is still all there, in
the file this prints at the start and the end.

The progress is driven by the run's own events, read from the log records Dagster hands its
loggers (`record.dagster_meta["dagster_event"]`): a step starting, an asset materialised, a step
done or failed. Nothing is polled and no work is repeated.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class _RunWatcher(logging.Handler):
    """Writes every record to the log file; moves the bar on the run's events."""

    def __init__(self, log_file: Path, progress: Progress, task, console: Console,
                 on_event: Callable[[str, str], None] | None = None):
        super().__init__(level=logging.DEBUG)
        self.on_event = on_event
        self.file = log_file.open("a", encoding="utf-8")
        self.formatter = logging.Formatter(_FORMAT)
        self.progress, self.task, self.console = progress, task, console
        self.started: dict[str, float] = {}
        self.materialised: dict[str, int] = {}
        self.failed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.file.write(self.format(record) + "\n")
            self.file.flush()
        except Exception:  # a log line must never break the run
            self.handleError(record)
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        if event is None:
            return
        kind, step = event.event_type_value, event.step_key or ""
        if self.on_event is not None:
            self.on_event(kind, step)
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            self.progress.update(self.task, description=f"running {step}")
        elif kind == "ASSET_MATERIALIZATION":
            self.materialised[step] = self.materialised.get(step, 0) + 1
            self.progress.advance(self.task)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = time.perf_counter() - self.started.get(step, time.perf_counter())
            assets = self.materialised.get(step, 0)
            mark = "[green]done[/green]" if kind == "STEP_SUCCESS" else "[red]FAILED[/red]"
            if kind == "STEP_FAILURE":
                self.failed.append(step)
            what = f"{assets} asset(s) in " if assets else ""
            self.console.print(f"  {mark} {step}: {what}{seconds:.1f}s", soft_wrap=True)

    def close(self) -> None:
        self.file.close()
        super().close()


@contextlib.contextmanager
def _stderr_descriptor_to(file) -> Iterator[None]:
    """Point file descriptor 2 at `file` for a while. `redirect_stderr` only swaps `sys.stderr`; a
    logging handler made earlier keeps the stream it was given (dlt's prints its schema warnings,
    dozens of lines per source, through such a handler), and that stream writes to descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def log_file_for(folder: Path, job_name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"{job_name}-{stamp}.log"


def run_with_progress(defs: dg.Definitions, job_name: str, log_file: Path, console: Console | None = None,
                      run_config: dict | None = None, on_event: Callable[[str, str], None] | None = None,
                      ) -> dg.ExecuteInProcessResult:
    """Execute `job_name` of `defs` in this process (ephemeral instance), showing progress on
    `console` and writing the whole log to `log_file`. `run_config` is the run's own config (ops);
    the loggers are added to it. `on_event(event_type, step_key)` is called as each event happens
    (the benchmark marks step boundaries with it)."""
    # Bound to the terminal now: during the run stdout and stderr go to the log file (dagster-dbt
    # writes every dbt event line to stdout).
    console = console or Console(file=sys.stdout)
    job = defs.resolve_job_def(job_name)
    total = len(job.asset_layer.selected_asset_keys)
    console.print(f"Running {job_name}: {total} assets; full log in {log_file}", soft_wrap=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("starting", total=total)
        stack = contextlib.ExitStack()
        watcher = _RunWatcher(log_file, progress, task, console, on_event)
        python_logger = logging.getLogger(f"cdp.run.{job_name}")
        python_logger.setLevel(logging.DEBUG)
        python_logger.propagate = False
        python_logger.handlers = [watcher]

        @dg.logger(description="Progress on the terminal, the whole log in a file (orchestration/progress.py).")
        def _to_file_and_bar(_init_context) -> logging.Logger:
            return python_logger

        try:
            captured = stack.enter_context(log_file.open("a", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(captured))
            stack.enter_context(contextlib.redirect_stderr(captured))
            stack.enter_context(_stderr_descriptor_to(captured))
            with_logger = dg.Definitions.merge(defs, dg.Definitions(loggers={"cdp_progress": _to_file_and_bar}))
            with dg.DagsterInstance.ephemeral() as instance:
                # A job's loggers start only when the run config names them; naming ours also keeps
                # Dagster's default console logger from starting.
                result = with_logger.resolve_job_def(job_name).execute_in_process(
                    run_config={**(run_config or {}), "loggers": {"cdp_progress": {}}}, instance=instance,
                    raise_on_error=False)
        finally:
            stack.close()
            python_logger.handlers = []
            watcher.close()
    done = sum(watcher.materialised.values())
    verdict = "finished" if result.success else f"FAILED in {', '.join(watcher.failed) or 'a step'}"
    console.print(f"{job_name} {verdict}: {done} of {total} assets materialised; full log: {log_file}", soft_wrap=True)
    return result
