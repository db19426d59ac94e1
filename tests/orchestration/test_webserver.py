"""The Dagster UI's server, started the way `make ui` starts it (`workspace.yaml`), serves the whole
asset graph: what the browser draws comes from this GraphQL answer, so a broken code location or a
lost dependency shows up here and not only in someone's browser."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from demo.stack import BUSINESS_CONFIG, free_port

ROOT = Path(__file__).resolve().parents[2]

ASSET_GRAPH = """
{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }
"""


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(home), "CDP_BUSINESS_CONFIG": str(BUSINESS_CONFIG)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"dagster-webserver exited: {proc.stderr.read()[-2000:]}"
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "dagster-webserver did not answer within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _graph(url: str) -> dict[str, dict]:
    # The code location loads in the background after the server answers: poll until it has.
    deadline = time.monotonic() + 180
    while True:
        answer = requests.post(f"{url}/graphql", json={"query": ASSET_GRAPH}, timeout=60).json()
        nodes = (answer.get("data") or {}).get("assetNodes") or []
        if nodes or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert nodes, f"the UI shows no assets: {answer}"
    return {"/".join(n["assetKey"]["path"]): n for n in nodes}


def test_ui_serves_the_chain_from_raw_data_to_a_synced_audience(webserver):
    nodes = _graph(webserver)
    # The home page answers too (the UI's own HTML, not an error page).
    page = requests.get(webserver, timeout=10)
    assert page.ok and "<div id=\"root\"" in page.text

    def parents(key):
        return {"/".join(d["path"]) for d in nodes[key]["dependencyKeys"]}

    def ancestors(key):
        seen, todo = set(), [key]
        while todo:
            for parent in parents(todo.pop()):
                if parent not in seen and parent in nodes:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    synced = [k for k in nodes if k.startswith("activation/unisender/")]
    assert synced, "an activation asset for the Unisender list is in the graph"
    upstream = ancestors(synced[0])
    for layer in ("raw/retailcrm/", "staging/", "intermediate/", "marts/customer_360", "segments/", "audience/"):
        assert any(k.startswith(layer) for k in upstream), f"{synced[0]} does not reach back to {layer}"
    assert nodes["marts/customer_360"]["groupName"] == "marts"
