"""Refusals that protect users from the classic mirror disasters, and the
per-DST lock.  Each refusal is one clear line and exit 1 (or 3)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat as st

from .errors import Exit, UsageError


def _real(path: str) -> str:
    return os.path.realpath(path)


def _inside(child: str, parent: str) -> bool:
    parent = parent.rstrip("/") + "/"
    return (child.rstrip("/") + "/").startswith(parent)


def check_roots(src: str, dst: str, delete: bool) -> tuple[os.stat_result, os.stat_result | None]:
    """Validate SRC and DST; return SRC's stat and DST's (None if missing)."""
    try:
        s = os.stat(src)  # the operator named it: a symlink root is followed
    except OSError as e:
        raise UsageError(f"SRC {src!r}: {e.strerror}", Exit.SRC_MISSING) from e
    if not st.S_ISDIR(s.st_mode):
        raise UsageError(f"SRC {src!r} is not a directory", Exit.SRC_MISSING)
    try:
        d = os.stat(dst)
    except FileNotFoundError:
        d = None
        parent = os.path.dirname(os.path.abspath(dst.rstrip("/") or "/"))
        if not os.path.isdir(parent):
            raise UsageError(f"DST's parent {parent!r} does not exist", Exit.SRC_MISSING) from None
    except OSError as e:
        raise UsageError(f"DST {dst!r}: {e.strerror}", Exit.SRC_MISSING) from e
    if d is not None and not st.S_ISDIR(d.st_mode):
        raise UsageError(f"DST {dst!r} exists and is not a directory")
    rs, rd = _real(src), _real(dst)
    if d is not None and (s.st_dev, s.st_ino) == (d.st_dev, d.st_ino) or rs == rd:
        raise UsageError("SRC and DST are the same directory")
    if _inside(rd, rs):
        raise UsageError("DST is inside SRC: refusing (the mirror would contain itself)")
    if delete and _inside(rs, rd):
        raise UsageError("SRC is inside DST and --delete is on: refusing (it would delete SRC)")
    return s, d


class DstLock:
    """flock on a file kept outside DST, keyed by DST's real path.  It never
    waits; the kernel drops it when the holder dies, so a killed run never
    blocks the next one."""

    def __init__(self, dst: str, lock_dir: str):
        key = hashlib.sha256(os.fsencode(_real(dst))).hexdigest()[:32]
        try:
            os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        except OSError as e:
            raise UsageError(f"lock dir {lock_dir!r}: {e.strerror}") from e
        self.path = os.path.join(lock_dir, f"{key}.lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            raise UsageError(f"lock file {self.path!r}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError("another stealsync run is syncing this DST (lock held); refusing") from None
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
