"""Handing freed memory back to the system, for the long-lived processes of a run.

A run is one process for its ingest steps (Dagster's in-process executor) and one dbt process for
its models. Python and the C allocators keep what a step freed for reuse by that process: RetailCRM's
load at a million people left its process about 1 GB above where it started. What the next step
(or the dbt process beside it) needs, the machine then has to find elsewhere, so a step that freed
a lot hands it back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from functools import lru_cache
from typing import Any

# DuckDB's memory budget in the loads (dlt's DuckDB destination), as in the dbt step's
# (dbt_project/profiles.yml reads the same variable): DuckDB's own default is 80 % of the machine,
# and dlt's merge of RetailCRM's five million orders at a million people took 4.1 GB of it. With
# 2 GB the same load took as long (34.5 s against 32.9 s) and the step peaked at 2.5 GB; with
# 1 GB, 49.5 s.
MEMORY_LIMIT_ENV = "CDP_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"


def duckdb_destination(path: str) -> Any:
    """dlt's DuckDB destination for the file at `path`, held to the budget: the one both Dagster's
    pipelines and the connectors' command lines load through."""
    import dlt
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    return dlt.destinations.duckdb(DuckDbCredentials(
        path, global_config={"memory_limit": os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)}))


# A step that grew its process by more than this collects Python's reference cycles before the
# pages go back. Unisender's contact export at a million people: the step left its process
# 0.5 GiB larger, unreachable but in reference cycles (the collected garbage held the read-back
# digests beside dlt's configuration frames and exceptions), and one collection took it back, in
# 0.25-0.4 s over about 570,000 live objects. Steps that grew less (every step of a run with
# nothing new but that one) skip it.
COLLECT_ABOVE = 256 * 2**20


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim") if name else None
    except (OSError, AttributeError):
        return None


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux's /proc), None where that cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def release_freed_memory(since: int | None = None) -> None:
    """Return free pages to the system: Arrow's pool (mimalloc or jemalloc keep freed buffers) and
    the C heap (glibc keeps freed small blocks below its top).

    `since`: the process's resident bytes (`resident_bytes`) when the work began. Only when it
    grew by more than COLLECT_ABOVE does a full garbage collection run first: it walks every live
    object, and run after every step it made each one 0.5-0.6 s longer even when the step loaded
    nothing (in a process that also held the benchmark's generated data). Without it, what a
    step frees goes by reference counting, and cycles wait for Python's own collector."""
    now = resident_bytes() if since is not None else None
    if now is not None and now - since > COLLECT_ABOVE:
        gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
