"""The connectors' session reads the proxy variables once per host, and still obeys them; it
parses each JSON answer once, as `requests` would read it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import SinglePagePaginator

from connectors.common.http import retrying_session


def test_proxies_and_no_proxy_are_obeyed_per_host(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.inside.example")
    session = retrying_session()
    outside = session.merge_environment_settings("http://api.example.org/a", {}, None, None, None)
    assert outside["proxies"].get("http") == "http://proxy.internal:3128"
    inside = session.merge_environment_settings("http://api.inside.example/b", {}, None, None, None)
    assert not inside["proxies"].get("http"), "NO_PROXY still bypasses the proxy"
    outside["proxies"]["http"] = "changed by a caller"
    again = session.merge_environment_settings("http://api.example.org/c?page=2", {}, None, None, None)
    assert again["proxies"].get("http") == "http://proxy.internal:3128", "a caller cannot spoil the kept answer"


def test_explicit_arguments_are_not_taken_from_the_kept_answer(monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    session = retrying_session()
    merged = session.merge_environment_settings
    assert merged("https://a.example/x", {}, None, None, None)["verify"] == str(tmp_path / "ca.pem")
    assert merged("https://a.example/x", {}, None, False, None)["verify"] is False
    chosen = {"https": "http://other:8080"}
    assert merged("https://a.example/x", chosen, None, None, None)["proxies"]["https"] == chosen["https"]


@pytest.fixture()
def json_server():
    """Answers each path with the body and Content-Type of `ANSWERS`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body, content_type = ANSWERS[self.path.split("?")[0]]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


ANSWERS = {
    "/bom": ("\ufeff" + json.dumps({"value": [{"Description": "Иванов"}]}, ensure_ascii=False)).encode("utf-8"),
    "/cp1251": json.dumps({"value": [{"Description": "Петров"}]}, ensure_ascii=False).encode("cp1251"),
    "/plain": b'{"value": [{"id": 1}, {"id": 2}]}',
}
ANSWERS = {path: (body, "application/json; charset=windows-1251" if path == "/cp1251" else "application/json")
           for path, body in ANSWERS.items()}


def test_an_answer_is_parsed_once_and_read_as_requests_would(json_server):
    session = retrying_session(attempts=1)
    plain = session.get(f"{json_server}/plain")
    assert plain.json() is plain.json() and plain.json() == {"value": [{"id": 1}, {"id": 2}]}
    assert session.get(f"{json_server}/bom").json() == {"value": [{"Description": "Иванов"}]}, \
        "a byte-order mark is skipped"
    assert session.get(f"{json_server}/cp1251").json() == {"value": [{"Description": "Петров"}]}, \
        "a declared charset is obeyed, as requests does"
    client = RESTClient(base_url=json_server, session=retrying_session(attempts=1, raise_for_status=False))
    pages = list(client.paginate("/bom", paginator=SinglePagePaginator(), data_selector="value"))
    assert [list(p) for p in pages] == [[{"Description": "Иванов"}]]
    assert pages[0].response.json()["value"][0] is pages[0][0], "dlt's page and the connector's read share one parse"


def test_an_answer_is_freed_when_the_last_reference_goes(json_server):
    """A large export's body must not wait for the cycle collector."""
    import gc
    import weakref

    gc.disable()
    try:
        response = retrying_session(attempts=1).get(f"{json_server}/plain")
        assert response.json()["value"][0] == {"id": 1}
        gone = weakref.ref(response)
        del response
        assert gone() is None, "nothing but the caller holds the answer"
    finally:
        gc.enable()
