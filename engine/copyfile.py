"""Fast copy as an ordered chain of strategies (as CPython's shutil does).

``copy_file_range`` (in-kernel, reflinks on filesystems that can), then
``sendfile``, then a ``readinto`` loop over one reusable buffer.  A strategy may
give up only before it has written the first byte; when the kernel says a
strategy is unsupported it is demoted for the rest of this process.  Data moves
in chunks of at most :data:`CHUNK` bytes, so no file is ever held in memory.

:func:`_syscall` is the one wrapper through which the copy syscalls go, so
tests can inject a fault (e.g. ENOSYS) exactly there.
"""

from __future__ import annotations

import errno
import os

CHUNK = 8 * 1024 * 1024  # files above this are streamed chunk by chunk
STREAM_THRESHOLD = 10 * 1024 * 1024
_BUF_SIZE = 1024 * 1024

# errnos that mean "this strategy does not work for this pair of files".
_UNSUPPORTED = frozenset(
    {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EBADF}
)

STRATEGY_RANGE = "copy_file_range"
STRATEGY_SENDFILE = "sendfile"
STRATEGY_BUFFERED = "buffered"

# Process-wide: strategies still believed to work, in order of preference.
_enabled = [
    s
    for s, ok in (
        (STRATEGY_RANGE, hasattr(os, "copy_file_range")),
        (STRATEGY_SENDFILE, hasattr(os, "sendfile")),
        (STRATEGY_BUFFERED, True),
    )
    if ok
]
_buffer: bytearray | None = None


class _GiveUp(Exception):
    """A strategy cannot copy this file and nothing was written yet."""


def _syscall(name: str, *args):
    """Every copy syscall goes through here (the fault-injection point)."""
    if name == STRATEGY_RANGE:
        return os.copy_file_range(*args)
    if name == STRATEGY_SENDFILE:
        return os.sendfile(*args)
    if name == "readinto":
        return os.readv(args[0], [args[1]])
    if name == "write":
        return os.write(*args)
    raise ValueError(name)


def copy_data(src_fd: int, dst_fd: int, size: int) -> tuple[int, str]:
    """Copy ``size`` bytes from src_fd to dst_fd (both at offset 0).

    Returns (bytes copied, strategy used).  Fewer bytes than ``size`` means the
    source shrank; the caller checks the source did not change.
    """
    if size == 0:
        return 0, _enabled[0]
    if _enabled[0] == STRATEGY_RANGE:  # the common case, without the loop
        try:
            return _copy_range(src_fd, dst_fd, size), STRATEGY_RANGE
        except _GiveUp:
            _enabled.remove(STRATEGY_RANGE)
    for strategy in list(_enabled):
        try:
            if strategy == STRATEGY_RANGE:
                return _copy_range(src_fd, dst_fd, size), strategy
            if strategy == STRATEGY_SENDFILE:
                return _copy_sendfile(src_fd, dst_fd, size), strategy
            return _copy_buffered(src_fd, dst_fd, size), strategy
        except _GiveUp:
            if strategy in _enabled and strategy != STRATEGY_BUFFERED:
                _enabled.remove(strategy)
    raise AssertionError("buffered copy never gives up")


def _copy_range(src_fd: int, dst_fd: int, size: int) -> int:
    done = 0
    while done < size:
        try:
            n = _syscall(STRATEGY_RANGE, src_fd, dst_fd, min(size - done, CHUNK))
        except OSError as e:
            if done == 0 and e.errno in _UNSUPPORTED:
                raise _GiveUp from e
            raise
        if n == 0:
            if done == 0 and os.fstat(src_fd).st_size > 0:
                # Some filesystems (procfs-like, some FUSE) report 0 for data
                # they do have; let the next strategy decide.  (A file that
                # really shrank to nothing is the caller's torn-copy check.)
                raise _GiveUp
            break
        done += n
    return done


def _copy_sendfile(src_fd: int, dst_fd: int, size: int) -> int:
    done = 0
    while done < size:
        try:
            n = _syscall(STRATEGY_SENDFILE, dst_fd, src_fd, done, min(size - done, CHUNK))
        except OSError as e:
            if done == 0 and e.errno in _UNSUPPORTED:
                raise _GiveUp from e
            raise
        if n == 0:
            break
        done += n
    # sendfile with an explicit offset leaves dst's offset advanced but not
    # src's; nothing else reads src_fd afterwards without seeking.
    return done


def _copy_buffered(src_fd: int, dst_fd: int, size: int) -> int:
    global _buffer
    if _buffer is None:
        _buffer = bytearray(_BUF_SIZE)
    view = memoryview(_buffer)
    os.lseek(src_fd, 0, os.SEEK_SET)
    done = 0
    while done < size:
        n = _syscall("readinto", src_fd, view[: min(size - done, _BUF_SIZE)])
        if n == 0:
            break
        chunk = view[:n]
        while chunk:
            w = _syscall("write", dst_fd, chunk)
            chunk = chunk[w:]
        done += n
    return done


def enabled_strategies() -> list[str]:
    return list(_enabled)


def reset_strategies() -> None:
    """For tests: believe in every strategy again."""
    _enabled[:] = [STRATEGY_RANGE, STRATEGY_SENDFILE, STRATEGY_BUFFERED]
