"""The demo's stack of emulators stops with the process that started it, however that process is
told to stop: a script ended with `kill` (SIGTERM) must not leave emulators on their ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys, time
from pathlib import Path
from demo.stack import running_stack
with running_stack(Path(sys.argv[1])):
    print("ready", flush=True)
    while True:
        time.sleep(1)
"""


def _sigterm_as_from_a_shell() -> None:
    """The script starts with SIGTERM at its default, as from a shell. This test process may have it
    ignored: Dagster's in-process runs leave SIGTERM mapped to SIGINT's handler, which in a job
    started in the background is 'ignore', and an ignored signal is inherited across exec."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_sigterm_to_a_script_running_the_stack_stops_every_emulator(demo_data):
    script = subprocess.Popen([sys.executable, "-c", SCRIPT, str(demo_data)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              preexec_fn=_sigterm_as_from_a_shell)
    children: list[psutil.Process] = []
    try:
        assert script.stdout.readline().strip() == "ready"
        children = psutil.Process(script.pid).children()
        assert len(children) >= 5  # the emulators and moto's S3
        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=60) != 0
        gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, [" ".join(p.cmdline()) for p in alive]
    finally:
        if script.poll() is None:
            script.kill()
        for child in children:  # whatever the signal left running, so the test run is not left with it
            if child.is_running():
                child.kill()
