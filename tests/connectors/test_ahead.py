"""Requests kept in flight ahead of the reader (connectors/common/ahead.py): answers in order,
errors where they belong, no more calls after the reader stops, and a client per worker thread."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.common.ahead import PerThread, ahead, in_order, reading_ahead


def test_results_come_in_the_order_asked_even_when_answers_arrive_out_of_order():
    def slow_first(n: int) -> int:
        time.sleep(0.05 if n % 2 == 0 else 0.0)  # the even ones answer later than the odd after them
        return n * 10

    assert list(in_order(slow_first, range(9), in_flight=3)) == [n * 10 for n in range(9)]


def test_calls_overlap_up_to_in_flight_and_never_beyond():
    running, peak, lock = 0, 0, threading.Lock()

    def call(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return n

    assert list(in_order(call, range(12), in_flight=2)) == list(range(12))
    assert peak == 2


def test_an_error_is_raised_after_the_results_before_it_and_stops_the_rest():
    called: list[int] = []

    def call(n: int) -> int:
        called.append(n)
        if n == 3:
            raise ValueError("page 3 is broken")
        return n

    got: list[int] = []
    with pytest.raises(ValueError, match="page 3"):
        for result in in_order(call, range(100), in_flight=2):
            got.append(result)
    assert got == [0, 1, 2]
    assert max(called) <= 5  # a call or two beyond the failure may have started, not the other 95


def test_a_reader_that_stops_early_starts_no_more_calls():
    called: list[int] = []

    def call(n: int) -> int:
        called.append(n)
        return n

    results = in_order(call, range(1000), in_flight=2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    results.close()
    settled = len(called)
    time.sleep(0.05)
    assert len(called) == settled <= 6


def test_one_in_flight_is_a_plain_loop_in_the_callers_thread():
    threads = set()

    def call(n: int) -> int:
        threads.add(threading.get_ident())
        return n

    assert list(in_order(call, range(5), in_flight=1)) == list(range(5))
    assert threads == {threading.get_ident()}


def test_each_worker_thread_gets_its_own_client():
    made: list[object] = []

    def factory() -> object:
        made.append(object())
        return made[-1]

    clients = PerThread(factory)
    seen: dict[int, set[int]] = {}

    def call(n: int) -> int:
        client = clients.get()
        seen.setdefault(threading.get_ident(), set()).add(id(client))
        time.sleep(0.01)
        return n

    list(in_order(call, range(20), in_flight=2))
    assert all(len(ids) == 1 for ids in seen.values())  # a thread keeps its client
    assert len({i for ids in seen.values() for i in ids}) == len(seen) == len(made) == 2


def test_a_marked_client_reads_through_its_workers_and_an_unmarked_one_reads_itself():
    class Client:
        pass

    main, made = Client(), []

    def factory() -> Client:
        made.append(Client())
        return made[-1]

    def call(client: Client, n: int) -> tuple[int, int]:
        time.sleep(0.01)
        return id(client), n

    plain = list(ahead(main, call, range(6)))
    assert plain == [(id(main), n) for n in range(6)] and not made

    reading_ahead(main, factory, in_flight=2)
    marked = list(ahead(main, call, range(6)))
    assert [n for _, n in marked] == list(range(6))
    assert {c for c, _ in marked} == {id(c) for c in made} and len(made) == 2 and id(main) not in {c for c, _ in marked}
