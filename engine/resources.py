"""Resource sampling for --report, --log-file and --json.

:class:`ResourceSampler` runs a daemon thread in the coordinator that every
:data:`INTERVAL_S` seconds sums, over the coordinator and every live worker,
the resident memory (RSS), the proportional set size (PSS: shared pages
divided among the processes that map them, so forked workers are not
counted twice; RSS where PSS cannot be read) and the CPU time used since the
previous sample.  It never touches the hot path: workers are only read from
``/proc`` through psutil.

Exact figures come from the kernel where it has them: the average CPU % is
``(CPU time of the coordinator + of its reaped children) / wall time`` from
``getrusage``, and ``max_rss_*`` are the kernel's own high-water marks, so
short runs that finish between two samples still get true numbers.

``sampler_cpu_s`` is the sampler thread's own CPU time, so its overhead can
be shown next to the run time (``sampler_overhead_pct``).  Reading PSS
costs ~0.2 ms per process (``/proc/PID/smaps_rollup``), RSS ~0.01 ms: with
many workers PSS is read only every k-th sample, k chosen from the measured
cost of the last PSS pass so the sampler stays within :data:`BUDGET`.
"""

from __future__ import annotations

import math
import resource
import threading
import time
from collections.abc import Callable

INTERVAL_S = 0.5
BUDGET = 0.005  # the sampler's CPU target, as a fraction of wall time


def _cpu_now() -> float:
    """CPU seconds of this process plus its reaped children (the workers)."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class ResourceSampler:
    """``start(pids_fn)`` then ``stop() -> dict``; see the module docstring."""

    def __init__(self, interval_s: float = INTERVAL_S):
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._procs: dict = {}  # pid -> (psutil.Process, last cpu seconds)
        self._pss_ok = True
        self._pss_every = 1  # read PSS on every k-th sample (see BUDGET)
        self.samples = 0
        self.peak_rss = 0
        self.peak_pss = 0
        self.cpu_peak = 0.0
        self.peak_procs = 0
        self.sampler_cpu_s = 0.0
        self._t0 = 0.0
        self._cpu0 = 0.0
        self._last_t = 0.0

    # --- public --------------------------------------------------------------
    def start(self, pids_fn: Callable[[], list[int]]) -> None:
        self._pids_fn = pids_fn
        self._t0 = self._last_t = time.monotonic()
        self._cpu0 = _cpu_now()
        self._thread = threading.Thread(target=self._loop, name="stealsync-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        wall = max(time.monotonic() - self._t0, 1e-9)
        cpu_avg = (_cpu_now() - self._cpu0) / wall * 100.0
        self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        child_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        return {
            "peak_rss_bytes": max(self.peak_rss, self_max),
            "peak_pss_bytes": self.peak_pss or max(self.peak_rss, self_max),
            "pss_available": self._pss_ok and self.peak_pss > 0,
            "pss_every": self._pss_every,
            "peak_processes": self.peak_procs,
            "max_rss_coordinator_bytes": self_max,
            "max_rss_worker_bytes": child_max,
            "cpu_avg_pct": round(cpu_avg, 1),
            "cpu_peak_pct": round(max(self.cpu_peak, cpu_avg), 1),
            "samples": self.samples,
            "interval_s": self.interval_s,
            "wall_s": round(wall, 4),
            "sampler_cpu_s": round(self.sampler_cpu_s, 6),
            "sampler_overhead_pct": round(self.sampler_cpu_s / wall * 100.0, 3),
        }

    # --- the thread ----------------------------------------------------------
    def _loop(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        t_start = time.thread_time()
        try:
            while True:
                self._sample(psutil)
                self.sampler_cpu_s = time.thread_time() - t_start
                if self._stop.wait(self.interval_s):
                    break
        finally:
            self.sampler_cpu_s = time.thread_time() - t_start

    def _sample(self, psutil) -> None:
        try:
            pids = list(self._pids_fn())
        except Exception:  # the pool is being torn down: try next time
            return
        now = time.monotonic()
        dt = now - self._last_t
        self._last_t = now
        rss = pss = 0
        cpu_delta = 0.0
        alive = 0
        want_pss = self._pss_ok and self.samples % self._pss_every == 0
        t0 = time.thread_time()
        for pid in pids:
            got = self._proc(psutil, pid)
            if got is None:
                continue
            proc, last_cpu = got
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    cpu = t.user + t.system
                    r, p = self._memory(proc, psutil, want_pss)
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                self._procs.pop(pid, None)
                continue
            alive += 1
            rss += r
            pss += p
            if last_cpu is not None:
                cpu_delta += max(0.0, cpu - last_cpu)
            self._procs[pid] = (proc, cpu)
        self.samples += 1
        self.peak_rss = max(self.peak_rss, rss)
        if want_pss and self._pss_ok:
            self.peak_pss = max(self.peak_pss, pss)
            cost = time.thread_time() - t0
            self._pss_every = max(1, math.ceil(cost / (self.interval_s * BUDGET)))
        self.peak_procs = max(self.peak_procs, alive)
        if dt > 0 and self.samples > 1:
            self.cpu_peak = max(self.cpu_peak, cpu_delta / dt * 100.0)

    def _proc(self, psutil, pid: int):
        got = self._procs.get(pid)
        if got is not None:
            return got
        try:
            return psutil.Process(pid), None  # no CPU rate before a 2nd reading
        except psutil.Error:
            return None

    def _memory(self, proc, psutil, want_pss: bool) -> tuple[int, int]:
        if want_pss and self._pss_ok:
            try:
                m = proc.memory_full_info()
                return m.rss, getattr(m, "pss", m.rss)
            except psutil.AccessDenied:  # no smaps for us: RSS from now on
                self._pss_ok = False
        r = proc.memory_info().rss
        return r, r
