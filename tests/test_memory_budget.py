"""The run's memory budget: DuckDB held to it in dlt's loads, spellings parsed a batch at a time,
and freed memory handed back (cdp/memory.py; the figures are in docs/benchmarks/notes.md)."""

import subprocess
import sys
import textwrap

import duckdb
import pyarrow as pa
import pytest

from cdp.normalize import parse_emails
from cdp.parse_cache import parse_in_batches


def _emails(batch: list) -> pa.Table:
    parsed = parse_emails(batch)
    return pa.table({"email_raw": pa.array(batch, pa.string()),
                     "email": pa.array([e.address for e in parsed], pa.string()),
                     "email_issue": pa.array([e.issue for e in parsed], pa.string())})


def test_parsing_in_batches_gives_the_one_parse_row_for_row():
    values = pa.array(["Anna@Mail.RU", None, "нет", "b@пример.рф", " c@x.ru ", "a@@mail.ru", "d@x.ru"] * 3)
    whole = _emails(values.to_pylist())
    for size in (1, 2, 5, 100):
        assert parse_in_batches(values, _emails, size=size).equals(whole), size
    empty = parse_in_batches(pa.array([], pa.string()), _emails, size=2)
    assert empty.num_rows == 0 and empty.schema == whole.schema


@pytest.mark.parametrize("made_by", ["dagster", "command line"])
def test_dlt_loads_hold_duckdb_to_the_memory_budget(tmp_path, monkeypatch, made_by):
    from connectors.common.cli import command_line_pipeline
    from orchestration.resources import MEMORY_LIMIT_ENV, Warehouse

    monkeypatch.setenv(MEMORY_LIMIT_ENV, "123MB")
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))  # the command line's pipeline state
    path = str(tmp_path / "wh.duckdb")
    pipeline = (Warehouse(path=path).dlt_pipeline("budget") if made_by == "dagster"
                else command_line_pipeline("budget", path))
    pipeline.run([{"id": 1}], table_name="rows")
    with pipeline.sql_client() as client:
        during_load = client.execute_sql("select current_setting('memory_limit')")[0][0]
    with duckdb.connect() as con:
        con.execute("set memory_limit = '123MB'")
        assert during_load == con.execute("select current_setting('memory_limit')").fetchone()[0]
    with duckdb.connect() as con:
        assert during_load != con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_freed_memory_goes_back_to_the_system():
    """200 MB of blocks freed below one that stays (so glibc cannot shrink its heap by itself):
    the process's resident set falls once release_freed_memory has run. In a child, so the test
    runner's own heap does not blur the figure."""
    script = textwrap.dedent("""
        import sys
        from cdp.memory import _malloc_trim, release_freed_memory

        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096

        if _malloc_trim() is None:
            print("skip")
            sys.exit()
        blocks = [bytes(2000) + bytes([i % 256]) for i in range(100_000)]
        pin = bytes(2000) + b"pin"
        del blocks
        before = rss()
        release_freed_memory()
        print(before - rss())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    if out == "skip":
        import pytest

        pytest.skip("no malloc_trim in this C library")
    assert int(out) > 100 * 2**20, f"only {int(out) / 2**20:.0f} MiB returned"


def test_the_budget_has_one_default_wherever_it_is_read():
    """dbt's profile, dlt's pipeline and .env.example name the same default cap."""
    import re
    from pathlib import Path

    from orchestration.resources import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV

    root = Path(__file__).resolve().parents[1]
    profile = (root / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    assert re.findall(rf"env_var\('{MEMORY_LIMIT_ENV}', '([^']+)'\)", profile) == [DEFAULT_MEMORY_LIMIT]
    example = (root / ".env.example").read_text(encoding="utf-8").splitlines()
    assert f"{MEMORY_LIMIT_ENV}={DEFAULT_MEMORY_LIMIT}" in example


def test_the_parsers_keep_no_answer_once_the_caller_drops_it():
    """The parse models hand each distinct spelling over once per build: a parser that cached whole
    answers kept them all alive for the rest of the dbt process (about 0.8 GiB at a million people)
    and never answered from the cache. What repeats across spellings (a mail domain, a name word)
    may stay cached; the answers themselves must go when the caller drops them."""
    import gc
    import tracemalloc

    from cdp.names import split_full_names
    from cdp.normalize import parse_emails, parse_phones, repair_emails

    surnames = ["Иванов", "Петрова", "Smirnov", "Кузнецова", "Попов", "Васильева", "Соколов", "Михайлова"]
    given = ["Анна", "Иван", "Ольга", "Sergey", "Мария", "Дмитрий", "Елена", "Алексей"]
    middle = ["Ивановна", "Петрович", "Сергеевна", "Алексеевич", ""]
    def spellings(tag: str, ends: range) -> tuple[list[str], list[str], list[str]]:
        domains = ("mail.ru", "yandex.ru", "gmail.com", "пример.рф", "mial.ru")
        return ([f"{tag}.{i}@{domains[i % 5]}" for i in range(20_000)],
                [f"8 (9{len(tag)}2) {i // 10_000:03d}-{i // 100 % 100:02d}-{i % 100:02d}" for i in range(20_000)],
                [f"{s} {g} {m}".strip() + " " * k for s in surnames for g in given for m in middle for k in ends])

    # Warm up on other spellings of the same domains and words: the dictionary, the phone metadata
    # and the per-domain and per-word caches load once.
    emails, phones, names = spellings("warm", range(1))
    parse_emails(emails), repair_emails(emails), parse_phones(phones), split_full_names(names)
    emails, phones, names = spellings("user", range(1, 9))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        answers = [parse_emails(emails), repair_emails(emails), parse_phones(phones), split_full_names(names)]
        assert sum(len(a) for a in answers) == 40_000 + 20_000 + len(names)
        held = tracemalloc.get_traced_memory()[0] - before
        del answers
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held > 4 * 2**20  # the answers did take memory while the caller held them
    assert kept < 256 * 2**10, f"{kept / 2**20:.1f} MiB of answers outlived their caller"


def test_a_step_that_grew_its_process_collects_its_reference_cycles_first():
    """Garbage held by reference cycles (Unisender's export digests at a million people: 0.5 GiB
    through dlt's configuration frames) stays until Python's collector runs; an ingest step that
    grew its process past COLLECT_ABOVE collects it before handing the pages back, one that did
    not skips the collection's cost."""
    import gc
    import weakref

    from cdp.memory import COLLECT_ABOVE, release_freed_memory, resident_bytes

    class Node:
        pass

    def cyclic_garbage() -> weakref.ref:
        node = Node()
        node.self, node.ballast = node, b"\x01" * (COLLECT_ABOVE + 64 * 2**20)
        return weakref.ref(node)

    was_enabled = gc.isenabled()
    gc.disable()  # the collector must not run on its own in between
    try:
        started = resident_bytes()
        assert started is not None
        garbage = cyclic_garbage()
        release_freed_memory(since=resident_bytes())  # grew by nothing since: no collection
        assert garbage() is not None
        release_freed_memory()  # no measure given: no collection either
        assert garbage() is not None
        grown = resident_bytes()
        release_freed_memory(since=started)
        assert garbage() is None
        assert grown - resident_bytes() > COLLECT_ABOVE  # and the pages went back
    finally:
        if was_enabled:
            gc.enable()
