"""VK Ads destination against its emulator over real HTTP: tokens, list create and diffs, the
2,000 minimum, withdrawals under the minimum and under the diff minimum, a list in use (409),
per-line errors, rate limits, auth errors and logs."""

from __future__ import annotations

import logging
import time

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
from connectors.vk_ads import client as vk_client
from connectors.vk_ads.client import VkAdsAuthError, VkAdsRateLimited
from connectors.vk_ads.destination import ListInUse, VkAdsDestination
from emulators.vk_ads import VkAdsEmulator

CLIENT_ID, SECRET = "cdp-lite-app", "vk-client-secret-31337"
NAME = "Спящие клиенты — VK"


def phones(n: int, start: int = 0) -> list[str]:
    return [f"8 (916) {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d}" for i in range(start, start + n)]


def contacts(raw: list[str]) -> list[Contact]:
    return [Contact(h, "phone") for h in identifiers("phone_md5", raw)]


@pytest.fixture(autouse=True)
def fresh_token_cache():
    vk_client._TOKENS.clear()
    yield
    vk_client._TOKENS.clear()


@pytest.fixture()
def vk():
    emulator = VkAdsEmulator(SECRET)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


def dest(url: str) -> VkAdsDestination:
    return VkAdsDestination(url, CLIENT_ID, SECRET, backoff=0.01)


def held(url: str, list_id: str | int) -> set[str]:
    return set(requests.get(f"{url}/_emulator/users_lists/{list_id}/ids").json())


def uploads(emulator) -> list[dict]:
    return [e for e in emulator.journal if e["method"] == "POST" and e["path"].endswith("/users_lists.json")]


def created(d: VkAdsDestination, audience: list[Contact]) -> ListRef:
    ref = d.ensure_list(NAME, "phone", None)
    d.add(ref, audience)
    return d.ensure_list(NAME, "phone", ref)


def test_round_trip_create_and_diffs(vk):
    emulator, url = vk
    d = dest(url)
    assert isinstance(d, DestinationClient)
    audience = contacts(phones(2010) + ["+7 999 555-11-11"])
    ref = d.ensure_list(NAME, "phone", None)
    assert ref.id == ""
    outcome = d.add(ref, audience)
    assert len(outcome.accepted) == 2011 and not outcome.rejected
    ref = d.ensure_list(NAME, "phone", ref)
    assert ref.id and d.ensure_list(NAME, "phone", ref) == ref
    assert held(url, ref.id) == {c.identifier for c in audience}
    assert "f09f2c3d48f31e2a802944ade2e5aec5" in held(url, ref.id)  # the published MD5 of 79995551111

    more = contacts(phones(40, start=5000))
    d.add(ref, more)
    gone = [c.identifier for c in audience[:30]]
    d.remove(ref, gone)
    assert held(url, ref.id) == {c.identifier for c in audience[30:] + more}
    bases = [e for e in emulator.lists.values() if e.base]
    assert sorted(b.base for b in bases) == sorted([int(ref.id), -int(ref.id)])  # diffs on the same list
    statuses = [d.describe(ref).status for _ in range(3)]
    assert statuses[-1] == "ready" and statuses[0] != "ready"  # receiving → … → ready as it is read
    holding = d.describe(ref)
    assert holding.exists and holding.size == 2021 and 0 < holding.matched < 2021
    assert d.holding(ref) is None


def test_adds_under_the_diff_minimum_wait_for_a_later_sync(vk):
    emulator, url = vk
    d = dest(url)
    ref = created(d, contacts(phones(2000)))
    few = contacts(phones(10, start=7000))
    outcome = d.add(ref, few)
    assert not outcome.accepted and set(outcome.rejected) == {c.identifier for c in few}
    assert "at least 25" in next(iter(outcome.rejected.values()))
    assert len(uploads(emulator)) == 1


