"""Progress counters in shared memory: one single-writer slot per worker.

Each process owns one row of int64 counters in an anonymous shared mapping
(``mmap(-1)``, inherited by forked workers).  A worker only ever writes its own
row, so no lock is taken on the hot path; the coordinator reads all rows and
sums them (a torn read of one 8-byte aligned word cannot happen on the
platforms we run on, and a slightly stale sum is fine for a progress bar).

A separate row of *flags* holds run-wide switches (stop requested, deletions
disabled, deletions used, pending tasks) that are written under a lock.
"""

from __future__ import annotations

import mmap
from enum import IntEnum


class C(IntEnum):
    """Per-worker counters (columns of a row)."""

    FILES_SEEN = 0  # regular files in SRC after exclusions (files_total)
    BYTES_SEEN = 1
    FILES_DONE = 2  # regular files fully handled (copied, updated or up to date)
    BYTES_DONE = 3
    FILES_COPIED = 4
    FILES_UPDATED = 5
    FILES_DELETED = 6
    DIRS_SEEN = 7
    DIRS_CREATED = 8
    DIRS_DELETED = 9
    BYTES_COPIED = 10
    ERRORS = 11
    VANISHED = 12
    SKIPPED = 13
    STEALS = 14
    BUSY_NS = 15
    TASKS = 16
    SLICES = 17
    COPY_RANGE = 18  # files copied with copy_file_range
    COPY_SENDFILE = 19
    COPY_BUFFERED = 20
    FILES_STREAMED = 21  # files over the streaming threshold
    DELETES_SKIPPED = 22  # deletions withheld by --max-delete or a listing error
    SYMLINKS = 23
    SPECIALS = 24
    HASHED_BYTES = 25
    DIRS_SPLIT = 26
    STOLEN_TASKS = 27


N_COUNTERS = 32


class F(IntEnum):
    """Run-wide flags (one shared row)."""

    STOP = 0  # 1 after the first SIGINT/SIGTERM: take no new work
    NO_DELETE = 1  # 1 after any SRC listing error: no more deletions
    DELETES_USED = 2  # deletions reserved so far (for --max-delete)
    MAX_DELETE_HIT = 3
    FATAL = 4  # a fatal DST error happened: everyone stops
    PENDING = 5  # tasks created and not yet finished (termination)
    IDLE = 6  # workers currently waiting for work
    DONE = 7  # PENDING reached zero: the run is complete
    POOL_STARTED = 8


N_FLAGS = 16
_WORD = 8


class SharedCounters:
    """``rows`` worker rows plus one flags row in an anonymous shared mapping."""

    def __init__(self, rows: int):
        self.rows = rows
        size = (rows * N_COUNTERS + N_FLAGS) * _WORD
        self._map = mmap.mmap(-1, size)
        self._words = memoryview(self._map).cast("q")
        self._flags_base = rows * N_COUNTERS

    def row(self, index: int) -> CounterRow:
        return CounterRow(self._words, index * N_COUNTERS)

    # --- flags ---------------------------------------------------------------
    def flag(self, f: F) -> int:
        return self._words[self._flags_base + f]

    def set_flag(self, f: F, value: int) -> None:
        self._words[self._flags_base + f] = value

    def add_flag(self, f: F, delta: int) -> int:
        """Caller holds the run lock when other processes may write ``f``."""
        i = self._flags_base + f
        self._words[i] += delta
        return self._words[i]

    # --- reading -------------------------------------------------------------
    def total(self, c: C) -> int:
        w = self._words
        return sum(w[r * N_COUNTERS + c] for r in range(self.rows))

    def totals(self) -> dict[str, int]:
        w = self._words
        out = {}
        for c in C:
            out[c.name.lower()] = sum(w[r * N_COUNTERS + c] for r in range(self.rows))
        return out

    def per_row(self, c: C) -> list[int]:
        return [self._words[r * N_COUNTERS + c] for r in range(self.rows)]


class CounterRow:
    """One worker's counters; only that worker writes them."""

    __slots__ = ("_w", "_base")

    def __init__(self, words, base: int):
        self._w = words
        self._base = base

    def add(self, c: C, n: int = 1) -> None:
        self._w[self._base + c] += n

    def get(self, c: C) -> int:
        return self._w[self._base + c]
