"""Mindbox as a destination against the emulator over real HTTP: customers imported with a
subscription per point of contact, static segment membership in and out, the export read-back,
unsubscribed customers never subscribed again, transactionId idempotency, faults, a refused key
and logs without personal values."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from connectors.common.destination import Contact, DestinationClient, DestinationError
from connectors.mindbox.client import MindboxClient, MindboxError
from connectors.mindbox.destination import MindboxDestination
from emulators.mindbox import MindboxEmulator

ENDPOINT = "cdp-lite"


@pytest.fixture()
def mb():
    emulator = MindboxEmulator(api_key="mb-secret", endpoint_id=ENDPOINT, export_polls=2)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def _client(url, **kw):
    return MindboxDestination(url, kw.pop("api_key", "mb-secret"), kw.pop("endpoint_id", ENDPOINT), poll=(0.0,), **kw)


def _emails(n, start=0):
    return [Contact(f"client{i}@example.ru", "email", {"first_name": f"Имя{i}"}) for i in range(start, start + n)]


def _members(url, ref, key="email"):
    return {m[key] for m in requests.get(f"{url}/_emulator/segments/{ref.id}/members", timeout=5).json()["members"]}


def _customer(url, **match):
    return next(c for c in requests.get(f"{url}/_emulator/customers", timeout=5).json()
                if all(c.get(k) == v for k, v in match.items()))


def test_add_remove_and_read_back_round_trip(mb):
    emulator, url = mb
    client = _client(url)
    assert isinstance(client, DestinationClient)
    ref = client.ensure_list("Постоянные покупатели", "email", None)
    assert client.ensure_list("Постоянные покупатели", "email", ref) == ref
    assert client.holding(ref) == set() and client.describe(ref).exists is False  # nothing sent yet

    contacts = _emails(6)
    out = client.add(ref, contacts)
    assert sorted(out.accepted) == sorted(c.identifier for c in contacts) and not out.rejected
    assert client.holding(ref) == {c.identifier for c in contacts} == _members(url, ref)
    assert client.describe(ref).size == 6
    one = _customer(url, email="client0@example.ru")
    assert one["firstName"] == "Имя0"
    assert one["subscriptions"] == [{"pointOfContact": "Email", "isSubscribed": True}]
    writes = [e for e in emulator.journal if e["query"].get("operation") in ("CdpLite.ImportCustomer",
                                                                              "CdpLite.ChangeCustomerSegment")]
    assert len(writes) == 12 and all(e["query"].get("transactionId") for e in writes)
    assert len({e["query"]["transactionId"] for e in writes}) == 12

    out = client.remove(ref, ["client0@example.ru", "client1@example.ru"])
    assert sorted(out.accepted) == ["client0@example.ru", "client1@example.ru"]
    assert client.holding(ref) == {c.identifier for c in contacts[2:]}
    # A segment exit: the customer and their subscription stay as they were.
    assert _customer(url, email="client0@example.ru")["subscriptions"][0]["isSubscribed"] is True


def test_phones_are_subscribed_for_sms_and_read_back_in_e164(mb):
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("SMS: день рождения", "phone", None)
    phones = [Contact(f"+7916555000{i}", "phone", {"first_name": "Ольга"}) for i in range(4)]
    assert len(client.add(ref, phones).accepted) == 4
    assert _members(url, ref, "mobilePhone") == {p.identifier[1:] for p in phones}
    assert client.holding(ref) == {p.identifier for p in phones}
    subs = _customer(url, mobilePhone="79165550001")["subscriptions"]
    assert subs == [{"pointOfContact": "Sms", "isSubscribed": True}]
    assert client.remove(ref, [phones[0].identifier]).accepted == [phones[0].identifier]
    assert client.holding(ref) == {p.identifier for p in phones[1:]}


def test_an_unsubscribed_customer_is_rejected_with_the_reason_and_stays_unsubscribed(mb):
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("Акция выходного дня", "email", None)
    client.add(ref, _emails(3))
    client.remove(ref, ["client1@example.ru"])
    requests.post(f"{url}/_emulator/customers/unsubscribe",
                  json={"email": "client1@example.ru", "pointOfContact": "Email"}, timeout=5)

    out = client.add(ref, _emails(3))
    assert set(out.rejected) == {"client1@example.ru"}
    assert "unsubscribed from Email" in out.rejected["client1@example.ru"]
    assert "client1@example.ru" not in client.holding(ref)
    assert _customer(url, email="client1@example.ru")["subscriptions"] == [{"pointOfContact": "Email",
                                                                            "isSubscribed": False}]


def test_a_validation_error_is_a_rejection_with_mindboxs_message(mb):
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("Новинки", "email", None)
    out = client.add(ref, [Contact("not-an-address", "email"), *_emails(2)])
    assert "/customer/email" in out.rejected["not-an-address"] and "Неверный формат" in out.rejected["not-an-address"]
    assert len(out.accepted) == 2


def test_a_repeated_transaction_changes_nothing(mb):
    emulator, url = mb
    api = MindboxClient(url, ENDPOINT, "mb-secret")
    body = {"customer": {"email": "repeat@example.ru",
                         "subscriptions": [{"pointOfContact": "Email", "isSubscribed": True}]}}
    first = api.call("CdpLite.ImportCustomer", body, "txn-1")
    requests.post(f"{url}/_emulator/customers/unsubscribe",
                  json={"email": "repeat@example.ru", "pointOfContact": "Email"}, timeout=5)
    again = api.call("CdpLite.ImportCustomer", body, "txn-1")  # e.g. a retry after a lost answer
    assert again == first
    assert _customer(url, email="repeat@example.ru")["subscriptions"][0]["isSubscribed"] is False
    assert len(requests.get(f"{url}/_emulator/customers", timeout=5).json()) == 1
    with pytest.raises(MindboxError, match="409"):
        api.call("CdpLite.ImportCustomer", {"customer": {"email": "other@example.ru"}}, "txn-1")
    fresh = api.call("CdpLite.ImportCustomer", body, "txn-2")  # a new transaction does act
    assert fresh["customer"]["processingStatus"] == "Changed"
    assert _customer(url, email="repeat@example.ru")["subscriptions"][0]["isSubscribed"] is True


def test_a_write_whose_answer_was_lost_is_retried_and_applied_once(mb):
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("Повторы", "email", None)
    emulator.lose_answers_next = 2  # the import's and the segment change's answers are lost once each
    assert client.add(ref, _emails(1)).accepted == ["client0@example.ru"]
    writes = [e for e in emulator.journal if e["path"] == "/v3/operations/sync"]
    assert [e["status"] for e in writes] == [503, 200, 503, 200]
    assert writes[0]["query"]["transactionId"] == writes[1]["query"]["transactionId"]
    assert _customer(url, email="client0@example.ru")["actions"] == 2  # one import, one segment change


def test_a_segment_emptied_outside_reads_back_empty_and_refills(mb):
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("Брошенная корзина", "email", None)
    contacts = _emails(5)
    client.add(ref, contacts)
    requests.post(f"{url}/_emulator/segments/{ref.id}/clean", timeout=5)
    assert client.holding(ref) == set()
    client.add(ref, contacts)
    assert client.holding(ref) == {c.identifier for c in contacts}
    client.clear(ref)
    assert client.holding(ref) == set()


def test_without_an_export_operation_there_is_no_read_back(mb):
    emulator, url = mb
    client = _client(url, operation_export="")
    ref = client.ensure_list("Без выгрузки", "email", None)
    client.add(ref, _emails(2))
    assert client.holding(ref) is None
    assert client.describe(ref).size is None
    with pytest.raises(DestinationError, match="MINDBOX_OPERATION_EXPORT"):
        client.clear(ref)
    with pytest.raises(NotImplementedError):
        client.replace(ref, _emails(2))


def test_overload_is_retried_and_logs_carry_no_personal_values(mb, caplog):
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("Лояльные", "email", None)
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 2
    caplog.set_level(logging.DEBUG)
    contacts = _emails(4)
    assert len(client.add(ref, contacts).accepted) == 4
    client.remove(ref, [contacts[0].identifier])
    assert client.holding(ref) == {c.identifier for c in contacts[1:]}
    assert {e["status"] for e in emulator.journal} >= {429, 503, 200}
    # Each customer was created once despite the retries.
    assert len(requests.get(f"{url}/_emulator/customers", timeout=5).json()) == 4
    for c in contacts:
        assert c.identifier not in caplog.text
        assert c.identifier not in json.dumps(emulator.journal)


def test_auth_scheme_alternative_and_refusals_name_the_settings(mb):
    emulator, url = mb
    ref = _client(url, auth_scheme="Mindbox").ensure_list("Старый ключ", "email", None)
    assert _client(url, auth_scheme="Mindbox").add(ref, _emails(1)).accepted
    with pytest.raises(DestinationError) as err:
        _client(url, api_key="wrong-secret-77").add(ref, _emails(1))
    assert "MINDBOX_SECRET_KEY" in str(err.value) and "MINDBOX_ENDPOINT_ID" in str(err.value)
    assert "wrong-secret-77" not in str(err.value)
    with pytest.raises(DestinationError, match="MINDBOX_OPERATION_"):
        _client(url, operation_import="Website.NoSuchOperation").add(ref, _emails(1))


def test_the_declared_client_builds_from_the_declared_settings(mb):
    """The engine resolves `client` and passes each setting by its key: defaults must fit."""
    import importlib

    from cdp.destinations import destination
    from connectors.mindbox.settings import DEFAULT_OPERATIONS

    emulator, url = mb
    declared = destination("mindbox")
    module, cls = declared.client.split(":")
    values = {arg: s.default for arg, s in declared.settings.items()}
    values.update(base_url=url, api_key="mb-secret", endpoint_id=ENDPOINT)
    client = getattr(importlib.import_module(module), cls)(**values)
    assert isinstance(client, DestinationClient) and client.system == "mindbox"
    assert client.operations == DEFAULT_OPERATIONS
    ref = client.ensure_list("Из объявления", "email", None)
    assert client.add(ref, _emails(1)).accepted == ["client0@example.ru"]


def test_an_unreachable_mindbox_is_a_destination_error():
    client = MindboxDestination("http://127.0.0.1:9", "mb-secret", ENDPOINT, attempts=1, timeout=2)
    with pytest.raises(DestinationError, match="ConnectionError reaching http://127.0.0.1:9"):
        client.add(client.ensure_list("Любой", "email", None), _emails(1))


def _answer_gaps(emulator, operation_kind: str = "import") -> list[float]:
    """Seconds between consecutive answers to one kind of write, in the order they were given."""
    names = {v: k for k, v in emulator.operations.items()}
    at = sorted(e["at"] for e in emulator.journal if e["path"] == "/v3/operations/sync"
                and emulator.operations.get(e["query"].get("operation")) == operation_kind)
    assert names and len(at) > 1
    return [b - a for a, b in zip(at, at[1:])]


def test_contacts_are_put_in_several_at_a_time_and_the_outcome_keeps_their_order(mb):
    """Every answer is delayed by 0.2 s: one after another, answers are at least that far apart;
    with four in flight, some arrive together. The outcome lists contacts in the order given, with
    the refused ones apart, whatever order the answers came in."""
    emulator, url = mb
    ref = _client(url).ensure_list("Параллельно", "email", None)
    _client(url).add(_client(url).ensure_list("Разогрев", "email", None), _emails(2))  # customers to unsubscribe
    requests.post(f"{url}/_emulator/customers/unsubscribe",
                  json={"email": "client1@example.ru", "pointOfContact": "Email"}, timeout=5)
    emulator.journal.clear()
    emulator.faults.slow_ms = 200

    one_by_one = _client(url, concurrency=1).add(ref, _emails(3, start=20))
    assert min(_answer_gaps(emulator)) >= 0.19
    emulator.journal.clear()

    contacts = [*_emails(8, start=100), Contact("client1@example.ru", "email"), *_emails(3, start=200)]
    out = _client(url, concurrency=4).add(ref, contacts)
    assert min(_answer_gaps(emulator)) < 0.1
    assert out.accepted == [c.identifier for c in contacts if c.identifier != "client1@example.ru"]
    assert list(out.rejected) == ["client1@example.ru"] and len(one_by_one.accepted) == 3
    emulator.faults.slow_ms = 0
    assert _members(url, ref) >= set(out.accepted) and "client1@example.ru" not in _members(url, ref)

    leaving = out.accepted[:6]
    removed = _client(url, concurrency=4).remove(ref, leaving)
    assert removed.accepted == leaving and not set(leaving) & _members(url, ref)


def test_a_refused_key_stops_the_batch_instead_of_trying_every_contact(mb):
    emulator, url = mb
    ref = _client(url).ensure_list("Чужой ключ", "email", None)
    emulator.journal.clear()
    with pytest.raises(DestinationError, match="MINDBOX_SECRET_KEY"):
        _client(url, api_key="wrong-secret-77", concurrency=4).add(ref, _emails(200))
    refused = [e for e in emulator.journal if e["status"] == 401]
    assert 1 <= len(refused) <= 8, len(refused)


def test_an_answer_that_is_not_json_is_asked_again_and_applied_once(mb):
    """A 200 whose body is not JSON (a proxy's page) is asked again with the same transactionId, as
    the sources' session asks again; past the attempts it is an error that says so."""
    emulator, url = mb
    client = _client(url)
    ref = client.ensure_list("Мусор в ответе", "email", None)
    emulator.journal.clear()
    emulator.faults.garbage_next = 1
    assert client.add(ref, _emails(1)).accepted == ["client0@example.ru"]
    writes = [e for e in emulator.journal if e["path"] == "/v3/operations/sync"]
    assert len(writes) == 3 and writes[0]["query"]["transactionId"] == writes[1]["query"]["transactionId"]
    assert _customer(url, email="client0@example.ru")["actions"] == 2  # one import, one segment change

    emulator.faults.garbage_next = 5
    with pytest.raises(DestinationError, match="not JSON .*after 2 attempt"):
        _client(url, attempts=2).add(ref, _emails(1, start=1))


def test_a_mindbox_that_does_not_answer_in_time_is_a_timeout():
    """A server that accepts the connection and never answers: the read times out, and the error
    names the timeout and where, not the request."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = MindboxDestination(url, "mb-secret", ENDPOINT, attempts=1, timeout=0.3)
        with pytest.raises(DestinationError, match=f"Timeout reaching {url}$"):
            client.add(client.ensure_list("Тишина", "email", None), _emails(1))
    finally:
        listener.close()


def test_an_answer_after_a_byte_order_mark_is_read_as_json():
    """Some Windows servers put a UTF-8 byte-order mark before the JSON; the sources' session skips
    it, and so does Mindbox's client."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"\xef\xbb\xbf" + json.dumps({"status": "Success", "customer": {"processingStatus": "Found"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = MindboxClient(f"http://127.0.0.1:{server.server_port}", ENDPOINT, "mb-secret", attempts=1)
        assert api.call("CdpLite.ImportCustomer", {"customer": {"email": "bom@example.ru"}})["status"] == "Success"
    finally:
        server.shutdown()
