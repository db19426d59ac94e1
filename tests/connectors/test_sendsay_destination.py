"""Sendsay as a destination against the emulator over real HTTP: list groups, async imports polled
through track.get, removal from the group only, stop-lists that are never overridden, read-back,
faults, a refused key and logs without personal values."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from connectors.common.destination import Contact, DestinationClient, DestinationError, ListRef
from connectors.sendsay.destination import SendsayDestination
from emulators.sendsay import SendsayEmulator

LOGIN = "linzy-shop"


@pytest.fixture()
def ss():
    emulator = SendsayEmulator(None, login=LOGIN)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def _client(url, **kw):
    return SendsayDestination(url, kw.pop("api_key", "demo-key"), LOGIN, poll=(0.0,), **kw)


def _emails(n, start=0):
    return [Contact(f"buyer{i}@example.ru", "email", {"first_name": f"Имя{i}"}) for i in range(start, start + n)]


def _members(url, gid):
    return set(requests.get(f"{url}/_emulator/groups/{gid}/members", timeout=5).json()["members"])


def test_add_remove_and_read_back_round_trip(ss):
    emulator, url = ss
    client = _client(url)
    assert isinstance(client, DestinationClient)
    ref = client.ensure_list("Постоянные покупатели", "email", None)
    assert ref.id.startswith("pl")
    assert client.ensure_list("Постоянные покупатели", "email", None) == ref  # found by name, not created twice
    assert client.ensure_list("Постоянные покупатели", "email", ref) == ref

    contacts = _emails(12)
    out = client.add(ref, contacts)
    assert sorted(out.accepted) == sorted(c.identifier for c in contacts) and not out.rejected
    assert "track" in out.detail
    assert client.holding(ref) == {c.identifier for c in contacts} == _members(url, ref.id)
    assert [e["action"] for e in emulator.journal].count("member.import") == 1  # one import, not one call each
    assert [e["action"] for e in emulator.journal].count("track.get") >= 3  # polled to status -1
    assert client.describe(ref).size == 12

    gone = [c.identifier for c in contacts[:5]]
    out = client.remove(ref, gone)
    assert sorted(out.accepted) == sorted(gone)
    assert client.holding(ref) == {c.identifier for c in contacts[5:]}
    # A segment exit: the members stay in the account, not deleted and not on a stop-list.
    kept = [m for m in emulator.members if m["member.email"] in gone]
    assert len(kept) == 5 and all(m["member.haslock"] == 0 and ref.id not in m["-group"] for m in kept)
    assert {m["base.firstName"] for m in kept} == {"Имя0", "Имя1", "Имя2", "Имя3", "Имя4"}

    small = _emails(2, start=100)
    out = client.add(ref, small)  # by member.set, answered at once
    assert sorted(out.accepted) == sorted(c.identifier for c in small)
    assert [e["action"] for e in emulator.journal].count("member.set") == 2
    assert client.holding(ref) == {c.identifier for c in contacts[5:] + small}


def test_phones_go_to_an_msisdn_group_and_read_back_in_e164(ss):
    emulator, url = ss
    client = _client(url)
    ref = client.ensure_list("SMS: спящие клиенты", "phone", None)
    assert next(g for g in emulator.groups if g["id"] == ref.id)["addr_type"] == "msisdn"
    phones = [Contact(f"+7916123450{i}", "phone") for i in range(6)]
    assert not client.add(ref, phones).rejected
    assert _members(url, ref.id) == {p.identifier[1:] for p in phones}  # Sendsay keeps digits
    assert client.holding(ref) == {p.identifier for p in phones}
    assert client.remove(ref, [phones[0].identifier]).accepted == [phones[0].identifier]
    assert client.holding(ref) == {p.identifier for p in phones[1:]}


def test_a_stop_listed_member_is_rejected_with_the_reason_and_not_put_back(ss):
    emulator, url = ss
    client = _client(url)
    ref = client.ensure_list("Акция выходного дня", "email", None)
    other = client.ensure_list("Новинки", "email", None)
    client.add(other, _emails(4))  # the members exist in the account
    requests.post(f"{url}/_emulator/stoplist", json={"address": "buyer1@example.ru", "list": "unsubscribed"}, timeout=5)
    requests.post(f"{url}/_emulator/stoplist", json={"address": "new.blocked@example.ru", "list": "manual"}, timeout=5)

    contacts = _emails(4) + [Contact("new.blocked@example.ru", "email")]
    out = client.add(ref, contacts)
    assert set(out.rejected) == {"buyer1@example.ru", "new.blocked@example.ru"}
    assert "unsubscribed from all" in out.rejected["buyer1@example.ru"]
    assert "blocked manually" in out.rejected["new.blocked@example.ru"]
    assert "buyer1@example.ru" not in out.accepted
    assert _members(url, ref.id) == {"buyer0@example.ru", "buyer2@example.ru", "buyer3@example.ru"}
    locked = next(m for m in emulator.members if m["member.email"] == "buyer1@example.ru")
    assert locked["member.haslock"] == 1  # still unsubscribed

    out = client.add(ref, [Contact("buyer1@example.ru", "email")])  # the member.set path refuses too
    assert "unsubscribed from all" in out.rejected["buyer1@example.ru"] and not out.accepted
    assert "buyer1@example.ru" not in _members(url, ref.id)


def test_seeded_stop_list_members_are_refused(ss, demo_data):
    emulator = SendsayEmulator(demo_data, login=LOGIN)
    server, url = emulator.serve_in_thread()
    try:
        locked = [m["member.email"] for m in emulator.members if m["member.haslock"]][:3]
        free = [m["member.email"] for m in emulator.members if not m["member.haslock"]][:5]
        assert locked and free
        client = _client(url)
        ref = client.ensure_list("Вернуть ушедших", "email", None)
        out = client.add(ref, [Contact(a.strip().lower(), "email") for a in locked + free])
        assert set(out.rejected) == {a.strip().lower() for a in locked}
        assert client.holding(ref) == {a.strip().lower() for a in free}
    finally:
        server.shutdown()


def test_a_group_emptied_outside_reads_back_empty_and_refills(ss):
    emulator, url = ss
    client = _client(url)
    ref = client.ensure_list("Брошенная корзина", "email", None)
    contacts = _emails(8)
    client.add(ref, contacts)
    requests.post(f"{url}/_emulator/groups/{ref.id}/clean", timeout=5)
    assert client.holding(ref) == set()
    assert client.describe(ref).size == 0
    client.add(ref, contacts)
    assert client.holding(ref) == {c.identifier for c in contacts}


def test_clear_and_replace(ss):
    emulator, url = ss
    client = _client(url)
    ref = client.ensure_list("VIP", "email", None)
    client.add(ref, _emails(6))
    out = client.replace(ref, _emails(5, start=4))
    assert client.holding(ref) == {c.identifier for c in _emails(5, start=4)}
    assert sorted(out.accepted) == sorted(c.identifier for c in _emails(5, start=4))
    client.clear(ref)
    assert client.holding(ref) == set()
    assert "group.clean" in [e["action"] for e in emulator.journal]


def test_double_opt_in_asks_sendsay_to_send_confirmation_letters(ss):
    emulator, url = ss
    ref = _client(url).ensure_list("Подписка с подтверждением", "email", None)
    _client(url, double_opt_in=True).add(ref, _emails(5))
    assert requests.get(f"{url}/_emulator/confirmations", timeout=5).json()["count"] == 5
    _client(url).add(ref, _emails(5, start=10))
    assert requests.get(f"{url}/_emulator/confirmations", timeout=5).json()["count"] == 5


def test_overload_is_retried_and_logs_carry_no_addresses(ss, caplog):
    emulator, url = ss
    client = _client(url)
    ref = client.ensure_list("Лояльные", "email", None)
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    caplog.set_level(logging.DEBUG)
    contacts = _emails(7)
    out = client.add(ref, contacts)
    assert len(out.accepted) == 7
    client.remove(ref, [c.identifier for c in contacts[:3]])
    assert client.holding(ref) == {c.identifier for c in contacts[3:]}
    assert {e["status"] for e in emulator.journal} >= {429, 503, 200}
    for c in contacts:
        assert c.identifier not in caplog.text
        assert c.identifier not in json.dumps(emulator.journal)


def test_an_import_that_ends_in_error_fails_the_call_for_a_retry(ss):
    emulator, url = ss
    client = _client(url)
    ref = client.ensure_list("Сбой импорта", "email", None)
    emulator.fail_tracks_next = 1
    with pytest.raises(DestinationError, match=r"track \d+ ended error \(status -2\)"):
        client.add(ref, _emails(6))
    out = client.add(ref, _emails(6))  # the next run sends the same batch again: no duplicates
    assert len(out.accepted) == 6 and client.describe(ref).size == 6
    assert len(emulator.members) == 6


def test_a_wrong_key_names_the_settings_never_the_key(ss):
    emulator, url = ss
    client = _client(url, api_key="wrong-secret-123")
    with pytest.raises(DestinationError) as err:
        client.ensure_list("Любой", "email", None)
    assert "SENDSAY_API_KEY" in str(err.value) and "SENDSAY_LOGIN" in str(err.value)
    assert "wrong-secret-123" not in str(err.value)


def test_a_group_deleted_outside_is_reported_not_written_blind(ss):
    emulator, url = ss
    client = _client(url)
    ghost = ListRef("pl999999", "Удалённый список")
    assert client.describe(ghost).exists is False
    with pytest.raises(DestinationError, match="pl999999"):
        client.add(ghost, _emails(4))
    assert client.ensure_list("Удалённый список", "email", ghost).id != ghost.id  # recreated


def test_the_declared_client_builds_from_the_declared_settings(ss):
    import importlib

    from cdp.destinations import destination

    emulator, url = ss
    declared = destination("sendsay")
    module, cls = declared.client.split(":")
    values = {arg: s.default for arg, s in declared.settings.items()}
    values.update(base_url=url, api_key="demo-key")
    client = getattr(importlib.import_module(module), cls)(**values)
    assert isinstance(client, DestinationClient) and client.system == "sendsay"
    assert client.ensure_list("Из объявления", "email", None).id.startswith("pl")


def test_an_unreachable_sendsay_is_a_destination_error():
    client = SendsayDestination("http://127.0.0.1:9", "demo-key", LOGIN, attempts=1, timeout=2)
    with pytest.raises(DestinationError, match="Sendsay group.list: ConnectionError reaching http://127.0.0.1:9"):
        client.ensure_list("Любой", "email", None)


def test_a_member_sendsay_knew_under_another_spelling_reads_back_in_ours(ss):
    """A member first given as `Ivan.Petrov@Mail.RU` (the shop's own form) and now added by us as
    `ivan.petrov@mail.ru` is one member; read back, it is ours, so the next sync changes nothing."""
    emulator, url = ss
    client = _client(url)
    known = {"member.id": 1, "member.email": "Ivan.Petrov@Mail.RU", "member.addr_type": "email", "member.haslock": 0,
             "-group": {}, "base.firstName": "Иван"}
    emulator.add_member(known)  # Sendsay matches addresses case-insensitively
    ref = client.ensure_list("Приветственная серия", "email", None)
    client.add(ref, [Contact("ivan.petrov@mail.ru", "email", {})])
    assert client.holding(ref) == {"ivan.petrov@mail.ru"}
