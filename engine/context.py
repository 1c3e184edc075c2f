"""What one process needs to run tasks: root descriptors, options, its
counter row, the run lock and flags, and a sink for results.

The same class serves the in-process (sequential) engine and each worker of
the pool; only the sink and the lock differ.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import NamedTuple, Protocol

from .counters import C, F, SharedCounters
from .errors import Severity, SyncError
from .plan import PlanOptions


class DeferredDir(NamedTuple):
    """Directory metadata applied by the coordinator after all tasks end
    (split directories, dirs we could not write into once locked down,
    directories touched by the hard-link pass)."""

    relpath: str
    src: tuple | None  # Entry as a plain tuple; None: "a slice changed an entry here"
    itemize: bool | None  # print '* dir/' when applied (None: unless a slice changed one)


class HardLink(NamedTuple):
    """A SRC file with more than one link (only with --hard-links)."""

    dev: int
    ino: int
    relpath: str


class PendingDelete(NamedTuple):
    """A DST entry --delete will remove once every task has ended: deletions
    wait for the whole SRC listing, so a listing error anywhere in the run
    can still turn all of them off."""

    relpath: str  # the directory holding it
    name: str
    kind: int


class Sink(Protocol):
    def item(self, line: str) -> None: ...
    def error(self, rec: SyncError) -> None: ...
    def defer(self, rec: DeferredDir) -> None: ...
    def hardlink(self, rec: HardLink) -> None: ...
    def delete_later(self, rec: PendingDelete) -> None: ...
    def record(self, rec) -> None: ...
    def flush(self) -> None: ...


class WorkerContext:
    def __init__(self, opts, src_root: int, dst_root: int | None, shared: SharedCounters,
                 row: int, sink: Sink, rules, run_tag: str, lock=None):
        self.opts = opts
        self.src_root = src_root
        self.dst_root = dst_root
        self.shared = shared
        self.row_index = row
        self.row = shared.row(row)
        self.sink = sink
        self.rules = rules
        self.run_tag = run_tag
        self.lock = lock if lock is not None else nullcontext()
        self.euid = os.geteuid()
        self.egid = os.getegid()
        self.is_root = self.euid == 0
        # True while the coordinator holds the umask at 0 (see coordinator.py).
        self.exact_create = False
        self.plan_options = PlanOptions(
            delete=opts.delete or opts.delete_excluded,
            checksum=opts.checksum,
            owner=self.is_root,
            specials=self.is_root and not opts.no_specials,
            run_tag=run_tag,
        )
        self.pid = os.getpid()
        self._temp_counter = 0
        self.split_allowed = False  # set by the pool: huge dirs become slices

    # --- temp names ----------------------------------------------------------
    def temp_name(self) -> str:
        self._temp_counter += 1
        return f".stealsync-{self.run_tag}-{self.pid:x}-{self._temp_counter:x}.tmp"

    def after_fork(self, row: int, sink: Sink, lock) -> None:
        self.row_index = row
        self.row = self.shared.row(row)
        self.sink = sink
        self.lock = lock
        self.pid = os.getpid()
        self._temp_counter = 0

    # --- run-wide state ------------------------------------------------------
    def stopping(self) -> bool:
        return self.shared.flag(F.STOP) != 0

    def deletions_allowed(self) -> bool:
        return self.shared.flag(F.NO_DELETE) == 0

    def disable_deletions(self) -> None:
        self.shared.set_flag(F.NO_DELETE, 1)

    def reserve_deletion(self) -> bool:
        """Take one deletion from the --max-delete budget (False: over it)."""
        limit = self.opts.max_delete
        if limit is None:
            return True
        with self.lock:
            used = self.shared.flag(F.DELETES_USED)
            if used >= limit:
                self.shared.set_flag(F.MAX_DELETE_HIT, 1)
                return False
            self.shared.set_flag(F.DELETES_USED, used + 1)
            return True

    def report(self, rec: SyncError) -> None:
        if rec.severity == Severity.VANISHED:
            self.row.add(C.VANISHED)
        elif rec.severity != Severity.WARNING:
            self.row.add(C.ERRORS)
        self.sink.error(rec)