def test_1999_refused_before_upload_and_2000_accepted(vk):
    emulator, url = vk
    d = dest(url)
    ref = d.ensure_list(NAME, "phone", None)
    with pytest.raises(AudienceTooSmall) as err:
        d.add(ref, contacts(phones(1999)))
    assert "VK Ads" in str(err.value) and "2000" in str(err.value) and "1999" in str(err.value)
    assert not uploads(emulator) and not emulator.lists
    d.add(ref, contacts(phones(2000)))
    assert len(held(url, d.ensure_list(NAME, "phone", ref).id)) == 2000


def test_withdrawal_under_the_minimum_still_removes_the_withdrawn(vk):
    emulator, url = vk
    d = dest(url)
    audience = contacts(phones(2030))
    ref = created(d, audience)
    # 30 withdraw (a diff): the list falls to 2000 and none of them stays
    withdrawn = [c.identifier for c in audience[:30]]
    d.remove(ref, withdrawn)
    assert not held(url, ref.id) & set(withdrawn) and len(held(url, ref.id)) == 2000
    # 6 more withdraw: under 2000 and under the 25-line diff minimum; the removal diff is filled
    # up to 25 lines with sums no one has, so the six leave and the list stays with its 1994
    six = [c.identifier for c in audience[30:36]]
    outcome = d.remove(ref, six)
    assert outcome.accepted == six and not outcome.rejected
    assert not held(url, ref.id) & set(six) and len(held(url, ref.id)) == 1994
    assert d.describe(ref).exists
    diffs = [e for e in emulator.lists.values() if e.base == -int(ref.id)]
    assert len(diffs) == 2 and len(diffs[-1].ids) == 25  # 6 withdrawn + 19 filler sums


def test_a_list_in_use_is_reported_and_kept(vk):
    emulator, url = vk
    d = dest(url)
    ref = created(d, contacts(phones(2005)))
    segment = d.client.call("POST", "api/v2/remarketing/segments.json", json={
        "name": "Ретаргетинг", "pass_condition": 1,
        "relations": [{"object_type": "remarketing_users_list", "params": {"source_id": int(ref.id), "type": "positive"}}]})
    assert segment.status_code == 200
    # one withdrawal from a list in use: a filled removal diff, the list and its audience stay
    one = contacts(phones(1))[0].identifier
    d.remove(ref, [one])
    assert one not in held(url, ref.id) and len(held(url, ref.id)) == 2004
    with pytest.raises(ListInUse) as err:
        d.replace(ref, contacts(phones(2100)))
    message = str(err.value)
    assert NAME in message and ref.id in message and "409" in message and "Аудитории" in message
    assert len(held(url, ref.id)) == 2004  # nothing was deleted behind the marketer's back
    live = [e for e in emulator.lists.values() if not e.deleted and not e.base]
    assert [str(e.id) for e in live] == [ref.id]  # the replacement was withdrawn, not left doubled


def test_replace_makes_a_new_list_and_deletes_the_old(vk):
    _, url = vk
    d = dest(url)
    ref = created(d, contacts(phones(2005)))
    wanted = contacts(phones(2003, start=10))
    d.replace(ref, wanted)
    new = d.ensure_list(NAME, "phone", ref)
    assert new.id != ref.id and held(url, new.id) == {c.identifier for c in wanted}
    assert held(url, ref.id) == set()


def test_per_line_errors_are_reported_without_values(vk):
    _, url = vk
    d = dest(url)
    good = identifiers("phone_md5", phones(2000))
    answer = d.client.upload(NAME, "phones", [*good, "qwerty", good[0]])
    assert answer["ids_count"] == 2000
    assert [(e["line_number"], e["error_code"]) for e in answer["error"]] == [(2001, "invalid_phone"), (2002, "duplicated_user_id")]
    with pytest.raises(DestinationError) as err:
        d.client.upload(NAME, "phones", ["qwerty-secret-line", *good[:10]])
    assert "not_enough_ids" in str(err.value) and "invalid_phone" in str(err.value)
    assert "qwerty-secret-line" not in str(err.value)
    with pytest.raises(DestinationError, match=r"validation_failed.*type: invalid_choice"):
        d.client.upload(NAME, "telephones", good)
    with pytest.raises(DestinationError, match=r"type: type_mismatch"):
        d.client.upload(NAME, "emails", identifiers("email_md5", [f"a{i}@b.ru" for i in range(30)]), base=answer["id"])


