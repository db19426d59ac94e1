"""Handing freed memory back to the system, for the long-lived processes of a run.

A run is one process for its ingest steps (Dagster's in-process executor) and one dbt process for
its models. Python and its allocators keep what a step freed for reuse: at a million people the
Dagster process still held about 1 GB of RetailCRM's load when the dbt step started beside it, and
the dbt process about 1 GB of e-mail spellings parsed in Python while DuckDB used its own budget.
That is memory the machine cannot give the next step, so a step that freed a lot returns it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
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
    """Collect cycles, then return free pages to the system: Arrow's pool (mimalloc or jemalloc
    keep freed buffers) and the C heap (glibc keeps freed small blocks below its top)."""
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
