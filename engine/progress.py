"""Progress is an observer: a thread in the coordinator reads the shared
counters a few times a second and renders a tqdm bar on stderr.  Workers never
wait for it.  Lines written through :meth:`ProgressObserver.write` go above
the bar instead of tearing it.

ETA: bytes still to copy over the current byte rate, computed over the work
discovered *so far*; while the walk is still finding new work the bar says so
("discovering", like rsync's ir-chk), because the total can still grow.
"""

from __future__ import annotations

import threading
import time

from .counters import C, SharedCounters

INTERVAL_S = 0.25


class ProgressObserver:
    def __init__(self, shared: SharedCounters, interval: float = INTERVAL_S):
        from tqdm import tqdm

        self.shared = shared
        self.interval = interval
        self.bar = tqdm(total=0, unit="file", dynamic_ncols=True, leave=True, smoothing=0.3)
        self._stop = threading.Event()
        self._paused = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="stealsync-progress", daemon=True)
        self.t0 = time.monotonic()
        self._last_seen = -1
        self._stable_ticks = 0
        self.render_ns = 0
        self.renders = 0

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._paused:
                self.render()

    def render(self, final: bool = False) -> None:
        t0 = time.perf_counter_ns()
        s = self.shared
        seen, done = s.total(C.FILES_SEEN), s.total(C.FILES_DONE)
        b_seen, b_done = s.total(C.BYTES_SEEN), s.total(C.BYTES_DONE)
        discovering = seen != self._last_seen
        self._last_seen = seen
        bar = self.bar
        bar.total = max(seen, done)
        bar.n = done
        elapsed = time.monotonic() - self.t0
        rate = b_done / elapsed if elapsed > 0 else 0.0
        eta = (b_seen - b_done) / rate if rate > 0 else float("inf")
        state = "done" if final else ("discovering" if discovering else "to go")
        bar.set_postfix_str(f"{b_done / 2**20:.0f}/{b_seen / 2**20:.0f} MiB, "
                            f"ETA {eta:.0f}s {state}" if eta != float("inf") and not final
                            else f"{b_done / 2**20:.0f} MiB {state}", refresh=False)
        bar.refresh()
        self.render_ns += time.perf_counter_ns() - t0
        self.renders += 1

    def write(self, line: str) -> None:
        with self._paused:
            self.bar.write(line)

    def pause_for_fork(self) -> None:
        # Fork while the render thread holds no lock (stderr's, tqdm's).
        self._paused.acquire()

    def resume(self) -> None:
        if self._paused.locked():
            self._paused.release()

    def close(self) -> None:
        self.resume()
        self._stop.set()
        self._thread.join()
        self.render(final=True)
        self.bar.close()
