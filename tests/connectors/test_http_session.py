"""The connectors' session reads the proxy variables once per host, and still obeys them."""

from __future__ import annotations

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
