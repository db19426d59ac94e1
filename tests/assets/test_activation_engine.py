"""The generic sync engine (assets/activate/engine.py) against every destination whose client is
installed, over real HTTP to the project's emulators (moto's server for S3) and a real DuckDB file.

The warehouse here is small and hand-made (an audience table, the consent marts' few columns the
engine reads, the gate view's shape), so each test states exactly who is in the audience; the whole
chain from raw data is tests/assets/test_end_to_end.py. What the destination holds is always read
back from the destination itself.
"""

from __future__ import annotations

import hashlib
import importlib.util

import boto3
import duckdb
import pytest
import requests

from assets.activate import engine
from cdp.audiences import AudienceSpec
from cdp.destinations import DESTINATIONS
from connectors.common.destination import DestinationError
from demo.stack import running_stack

SEGMENT = "seg_test"


def _importable(name: str) -> bool:
    module = DESTINATIONS[name].client.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


DESTINATION_PARAMS = [
    pytest.param(name, marks=() if _importable(name) else pytest.mark.skip(
        reason=f"{DESTINATIONS[name].client} is not installed in this checkout"))
    for name in DESTINATIONS
]


@pytest.fixture(scope="module")
def stack(demo_data):
    with running_stack(demo_data) as env:
        yield env


def make_client(name: str, env: dict[str, str]):
    if name == "s3_file":
        from connectors.common.s3_destination import S3FileDestination

        s3 = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        return S3FileDestination(s3, env["S3_AUDIENCE_BUCKET"])
    from orchestration.resources import destination_resource_class

    dest = DESTINATIONS[name]
    if dest.settings.get("base_url") and dest.settings["base_url"].env not in env:
        pytest.skip(f"no emulator for {name} (emulators/{name}.py)")
    values = {arg: env.get(s.env, s.default) for arg, s in dest.settings.items() if env.get(s.env, s.default) is not None}
    return destination_resource_class(name)(**values).client()


def _identifier(form: str, address: str) -> str:
    kind, _, hashing = form.partition("_")
    if not hashing:
        return address
    value = address.strip().lower() if kind == "email" else "".join(ch for ch in address if ch.isdigit())
    return hashlib.new(hashing, value.encode()).hexdigest()


def _address(kind: str, run: str, i: int) -> str:
    return f"p{i}.{run}@example.ru" if kind == "email" else f"+7916{abs(hash(run)) % 1000:03d}{i:04d}"


