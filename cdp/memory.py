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
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim") if name else None
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return free pages to the system: Arrow's pool (mimalloc or jemalloc keep freed buffers) and
    the C heap (glibc keeps freed small blocks below its top).

    No full garbage collection first: it walks every live object, and in the 1 M benchmark's
    process it made each ingest step 0.5-0.6 s longer even when the step loaded nothing (8 steps
    in a run whose target is 15 s). What a step frees goes by reference counting; cycles wait for
    Python's own collector."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
