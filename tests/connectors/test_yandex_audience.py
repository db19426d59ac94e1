"""Yandex Audience destination against its emulator over real HTTP: create → confirm → modify
round trip, the 100-record minimum, withdrawals under the minimum, retries, auth errors and logs."""

from __future__ import annotations

import logging

import pytest
import requests

from connectors.common.destination import (
    AudienceTooSmall,
    Contact,
    DestinationClient,
    DestinationError,
    ListRef,
)
from connectors.common.hashing import identifiers
from connectors.yandex_audience.client import YandexAudienceAuthError
from connectors.yandex_audience.destination import YandexAudienceDestination
from emulators.yandex_audience import YandexAudienceEmulator

TOKEN = "y0_test-oauth-token-4711"
NAME = "Постоянные покупатели — Яндекс"


def emails(n: int, start: int = 0) -> list[str]:
    return [f"Client.{i}@Example.RU " for i in range(start, start + n)]


def contacts(raw: list[str], kind: str = "email") -> list[Contact]:
    return [Contact(h, kind) for h in identifiers(f"{kind}_sha256", raw)]


@pytest.fixture()
def ya():
    emulator = YandexAudienceEmulator(TOKEN)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def dest(url: str, **kw) -> YandexAudienceDestination:
    return YandexAudienceDestination(url, TOKEN, poll_interval=0.01, poll_timeout=2, backoff=0.01, **kw)


def held(url: str, ref: ListRef) -> set[str]:
    return set(requests.get(f"{url}/_emulator/segments/{ref.id}/hashes").json())


def calls(emulator, method: str, suffix: str) -> list[dict]:
    return [e for e in emulator.journal if e["method"] == method and e["path"].endswith(suffix)]


def test_round_trip_create_confirm_modify(ya):
    emulator, url = ya
    d = dest(url)
    assert isinstance(d, DestinationClient)
    first = contacts(emails(140) + ["name@yandex.ru"]) + contacts(["8 (999) 555-11-11"], "phone")
    ref = d.ensure_list(NAME, "email", None)
    assert ref.id == ""  # a segment is born from its first file
    created = d.add(ref, first)
    assert "created" in created.detail and len(created.accepted) == 142
    ref = d.ensure_list(NAME, "email", ref)
    assert ref.id and d.ensure_list(NAME, "email", ref) == ref  # the same segment, found again
    # exactly the hashes sent, the published vectors among them
    assert held(url, ref) == {c.identifier for c in first}
    assert "41b86f44151924a940be6fa30d93f2471683ca74ac361d3b827a9b72c80a7623" in held(url, ref)
    assert "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e" in held(url, ref)
    segment = requests.get(f"{url}/_emulator/segments").json()[0]
    assert (segment["name"], segment["hashed"], segment["used_hashing_alg"], segment["content_type"]) == (NAME, True, "SHA256", "crm")
    assert calls(emulator, "POST", "/confirm")[0]["query"] == {"check_size": "true"}

    more = contacts(emails(60, start=500))
    d.add(ref, more)
    gone = [c.identifier for c in first[:30]]
    d.remove(ref, gone)
    assert held(url, ref) == {c.identifier for c in first[30:] + more}
    kinds = [e["query"]["modification_type"] for e in calls(emulator, "POST", "/modify_data")]
    assert kinds == ["addition", "subtraction"]
    holding = d.describe(ref)
    assert holding.exists and holding.size == 172 and 0 < holding.matched < 172
    assert holding.status in ("processed", "few_data", "is_updated")
    assert d.holding(ref) is None
    # processing was polled to its end after each change
    assert emulator.segments[int(ref.id)].status in ("processed", "few_data")
    # one create, two changes: the segment id is reused, never a second upload
    assert len(calls(emulator, "POST", "/upload_csv_file")) == 1

    d.replace(ref, more + contacts(emails(50, start=900)))
    assert held(url, ref) == {c.identifier for c in more + contacts(emails(50, start=900))}


