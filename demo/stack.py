"""Start the local stand-ins for the outside world: the RetailCRM and Unisender emulators and an S3
endpoint (moto's server), each as its own process on a free loopback port, and return the
environment variables that point the pipeline at them."""

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

DEMO_KEY = "demo-key"  # the emulators' key; not a secret of any real account

# Every emulated system: `python -m emulators.<system> --data DIR --port N --api-key KEY`, and the
# environment variables that point the pipeline at it (`<PREFIX>_BASE_URL`, `<PREFIX>_API_KEY`).
EMULATED_SYSTEMS: dict[str, str] = {
    "retailcrm": "RETAILCRM",
    "unisender": "UNISENDER",
    "bitrix24": "BITRIX24",
    "amocrm": "AMOCRM",
    "sendsay": "SENDSAY",
    "onec": "ONEC",
}


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
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def running_stack(data_dir: Path, bucket: str = "cdp-audiences", rate_limit: int | None = None) -> Iterator[dict[str, str]]:
    """`rate_limit` lifts every emulator's requests-per-second limit (the benchmark times our side,
    not the real services' throttles, which it reports separately)."""
    procs: list[subprocess.Popen] = []
    try:
        ports = {name: free_port() for name in (*EMULATED_SYSTEMS, "s3")}
        env: dict[str, str] = {}
        started = {
            name: subprocess.Popen([sys.executable, "-m", f"emulators.{name}", "--data", str(data_dir),
                                    "--port", str(ports[name]), "--api-key", DEMO_KEY,
                                    *(["--rate-limit", str(rate_limit)] if rate_limit else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for name in EMULATED_SYSTEMS
        }
        procs.extend(started.values())
        for name, prefix in EMULATED_SYSTEMS.items():  # all start at once, then we wait for each
            _wait(f"http://127.0.0.1:{ports[name]}/_emulator/health", started[name])
            env[f"{prefix}_BASE_URL"] = f"http://127.0.0.1:{ports[name]}"
            env[f"{prefix}_API_KEY"] = DEMO_KEY
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(ports["s3"])],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        _wait(f"http://127.0.0.1:{ports['s3']}/", moto)
        env |= {
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3']}",
            "S3_AUDIENCE_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
            "SPREADSHEET_INBOX": str((data_dir / "inbox").resolve()),
            "ONEC_EXCHANGE_DIR": str((data_dir / "onec" / "exchange").resolve()),
        }
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
