"""Requests kept in flight ahead of the reader, answers handed over in order.

A page-through or a run of one-record reads asks, waits for the answer, turns it into rows, and
only then asks again: the server's time and ours add up. With a second request in flight, one
is answered while the other's rows are made. On the benchmark's loopback the server is the
emulator on the other core; against a real API it is the network's round trip, which is most of
a request (RetailCRM allows 10 requests a second per key, and one request at a time at a 150 ms
round trip is under 7).

Each worker thread gets a client from the factory: its own where the client is not safe across
threads (`requests` does not promise that of a session, and dlt's REST client holds one); a
thread-safe client (one urllib3 pool, connectors/common/pooled.py) hands out itself.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")
C = TypeVar("C")


class PerThread(Generic[C]):
    """One object per thread, made by `factory` the first time a thread asks."""

    def __init__(self, factory: Callable[[], C]):
        self._factory, self._local = factory, threading.local()

    def get(self) -> C:
        made = getattr(self._local, "made", None)
        if made is None:
            made = self._local.made = self._factory()
        return made


def in_order(call: Callable[[T], R], args: Iterable[T], in_flight: int) -> Iterator[R]:
    """`call(a)` for each `a`, up to `in_flight` at once in worker threads, results yielded in the
    order of `args`. A call's error is raised where its result would have been, after the results
    before it; calls not yet started are then dropped. With `in_flight` 1 the calls run one after
    another in the caller's thread, as a plain loop. Stopping early (the reader closes the
    generator) lets the calls in flight finish and starts no more."""
    if in_flight <= 1:
        yield from map(call, args)
        return
    pending: deque[Future[R]] = deque()
    todo = iter(args)
    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="ahead") as pool:
        try:
            for arg in todo:
                pending.append(pool.submit(call, arg))
                if len(pending) >= in_flight:
                    break
            while pending:
                result = pending.popleft().result()
                for arg in todo:  # the next request goes out before this answer is handed over
                    pending.append(pool.submit(call, arg))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()


def reading_ahead(client: C, factory: Callable[[], C], in_flight: int) -> C:
    """`client`, marked to read `in_flight` requests at once through `ahead`, each worker thread
    with a client of its own from `factory` (which should make one that reads one at a time)."""
    client.workers = PerThread(factory)  # type: ignore[attr-defined]
    client.in_flight = max(1, in_flight)  # type: ignore[attr-defined]
    return client


def ahead(client: C, call: Callable[[C, T], R], args: Iterable[T]) -> Iterator[R]:
    """`call(worker's client, a)` for each `a`, the client's `in_flight` at once, in order. A
    client not marked by `reading_ahead` (a test's, a worker's own) reads one at a time, itself."""
    workers = getattr(client, "workers", None)
    in_flight = getattr(client, "in_flight", 1)
    if workers is None or in_flight <= 1:
        return (call(client, a) for a in args)
    return in_order(lambda a: call(workers.get(), a), args, in_flight)


__all__ = ["PerThread", "ahead", "in_order", "reading_ahead"]
