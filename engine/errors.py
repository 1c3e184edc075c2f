"""Errors are records, not strings.

Every failure becomes a :class:`SyncError` (path, op, errno, message).  One
policy, :func:`classify`, decides what a failure means for the run:

* ``FATAL``    - the destination cannot take more writes (disk full, read-only);
                 stop the run at once, exit 11.  Nothing already in DST is lost
                 because every write goes to a temp name first.
* ``VANISHED`` - a source entry disappeared between listing and reading; rsync
                 reports this as exit 24, not as a failure.
* ``SKIP``     - this entry failed, the rest of the run goes on; exit 23.

Exit codes follow rsync's where they overlap (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import errno as _errno
from enum import IntEnum
from typing import NamedTuple


class Exit(IntEnum):
    OK = 0
    USAGE = 1  # usage error or a refused request
    SRC_MISSING = 3  # SRC missing / not a directory, or DST's parent missing
    FATAL_IO = 11  # fatal I/O error on DST (disk full): stopped
    WORKER_DIED = 14  # a worker process died (rsync: "error in IPC code")
    SIGNALLED = 20  # SIGINT / SIGTERM
    PARTIAL = 23  # some entries failed; the rest synced
    VANISHED = 24  # source files vanished during the run
    MAX_DELETE = 25  # --max-delete limit reached


# When several outcomes happen in one run, the most serious one is the exit code.
EXIT_PRECEDENCE = (
    Exit.SIGNALLED,
    Exit.FATAL_IO,
    Exit.WORKER_DIED,
    Exit.SRC_MISSING,
    Exit.USAGE,
    Exit.PARTIAL,
    Exit.MAX_DELETE,
    Exit.VANISHED,
    Exit.OK,
)

EXIT_CODES = {
    0: "success",
    1: "usage error or refused request",
    3: "SRC missing or not a directory, or DST's parent missing",
    11: "fatal I/O error on DST (e.g. disk full): run stopped, nothing in DST lost",
    14: "a worker process died: run stopped",
    20: "stopped by SIGINT/SIGTERM",
    23: "partial transfer: some entries failed (each reported on stderr)",
    24: "some source files vanished during the run",
    25: "--max-delete limit reached: some deletions were not done",
}


def worst_exit(codes) -> int:
    present = {int(c) for c in codes}
    for code in EXIT_PRECEDENCE:
        if int(code) in present:
            return int(code)
    return 0


class Severity(IntEnum):
    SKIP = 0
    VANISHED = 1
    FATAL = 2
    WARNING = 3  # reported, does not change the exit code


class SyncError(NamedTuple):
    """One failure: which entry, which operation, and the kernel's errno."""

    path: str  # relative to the SRC/DST root, '' for the root itself
    op: str  # 'list-src', 'list-dst', 'open-src', 'copy', 'rename', 'delete', ...
    errno: int  # 0 when the failure is not an OSError
    message: str
    severity: int = Severity.SKIP

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "op": self.op,
            "errno": self.errno,
            "message": self.message,
            "severity": Severity(self.severity).name.lower(),
        }


# errno values that mean "the destination cannot take writes any more".
FATAL_DST_ERRNOS = frozenset({_errno.ENOSPC, _errno.EDQUOT, _errno.EROFS, _errno.EIO})
# errno values that mean "the source entry is gone".
VANISHED_ERRNOS = frozenset({_errno.ENOENT, _errno.ENOTDIR})

# Operations on the source side; everything else touches DST.
SRC_OPS = frozenset({"list-src", "open-src", "read-src", "stat-src", "hash-src", "readlink"})


def classify(op: str, err: int) -> Severity:
    """The policy: what an errno on an operation means for the run."""
    if op in SRC_OPS:
        return Severity.VANISHED if err in VANISHED_ERRNOS else Severity.SKIP
    if err in FATAL_DST_ERRNOS:
        return Severity.FATAL
    return Severity.SKIP


def from_oserror(path: str, op: str, exc: OSError) -> SyncError:
    err = exc.errno or 0
    return SyncError(path, op, err, exc.strerror or str(exc), classify(op, err))


class FatalSyncError(Exception):
    """Raised inside a worker when a FATAL record was produced: stop now."""

    def __init__(self, record: SyncError):
        super().__init__(record.message)
        self.record = record


class UsageError(Exception):
    """A refused request or bad arguments: exit 1 (or ``code``) with one line."""

    def __init__(self, message: str, code: int = Exit.USAGE):
        super().__init__(message)
        self.code = int(code)