def test_99_contacts_refused_before_anything_is_uploaded(ya):
    emulator, url = ya
    d = dest(url)
    ref = d.ensure_list(NAME, "email", None)
    with pytest.raises(AudienceTooSmall) as err:
        d.add(ref, contacts(emails(99)))
    assert "Yandex Audience" in str(err.value) and "100" in str(err.value) and "99" in str(err.value)
    assert "nothing was uploaded" in str(err.value)
    assert not emulator.segments
    assert not [e for e in emulator.journal if e["method"] != "GET"]
    with pytest.raises(AudienceTooSmall):
        d.replace(ref, contacts(emails(99)))
    assert not emulator.segments


def test_100_contacts_accepted(ya):
    _, url = ya
    d = dest(url)
    ref = d.ensure_list(NAME, "email", None)
    d.add(ref, contacts(emails(100)))
    ref = d.ensure_list(NAME, "email", ref)
    assert len(held(url, ref)) == 100
    assert d.describe(ref).size == 100


def test_withdrawal_under_the_minimum_still_removes_the_withdrawn(ya):
    emulator, url = ya
    d = dest(url)
    audience = contacts(emails(104))
    ref = d.ensure_list(NAME, "email", None)
    d.add(ref, audience)
    ref = d.ensure_list(NAME, "email", ref)
    withdrawn = [c.identifier for c in audience[:6]]
    outcome = d.remove(ref, withdrawn)
    assert outcome.accepted == withdrawn
    left = held(url, ref)
    assert len(left) == 98 and not left & set(withdrawn)
    assert calls(emulator, "POST", "/modify_data")[-1]["query"] == {"modification_type": "subtraction", "check_size": "false"}
    # the emulator refuses what Yandex refuses: the same subtraction with the size check on
    again = [c.identifier for c in audience[6:8]]
    with pytest.raises(DestinationError, match="at least 100"):
        d.client.modify(int(ref.id), "subtraction", ("email,phone\n" + "\n".join(f"{h}," for h in again) + "\n").encode(),
                        check_size=True)
    assert len(held(url, ref)) == 98
    # emptying an audience deletes the segment (a file needs records)
    d.clear(ref)
    assert not emulator.segments and not d.describe(ref).exists
    assert requests.get(f"{url}/_emulator/segments/{ref.id}/hashes").status_code == 404


def test_clear_text_is_never_uploaded(ya):
    emulator, url = ya
    d = dest(url)
    ref = d.ensure_list(NAME, "email", None)
    bad = contacts(emails(120)) + [Contact("someone@example.ru", "email")]
    with pytest.raises(DestinationError, match="1 of 121 identifiers are not lower-case SHA-256"):
        d.add(ref, bad)
    assert not emulator.segments


def test_429_and_503_are_retried(ya):
    emulator, url = ya
    d = dest(url)
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    ref = d.ensure_list(NAME, "email", None)
    d.add(ref, contacts(emails(120)))
    statuses = [e["status"] for e in emulator.journal]
    assert statuses.count(429) == 2 and statuses.count(503) == 1
    assert len(emulator.segments) == 1


@pytest.mark.parametrize("changes,quota,refusals", [
    ((1, 100, 500), "segment create/change requests per minute", 2),  # the minute is waited out once
    ((100, 1, 500), "segment create/change requests per hour", 1),  # the hour is not: one refusal
])
def test_segment_quotas_are_named_and_not_hammered(changes, quota, refusals):
    emulator = YandexAudienceEmulator(TOKEN, changes=changes)
    server, url = emulator.serve_in_thread()
    try:
        d = dest(url, minute_wait=0.05)
        ref = d.ensure_list(NAME, "email", None)
        d.add(ref, contacts(emails(120)))  # the only create/change the quota allows
        ref = d.ensure_list(NAME, "email", ref)
        with pytest.raises(DestinationError, match=quota):
            d.add(ref, contacts(emails(10, start=300)))
        assert [e["status"] for e in emulator.journal].count(429) == refusals
    finally:
        server.shutdown()


