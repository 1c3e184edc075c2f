"""Content hashes (xxh3-128) of open files, read in chunks through one buffer."""

from __future__ import annotations

import os

_BUF_SIZE = 1024 * 1024
_buffer: bytearray | None = None


def hash_fd(fd: int) -> bytes:
    """xxh3-128 digest of the whole file open at ``fd`` (from offset 0)."""
    import xxhash  # lazy: only --checksum / --verify pay for the import

    global _buffer
    if _buffer is None:
        _buffer = bytearray(_BUF_SIZE)
    view = memoryview(_buffer)
    h = xxhash.xxh3_128()
    offset = 0
    while True:
        n = os.preadv(fd, [view], offset)
        if n == 0:
            return h.digest()
        h.update(view[:n])
        offset += n


O_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def hash_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, O_READ, dir_fd=dir_fd)
    try:
        return hash_fd(fd)
    finally:
        os.close(fd)