class Warehouse:
    """The tables the engine reads, with an audience of our choosing."""

    def __init__(self, path, spec: AudienceSpec, tag: str):
        self.path, self.spec, self.tag = str(path), spec, tag
        with duckdb.connect(self.path) as con:
            for schema in ("marts", "segments", "activation"):
                con.execute(f"create schema if not exists {schema}")
            con.execute("create table marts.consent_current (channel varchar, address varchar, has_consent boolean)")
            con.execute("create table marts.consent_events (consent_event_id varchar, source_system varchar, "
                        "event_at timestamp, evidence varchar)")
            con.execute(f"create table segments.{SEGMENT} (customer_id varchar)")
            con.execute("create table activation.control_group_members (segment varchar, customer_id varchar, control_share double)")
            con.execute("create table activation.consent_gate_offenders (destination varchar, segment varchar, channel varchar, "
                        "address_hash varchar, reason varchar)")
            con.execute(f"create table activation.{spec.model} (customer_id varchar, address_type varchar, address varchar, "
                        "identifier varchar, given_name varchar, consent_event_id varchar)")

    def set_members(self, ids: range | list[int], names: bool = True) -> list[str]:
        spec = self.spec
        rows = [(f"c{i}", spec.address_type, _address(spec.address_type, self.tag, i), f"g{i}") for i in ids]
        with duckdb.connect(self.path) as con:
            con.execute(f"delete from activation.{spec.model}")
            con.execute(f"delete from segments.{SEGMENT}")
            con.executemany(f"insert into activation.{spec.model} values (?, ?, ?, ?, ?, ?)",
                            [(c, t, a, _identifier(spec.identifier, a), ("Имя" if names else None), g) for c, t, a, g in rows])
            con.executemany(f"insert into segments.{SEGMENT} values (?)", [(c,) for c, *_ in rows])
            con.executemany("insert into marts.consent_events values (?, 'test', now(), 'planted')", [(g,) for *_, g in rows])
            con.executemany("insert into marts.consent_current values (?, ?, true)", [(spec.channel, a) for _, _, a, _ in rows])
        return [_identifier(spec.identifier, a) for _, _, a, _ in rows]

    def withdraw(self, ids: list[int]) -> None:
        addresses = [_address(self.spec.address_type, self.tag, i) for i in ids]
        with duckdb.connect(self.path) as con:
            con.execute("update marts.consent_current set has_consent = false where address in (select unnest(?))", [addresses])
            con.execute(f"delete from activation.{self.spec.model} where address in (select unnest(?))", [addresses])

    def sync(self, client, run_id: str, **kwargs) -> engine.SyncReport:
        with duckdb.connect(self.path) as con:
            return engine.sync(con, client, self.spec, run_id, **kwargs)

    def q(self, sql: str, *params):
        with duckdb.connect(self.path, read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def _spec(name: str, tag: str, mode: str = "mirror") -> AudienceSpec:
    dest = DESTINATIONS[name]
    form = dest.identifier_forms[0]
    return AudienceSpec(SEGMENT, name, f"Тест {dest.title} {tag}", form, dest.channels[form.split("_")[0]], mode,
                        dest.min_audience, None, {"prefix": f"audiences/test_{name}_{tag}"} if name == "s3_file" else {})


@pytest.fixture
def setup(stack, tmp_path, request):
    def build(name: str, mode: str = "mirror"):
        tag = hashlib.md5(request.node.name.encode()).hexdigest()[:6]
        spec = _spec(name, tag, mode)
        return Warehouse(tmp_path / "wh.duckdb", spec, tag), make_client(name, stack)
    return build


def _size(client) -> int:
    return client.min_audience + 25


def _held(client, wh: Warehouse) -> set[str] | None:
    (list_id,) = wh.q("select list_id from activation.destination_lists")[0]
    from connectors.common.destination import ListRef

    return client.holding(ListRef(list_id, wh.spec.list_name))


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_first_run_sends_the_audience_and_a_second_sends_nothing(setup, name):
    wh, client = setup(name)
    ids = wh.set_members(range(_size(client)))
    first = wh.sync(client, "r1")
    assert first.status == "ok" and first.added == len(ids) and first.removed == 0, first
    held = _held(client, wh)
    assert held is None or held == set(ids)
    second = wh.sync(client, "r2")
    assert (second.status, second.added, second.removed) == ("no_change", 0, 0), second
    assert wh.q("select count(*) from activation.sync_batches where run_id = 'r2'")[0][0] == 0, "nothing was sent"
    sent = wh.q("select count(*), count(consent_event_id) from activation.consent_proof")[0]
    assert sent == (len(ids), len(ids)), "every send has its consent proof"


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_a_list_emptied_outside_is_refilled(setup, name):
    wh, client = setup(name)
    ids = wh.set_members(range(_size(client)))
    wh.sync(client, "r1")
    if _held(client, wh) is None:
        pytest.skip(f"{name} cannot enumerate its members; the engine relies on describe() there")
    from connectors.common.destination import ListRef

    (list_id,) = wh.q("select list_id from activation.destination_lists")[0]
    client.clear(ListRef(list_id, wh.spec.list_name))  # someone empties it in the platform's UI
    assert not _held(client, wh)
    again = wh.sync(client, "r2")
    assert again.added == len(ids) and _held(client, wh) == set(ids), again


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_a_sync_killed_mid_batch_resumes_without_duplicates(setup, name):
    wh, client = setup(name)
    if client.max_batch > 5000:
        pytest.skip(f"{name} writes the whole audience in one call: there is no middle of a batch run")
    ids = wh.set_members(range(client.min_audience + 2 * client.max_batch + 7))

    class Killed(BaseException):
        """As if the process died: not an error the engine handles."""

    real_add, calls = client.add, []

    def add_then_die(ref, contacts):
        outcome = real_add(ref, contacts)  # the platform took the batch...
        calls.append(len(contacts))
        if len(calls) == 2:
            raise Killed()  # ...and the process died before recording it
        return outcome

    client.add = add_then_die
    with pytest.raises(Killed):
        wh.sync(client, "r1")
    client.add = real_add
    recorded = wh.q("select count(*) from activation.sync_state")[0][0]
    assert recorded == calls[0], "the first batch was recorded, the killed one not"
    resumed = wh.sync(client, "r2")
    assert resumed.status == "ok", resumed
    held = _held(client, wh)
    if held is not None:
        assert held == set(ids)
        per_identifier = wh.q("select identifier, count(*) from activation.sync_log where action in ('sent', 'confirmed') "
                              "group by 1 having count(*) > 1")
        assert not per_identifier, "nothing was sent twice: the killed batch was read back and recorded"
        assert resumed.added == len(ids) - 2 * calls[0] or resumed.added == len(ids) - sum(calls)
    assert {i for (i,) in wh.q("select identifier from activation.sync_state")} == set(ids)


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_a_withdrawal_leaves_even_when_it_takes_the_audience_under_the_minimum(setup, name):
    """Mode add_only keeps segment exits, yet a contact who withdrew consent is always taken off;
    and when withdrawals take an audience under the platform's minimum, the list is emptied rather
    than left holding them."""
    wh, client = setup(name, mode="add_only")
    minimum = max(client.min_audience, 0)
    size = minimum + 3 if minimum else 20
    ids = wh.set_members(range(size))
    assert wh.sync(client, "r1").added == size
    wh.withdraw([0, 1, 2, 3, 4, 5])
    report = wh.sync(client, "r2")
    held = _held(client, wh)
    withdrawn = set(ids[:6])
    if minimum:
        assert report.status == "below_minimum" and str(minimum) in report.message, report
        assert report.added == 0
    else:
        assert report.status == "ok" and report.removed == 6, report
    if held is not None:
        assert not (held & withdrawn)
    else:
        assert report.held_after in (0, None) or report.removed >= 6
    assert not ({i for (i,) in wh.q("select identifier from activation.sync_state")} & withdrawn)


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_a_dry_run_reports_the_plan_and_sends_nothing(setup, name):
    wh, client = setup(name)
    ids = wh.set_members(range(_size(client)))
    wh.sync(client, "r1")
    wh.set_members(range(3, _size(client) + 4))
    plan = wh.sync(client, "dry", dry_run=True)
    assert (plan.status, plan.added, plan.removed) == ("planned", 4, 3), plan
    held = _held(client, wh)
    assert held is None or held == set(ids), "nothing changed at the destination"
    assert wh.q("select count(*) from activation.sync_batches where run_id = 'dry'")[0][0] == 0


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_a_gate_offender_stops_the_sync_and_is_named_by_hash(setup, name):
    wh, client = setup(name)
    wh.set_members(range(_size(client)))
    with duckdb.connect(wh.path) as con:
        con.execute("insert into activation.consent_gate_offenders values (?, ?, 'email', 'abcdef0123456789', 'revoked')",
                    [name, SEGMENT])
    with pytest.raises(engine.ConsentGateViolation, match="abcdef0123456789"):
        wh.sync(client, "r1")
    assert wh.q("select status from activation.sync_report")[0][0] == "blocked"
    assert wh.q("select count(*) from activation.sync_batches")[0][0] == 0
    assert not wh.q("select * from activation.destination_lists"), "not even a list was created"


# --- Reading lists back ---------------------------------------------------------------------------

class _Calls:
    """Counts every call the engine makes to a destination client (the client itself is real)."""

    METHODS = ("ensure_list", "holding", "describe", "add", "remove", "replace", "clear")

    def __init__(self, client):
        self.names: list[str] = []
        for method in self.METHODS:
            real = getattr(client, method)

            def counted(*args, _real=real, _name=method, **kwargs):
                self.names.append(_name)
                return _real(*args, **kwargs)

            setattr(client, method, counted)


@pytest.mark.parametrize("name", DESTINATION_PARAMS)
def test_within_the_read_back_hours_an_unchanged_audience_does_not_contact_the_destination(setup, name):
    wh, client = setup(name)
    ids = wh.set_members(range(_size(client)))
    first = wh.sync(client, "r1", read_back_hours=20)
    assert first.status == "ok" and first.added == len(ids), first
    calls = _Calls(client)
    second = wh.sync(client, "r2", read_back_hours=20)
    assert (second.status, second.added, second.removed) == ("no_change", 0, 0), second
    assert calls.names == [], "nothing was asked of the destination"
    assert second.held_after == len(ids) and "not read back" in second.message, second
    assert wh.q("select read_back from activation.sync_report where run_id = 'r2'")[0][0] is False
    # More members (30: VK Ads takes no smaller diff): something to send, and the list is read back first.
    wh.set_members(range(_size(client) + 30))
    third = wh.sync(client, "r3", read_back_hours=20)
    assert third.added == 30 and calls.names[:1] == ["ensure_list"], (third, calls.names)
    assert wh.q("select read_back from activation.sync_report where run_id = 'r3'")[0][0] is True
    held = _held(client, wh)
    assert held is None or len(held) == len(ids) + 30


def test_a_list_emptied_outside_is_refilled_at_the_next_read_back(setup, stack):
    wh, client = setup("unisender")
    ids = wh.set_members(range(30))
    wh.sync(client, "r1", read_back_hours=20)
    from connectors.common.destination import ListRef

    (list_id,) = wh.q("select list_id from activation.destination_lists")[0]
    client.clear(ListRef(list_id, wh.spec.list_name))
    within = wh.sync(client, "r2", read_back_hours=20)
    assert within.status == "no_change" and not _held(client, wh), "inside the window our record is trusted"
    assert wh.sync(client, "r3", read_back_hours=0).added == len(ids), "0 hours reads back every run"
    client.clear(ListRef(list_id, wh.spec.list_name))
    with duckdb.connect(wh.path) as con:  # the last read-back was a day ago
        con.execute("update activation.sync_report set reported_at = reported_at - interval 21 hour")
    later = wh.sync(client, "r4", read_back_hours=20)
    assert later.added == len(ids) and _held(client, wh) == set(ids), later


def test_a_withdrawal_is_taken_off_within_the_read_back_hours(setup, stack):
    """add_only keeps those who left the segment, but not those who withdrew consent: our record of
    the list is enough to see them, so the window never keeps a withdrawn contact on a list."""
    wh, client = setup("unisender", mode="add_only")
    ids = wh.set_members(range(20))
    wh.sync(client, "r1", read_back_hours=20)
    wh.withdraw([0, 1])
    report = wh.sync(client, "r2", read_back_hours=20)
    assert report.status == "ok" and report.removed == 2, report
    assert not (_held(client, wh) & set(ids[:2]))


def test_a_list_the_platform_no_longer_has_is_forgotten_with_what_was_recorded_under_it(setup, stack):
    wh, client = setup("unisender")
    ids = wh.set_members(range(10))
    wh.sync(client, "r1")
    (list_id,) = wh.q("select list_id from activation.destination_lists")[0]
    with duckdb.connect(wh.path) as con:  # as if our list had been deleted in Unisender's UI
        con.execute("update activation.destination_lists set list_id = '999999999'")
        con.execute("update activation.sync_state set target = '999999999'")
    again = wh.sync(client, "r2")
    assert again.list_id == list_id, again  # found again by its name
    assert wh.q("select count(*) from activation.sync_state where target = '999999999'")[0][0] == 0
    assert {i for (i,) in wh.q("select identifier from activation.sync_state where target = ?", list_id)} == set(ids)


# --- Unisender specifics -------------------------------------------------------------------------

def _journal(env) -> list[dict]:
    return requests.get(f"{env['UNISENDER_BASE_URL']}/_emulator/requests", timeout=10).json()


def test_unisender_refuses_to_resubscribe_and_the_rejection_is_kept_and_retried(setup, stack):
    wh, client = setup("unisender")
    ids = wh.set_members(range(5))
    from connectors.unisender.client import UnisenderClient

    # The person unsubscribed in Unisender itself; our warehouse has not heard yet.
    UnisenderClient(stack["UNISENDER_BASE_URL"], stack["UNISENDER_API_KEY"]).call("importContacts", [
        ("field_names[0]", "email"), ("field_names[1]", "email_status"), ("data[0][0]", ids[0]), ("data[0][1]", "unsubscribed")])
    first = wh.sync(client, "r1")
    assert first.added == 4 and first.rejected == 1 and any("unsubscribed" in r for r in first.rejected_reasons), first
    assert ids[0] not in _held(client, wh)
    reason, attempts = wh.q("select reason, attempts from activation.sync_rejections")[0]
    assert "unsubscribed" in reason and attempts == 1
    second = wh.sync(client, "r2")
    assert second.rejected == 1 and wh.q("select attempts from activation.sync_rejections")[0][0] == 2, "retried"
    assert ids[0] not in _held(client, wh)


def test_unisender_removals_are_bulk_imports_not_one_call_per_contact(setup, stack):
    wh, client = setup("unisender")
    wh.set_members(range(1200))
    wh.sync(client, "r1")
    before = len(_journal(stack))
    wh.set_members(range(1100, 1200))
    report = wh.sync(client, "r2")
    assert report.removed == 1100
    calls = [e["path"].rsplit("/", 1)[-1] for e in _journal(stack)[before:]]
    assert "exclude" not in calls
    assert calls.count("importContacts") == 3, calls  # 1100 removals in batches of 500


def test_unisender_a_destination_down_is_recorded_and_retried(setup, stack):
    wh, client = setup("unisender")
    from connectors.unisender.destination import UnisenderDestination

    ids = wh.set_members(range(30))
    fragile = UnisenderDestination(stack["UNISENDER_BASE_URL"], stack["UNISENDER_API_KEY"], attempts=1)
    requests.post(f"{stack['UNISENDER_BASE_URL']}/_emulator/faults", json={"error_5xx_next": 3}, timeout=10)
    down = wh.sync(fragile, "r1")
    assert down.status == "failed" and ("503" in down.message or "HTTP" in down.message), down
    assert wh.q("select status from activation.sync_report where run_id = 'r1'")[0][0] == "failed"
    requests.post(f"{stack['UNISENDER_BASE_URL']}/_emulator/faults", json={"error_5xx_next": 0}, timeout=10)
    again = wh.sync(client, "r2")
    assert again.status == "ok" and _held(client, wh) == set(ids)


def test_s3_file_writes_the_full_file_the_change_and_a_manifest(setup, stack):
    wh, client = setup("s3_file")
    wh.set_members(range(10))
    wh.sync(client, "r1")
    wh.set_members(range(2, 12))
    wh.sync(client, "r2")
    s3, bucket = client.s3, client.bucket
    prefix = wh.spec.options["prefix"]
    import json

    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/manifest.json")["Body"].read())
    assert manifest["rows"] == 10
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}/audience.csv")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest["sha256"]
    changes = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/changes/")["Contents"]]
    assert any(k.endswith("_removes.csv") for k in changes) and any(k.endswith("_adds.csv") for k in changes)


def test_an_unreachable_destination_is_a_destination_error(setup):
    from connectors.unisender.destination import UnisenderDestination

    with pytest.raises(DestinationError):
        UnisenderDestination("http://127.0.0.1:9", "k", attempts=1).ensure_list("x", "email", None)