def test_md5_is_refused_for_new_segments(ya):
    _, url = ya
    d = dest(url)
    draft = d.client.upload_csv(("email\n" + "\n".join(identifiers("email_md5", emails(120))) + "\n").encode())
    with pytest.raises(DestinationError, match="MD5"):
        d.client.confirm(int(draft["id"]), NAME, hashing_alg="MD5")


def test_auth_error_names_the_setting_never_the_token(ya):
    emulator, url = ya
    d = YandexAudienceDestination(url, "wrong-token-9999", backoff=0.01)
    with pytest.raises(YandexAudienceAuthError) as err:
        d.ensure_list(NAME, "email", None)
    message = str(err.value)
    assert "YANDEX_AUDIENCE_TOKEN" in message and "wrong-token-9999" not in message and TOKEN not in message
    assert isinstance(err.value, DestinationError)
    assert len(emulator.journal) == 1  # a refused token is not retried


def test_no_identifiers_or_tokens_in_logs(ya, caplog):
    emulator, url = ya
    caplog.set_level(logging.DEBUG)
    raw = emails(110)
    audience = contacts(raw)
    d = dest(url)
    emulator.faults.error_5xx_next = 1
    ref = d.ensure_list(NAME, "email", None)
    d.add(ref, audience)
    ref = d.ensure_list(NAME, "email", ref)
    d.remove(ref, [c.identifier for c in audience[:5]])
    with pytest.raises(AudienceTooSmall):
        dest(url).add(ListRef("", "другой"), audience[:3])
    text = caplog.text
    assert "segment" in text  # the client did log its work
    assert TOKEN not in text
    assert not [c.identifier for c in audience if c.identifier in text]
    assert not [r for r in raw if r.strip().lower() in text.lower()]


def test_removal_from_a_segment_deleted_outside_is_not_an_error(ya):
    _, url = ya
    d = dest(url)
    audience = contacts(emails(120))
    ref = d.ensure_list(NAME, "email", None)
    d.add(ref, audience)
    ref = d.ensure_list(NAME, "email", ref)
    d.client.delete(int(ref.id))  # a marketer deleted it in the UI
    outcome = d.remove(ref, [c.identifier for c in audience[:3]])
    assert len(outcome.accepted) == 3 and "gone" in outcome.detail
    assert not d.describe(ref).exists
    assert d.ensure_list(NAME, "email", ref).id == ""  # the next sync uploads the audience anew


def test_processing_is_polled_soon_then_less_often(monkeypatch):
    """The first look comes a quarter of a second after the upload, the waits then double up to
    `poll_interval`, and the answer is the segment as processing left it."""
    emulator = YandexAudienceEmulator(TOKEN, processing_reads=5)
    server, url = emulator.serve_in_thread()
    try:
        import connectors.yandex_audience.destination as module

        waits: list[float] = []
        monkeypatch.setattr(module.time, "sleep", waits.append)  # the waits asked for, not slept
        d = YandexAudienceDestination(url, TOKEN, poll_interval=1.0, poll_timeout=600, backoff=0.01)
        out = d.add(d.ensure_list(NAME, "email", None), contacts(emails(300)))
    finally:
        server.shutdown()
    assert waits == [0.25, 0.5, 1.0, 1.0, 1.0]
    assert "status processed" in out.detail, out.detail


def test_polling_stops_at_the_timeout_and_reports_the_status_as_it_stands(ya):
    emulator, url = ya
    emulator.processing_reads = 10 ** 6  # never done while we look
    d = YandexAudienceDestination(url, TOKEN, poll_interval=0.05, poll_timeout=0.3, backoff=0.01)
    out = d.add(d.ensure_list(NAME, "email", None), contacts(emails(150)))
    assert "status is_processed" in out.detail, out.detail
