"""Memory and CPU of this process and every descendant, sampled by a thread.

Why a sampler and not `getrusage`: ru_maxrss is one process's peak over its whole life, so it
cannot say which stage used the memory, and dbt runs in a child. The emulators (and moto) are
children too but stand for outside services: they are counted apart so the pipeline's own figures
are not inflated by them. The daily job runs in a child of its own, as a deployment runs it (a run
launcher starts a process per run): that process and its descendants (dbt) are the run's figures,
apart from this process, which generated the data and keeps the report. CPU per process is the
last value seen while it lived, so a child that exits keeps its share (minus at most one sampling
interval).

The machine's busy CPU is sampled too: what is not ours or the emulators' is another process's, and
a benchmark that shared the machine is not one (a test suite at nice 19 beside the 100k run made it
2-2.5x slower: processes that take turns over HTTP leave gaps it fills). The report says so.
"""

from __future__ import annotations

import bisect
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil

OUTSIDE = ("emulators.", "moto.server")  # command-line marks of the stand-ins for outside services


@dataclass(frozen=True)
class Sample:
    t: float  # time.time()
    rss_main: int  # bytes: this process
    rss_children: int  # bytes: descendants that are not emulators (dbt, the floor, pandas)
    rss_outside: int  # bytes: the emulators
    cpu_main: float  # seconds, cumulative since the sampler started
    cpu_children: float
    cpu_outside: float
    cpu_machine: float = 0.0  # seconds the whole machine was busy (all CPUs), cumulative
    rss_run: int = 0  # bytes: the job's process (`TreeSampler.run_pid`); its dbt is in rss_children
    cpu_run: float = 0.0

    @property
    def rss_pipeline(self) -> int:
        return self.rss_main + self.rss_run + self.rss_children

    @property
    def rss_job(self) -> int:
        """The run's processes: the job's own and its descendants (dbt), not this one."""
        return self.rss_run + self.rss_children


@dataclass(frozen=True)
class Window:
    wall: float
    cpu_pipeline: float  # this process and its non-emulator descendants
    cpu_children: float
    cpu_outside: float
    peak_rss_pipeline: int
    peak_rss_children: int
    peak_rss_outside: int
    cpu_others: float = 0.0  # CPU seconds of processes that are neither ours nor the emulators'
    cpu_job: float = 0.0  # the job's process and its descendants
    peak_rss_job: int = 0
    peak_rss_main: int = 0  # this process alone


def machine_busy_seconds() -> float:
    """CPU seconds the machine has been busy since boot, all CPUs, niced work included."""
    t = psutil.cpu_times()
    return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))


class TreeSampler:
    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.me = psutil.Process(os.getpid())
        self.samples: list[Sample] = []
        self._cpu: dict[int, tuple[int, float]] = {}  # pid -> (0 main, 1 child, 2 outside; last cpu seconds)
        self._kind: dict[int, bool] = {}
        self.run_pid: int | None = None  # the job's process while one runs (stages.run_job)
        self._base: tuple[float, float, float, float] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def _outside(self, proc: psutil.Process) -> bool:
        if proc.pid not in self._kind:
            try:
                line = " ".join(proc.cmdline())
            except (psutil.Error, OSError):
                line = ""
            self._kind[proc.pid] = any(mark in line for mark in OUTSIDE)
        return self._kind[proc.pid]

    def spawn_run(self, args: list[str], **popen: Any) -> subprocess.Popen:
        """Start the job's process, sampled as the run from its first sample on."""
        with self._lock:
            proc = subprocess.Popen(args, **popen)
            self.run_pid = proc.pid
        return proc

    def sample(self) -> Sample:
        """One sample now (also called at stage boundaries, so windows start and end exactly)."""
        with self._lock:
            try:
                procs = [self.me, *self.me.children(recursive=True)]
            except psutil.Error:
                procs = [self.me]
            rss = [0, 0, 0, 0]
            for proc in procs:
                try:
                    with proc.oneshot():
                        mem = proc.memory_info().rss
                        cpu = proc.cpu_times()
                except (psutil.Error, OSError):
                    continue
                kind = 0 if proc is self.me else 3 if proc.pid == self.run_pid else 2 if self._outside(proc) else 1
                rss[kind] += mem
                self._cpu[proc.pid] = (kind, cpu.user + cpu.system)
            cpu = [sum(c for k, c in self._cpu.values() if k == kind) for kind in range(4)] + [machine_busy_seconds()]
            if self._base is None:
                self._base = tuple(cpu)
            cpu = [c - b for c, b in zip(cpu, self._base)]
            s = Sample(time.time(), rss[0], rss[1], rss[2], cpu[0], cpu[1], cpu[2], cpu[4], rss[3], cpu[3])
            self.samples.append(s)
            return s

    def window(self, start: float, end: float) -> Window:
        """Figures between two times (time.time()): CPU from the samples nearest the ends, peak RSS
        over the samples inside (and the ones at the ends)."""
        with self._lock:
            samples = list(self.samples)
        times = [s.t for s in samples]
        i = max(bisect.bisect_left(times, start) - 1, 0)
        j = min(bisect.bisect_right(times, end), len(samples) - 1)
        inside = samples[i:j + 1] or samples[-1:]
        first, last = inside[0], inside[-1]
        pipeline = (last.cpu_main + last.cpu_run + last.cpu_children) - (first.cpu_main + first.cpu_run + first.cpu_children)
        outside = last.cpu_outside - first.cpu_outside
        return Window(
            wall=end - start,
            cpu_pipeline=pipeline,
            cpu_children=last.cpu_children - first.cpu_children,
            cpu_outside=outside,
            cpu_others=max(0.0, (last.cpu_machine - first.cpu_machine) - pipeline - outside),
            peak_rss_pipeline=max(s.rss_pipeline for s in inside),
            peak_rss_children=max(s.rss_children for s in inside),
            peak_rss_outside=max(s.rss_outside for s in inside),
            cpu_job=(last.cpu_run + last.cpu_children) - (first.cpu_run + first.cpu_children),
            peak_rss_job=max(s.rss_job for s in inside),
            peak_rss_main=max(s.rss_main for s in inside),
        )