def test_token_is_cached_refreshed_and_the_token_limit_cleared(vk):
    emulator, url = vk
    first, second = dest(url), dest(url)
    created(first, contacts(phones(2000)))
    second.ensure_list(NAME, "phone", None)
    token_calls = [e for e in emulator.journal if e["path"] == "/api/v2/oauth2/token.json"]
    assert len(token_calls) == 1 and len(emulator.tokens) == 1  # one token for both clients
    emulator.tokens[0].expires_at = time.time() - 1  # expired on the platform's side
    assert second.ensure_list(NAME, "phone", None).id  # renewed with the refresh token, call repeated
    assert len(emulator.tokens) == 1
    # five tokens left by earlier runs: the documented delete clears them and a new one is issued
    vk_client._TOKENS.clear()
    for _ in range(4):
        requests.post(f"{url}/api/v2/oauth2/token.json",
                      data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET})
    assert len(emulator.tokens) == 5
    assert dest(url).ensure_list(NAME, "phone", None).id
    assert len(emulator.tokens) == 1
    assert any(e["path"] == "/api/v2/oauth2/token/delete.json" for e in emulator.journal)


def test_429_and_503_retried_and_spent_hour_named(vk):
    emulator, url = vk
    d = dest(url)
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    ref = created(d, contacts(phones(2000)))
    statuses = [e["status"] for e in emulator.journal]
    assert statuses.count(429) == 2 and statuses.count(503) == 1 and ref.id
    emulator.limits["CREATE"] = (5, 0, 100)  # this hour's creates are spent (a diff is a create)
    before = len(emulator.journal)
    with pytest.raises(VkAdsRateLimited, match="hourly limit"):
        d.add(ref, contacts(phones(30, start=9100)))
    assert [e["status"] for e in emulator.journal[before:]].count(429) == 1  # not hammered


def test_auth_error_names_the_settings_never_the_secret(vk):
    _, url = vk
    d = VkAdsDestination(url, CLIENT_ID, "wrong-secret-8888", backoff=0.01)
    with pytest.raises(VkAdsAuthError) as err:
        d.ensure_list(NAME, "phone", None)
    message = str(err.value)
    assert "VK_ADS_CLIENT_ID" in message and "VK_ADS_CLIENT_SECRET" in message and "invalid_client" in message
    assert "wrong-secret-8888" not in message and SECRET not in message
    assert isinstance(err.value, DestinationError)


def test_no_identifiers_or_tokens_in_logs(vk, caplog):
    emulator, url = vk
    caplog.set_level(logging.DEBUG)
    raw = phones(2030)
    audience = contacts(raw)
    d = dest(url)
    ref = created(d, audience)
    d.remove(ref, [c.identifier for c in audience[:26]])
    d.remove(ref, [c.identifier for c in audience[26:28]])
    text = caplog.text
    assert "list" in text
    tokens = [t.access for t in emulator.tokens] + [t.refresh for t in emulator.tokens]
    assert SECRET not in text and not [t for t in tokens if t in text]
    assert not [c.identifier for c in audience if c.identifier in text]


def test_a_spent_second_is_waited_out_not_hit():
    emulator = VkAdsEmulator(SECRET, limits={"READ": (1, 200, 2000)})  # one read a second
    server, url = emulator.serve_in_thread()
    try:
        d = dest(url)
        ref = created(d, contacts(phones(2000)))
        started = time.monotonic()
        for _ in range(3):
            assert d.describe(ref).exists
        assert time.monotonic() - started >= 1.0  # X-RateLimit-RPS-Remaining: 0 made it wait
        assert 429 not in [e["status"] for e in emulator.journal]
    finally:
        server.shutdown()
