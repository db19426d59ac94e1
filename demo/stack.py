"""Start the local stand-ins for the outside world: an emulator for every emulated system of
cdp/systems.py and every emulated destination of cdp/destinations.py whose emulator exists
(`emulators/<name>.py`; a system that is both, like Unisender, runs once), and an S3 endpoint (moto's server), each as its own process on a free loopback port,
and return the environment variables that point the pipeline at them and at the demo's files, with
the demo's business configuration (demo/business.yml)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import requests

from cdp.destinations import DESTINATIONS, DestinationSystem
from cdp.settings import ENV_VAR as BUSINESS_CONFIG_VAR
from cdp.systems import SYSTEMS, System

DEMO_KEY = "demo-key"  # the emulators' key; not a secret of any real account
BUSINESS_CONFIG = Path(__file__).resolve().with_name("business.yml")

# Every emulated system is started as `python -m emulators.<system> --data DIR --port N --api-key KEY`.
EMULATED_SYSTEMS: dict[str, System] = {name: s for name, s in SYSTEMS.items() if s.emulated}
EMULATORS = Path(__file__).resolve().parents[1] / "emulators"
# Destinations with an emulator of their own; each also gets the emulator of a system of the same name.
EMULATED_DESTINATIONS: dict[str, DestinationSystem] = {
    name: d for name, d in DESTINATIONS.items() if d.emulated and (EMULATORS / f"{name}.py").exists()}


def destination_env(dest: DestinationSystem, url: str) -> dict[str, str]:
    """Point a destination's settings at its emulator: `base_url` there, secrets the emulators' key,
    a required setting without a default (an app's client id) a demo value."""
    env = {dest.settings["base_url"].env: url} if "base_url" in dest.settings else {}
    for arg, setting in dest.settings.items():
        if arg != "base_url" and (setting.secret or setting.default is None):
            env[setting.env] = DEMO_KEY
    return env


def emulator_env(system: System, url: str) -> dict[str, str]:
    """Point a system's settings at its emulator: `base_url` at the emulator, every secret (API key,
    password) the emulators' key; other settings keep their defaults, which are the emulators'."""
    env = {system.settings["base_url"].env: url}
    env |= {s.env: DEMO_KEY for s in system.settings.values() if s.secret}
    return env


def file_system_env(system: System, data_dir: Path) -> dict[str, str]:
    """Point a file-based system's folders at the demo data: the generator writes each folder at the
    place under the demo data folder that the setting's default names under `data/`."""
    return {s.env: str((data_dir / Path(s.default).relative_to("data")).resolve())
            for s in system.settings.values() if s.default and s.default.startswith("data/")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(proc.args)} exited with {proc.returncode}")
        try:
            # Only our server's own answer: another process on a reused port answers too (a 404).
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def running_stack(data_dir: Path, bucket: str = "cdp-audiences", rate_limit: int | None = None,
                  start_timeout: float = 60) -> Iterator[dict[str, str]]:
    """`rate_limit` lifts every emulator's requests-per-second limit (the benchmark times our side,
    not the real services' throttles, which it reports separately). `start_timeout`: seconds each
    emulator may take to load its data and answer (the benchmark's 1 M people need minutes)."""
    procs: list[subprocess.Popen] = []
    restore = _terminate_as_exit()
    try:
        emulated = [*EMULATED_SYSTEMS, *(n for n in EMULATED_DESTINATIONS if n not in EMULATED_SYSTEMS)]
        ports: dict[str, int] = {}
        for name in (*emulated, "s3"):  # a port just released can be handed out again: keep them distinct
            port = free_port()
            while port in ports.values():
                port = free_port()
            ports[name] = port
        env: dict[str, str] = {}
        started = {
            name: subprocess.Popen([sys.executable, "-m", f"emulators.{name}", "--data", str(data_dir),
                                    "--port", str(ports[name]), "--api-key", DEMO_KEY,
                                    *(["--rate-limit", str(rate_limit)] if rate_limit else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for name in emulated
        }
        procs.extend(started.values())
        for name in emulated:  # all start at once, then we wait for each
            _wait(f"http://127.0.0.1:{ports[name]}/_emulator/health", started[name], start_timeout)
            if name in EMULATED_SYSTEMS:
                env |= emulator_env(EMULATED_SYSTEMS[name], f"http://127.0.0.1:{ports[name]}")
            if name in EMULATED_DESTINATIONS:
                env |= destination_env(EMULATED_DESTINATIONS[name], f"http://127.0.0.1:{ports[name]}")
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(ports["s3"])],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        _wait(f"http://127.0.0.1:{ports['s3']}/", moto)
        env |= {
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3']}",
            "S3_AUDIENCE_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
            BUSINESS_CONFIG_VAR: str(BUSINESS_CONFIG),
        }
        for system in SYSTEMS.values():
            if not system.emulated:
                env |= file_system_env(system, data_dir)
        import boto3

        boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        yield env
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        restore()


def _terminate_as_exit():
    """Make SIGTERM end this process the way Ctrl-C does, by an exception, so the stack's `finally`
    stops the emulators: Python's default for SIGTERM is to die at once, which left them running
    on their ports (a benchmark or a script stopped with `kill`). Only from the main thread, where
    a handler can be set; answers the function that puts the previous handler back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return lambda: None  # the program has its own way of stopping: leave it

    stopping: list[int] = []

    def stop(signum, frame):
        if not stopping:  # a second SIGTERM while the first unwinds must not cut the cleanup short
            stopping.append(signum)
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
