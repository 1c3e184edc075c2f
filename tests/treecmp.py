"""Compare two directory trees entry by entry; report every difference.

``compare(a, b)`` returns a list of human-readable differences (empty when
the trees are equal), so a failing ``assert not compare(a, b)`` shows what
differs.  For every entry it checks the type, the mode bits (not for
symlinks: Linux has no symlink modes), the mtime in nanoseconds (files,
directories and symlinks, via lstat), the size and bytes of regular files,
symlink targets, device numbers, and uid/gid when we run as root.

The walk is descriptor-relative (``dir_fd`` + ``O_NOFOLLOW``), so it works for
paths longer than PATH_MAX and never follows a symlink.  Only regular files
are ever opened (with ``O_NONBLOCK``): FIFOs are compared by their metadata.
Names are kept as the bytes on disk (``os.fsencode``), so non-UTF-8 names
round-trip.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from typing import NamedTuple

O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
O_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
TEMP_RE = re.compile(rb"\.stealsync-[0-9a-f]{8}-[0-9a-f]+-[0-9a-f]+\.tmp\Z")


class Node(NamedTuple):
    """What we compare about one entry."""

    fmt: int  # S_IFMT
    mode: int  # S_IMODE (0 for symlinks)
    mtime_ns: int
    size: int  # regular files only, else 0
    digest: bytes | None  # blake2b of a regular file's bytes
    target: bytes | None  # symlink target
    uid: int
    gid: int
    rdev: int
    ino: int
    nlink: int
    dev: int


def _digest_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, O_FILE, dir_fd=dir_fd)
    try:
        h = hashlib.blake2b(digest_size=16)
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return h.digest()
            h.update(chunk)
    finally:
        os.close(fd)


def _node(dir_fd: int | None, name: str, s: os.stat_result, content: bool) -> Node:
    fmt = stat.S_IFMT(s.st_mode)
    digest = target = None
    size = 0
    if stat.S_ISREG(fmt):
        size = s.st_size
        if content:
            digest = _digest_at(dir_fd, name)
    elif stat.S_ISLNK(fmt):
        target = os.fsencode(os.readlink(name, dir_fd=dir_fd))
    mode = 0 if stat.S_ISLNK(fmt) else stat.S_IMODE(s.st_mode)
    rdev = s.st_rdev if stat.S_ISCHR(fmt) or stat.S_ISBLK(fmt) else 0
    return Node(fmt, mode, s.st_mtime_ns, size, digest, target, s.st_uid, s.st_gid, rdev,
                s.st_ino, s.st_nlink, s.st_dev)


def snapshot(root: str | os.PathLike, content: bool = True) -> dict[bytes, Node]:
    """Every entry below ``root`` (and ``root`` itself as ``b''``), keyed by
    its relative path in bytes."""
    out: dict[bytes, Node] = {}
    fd = os.open(root, O_DIR & ~os.O_NOFOLLOW)
    try:
        out[b""] = _node(None, "", os.fstat(fd), False)
        _walk(fd, b"", out, content)
    finally:
        os.close(fd)
    return out


def _walk(dir_fd: int, rel: bytes, out: dict, content: bool) -> None:
    subdirs = []
    for name in sorted(os.listdir(dir_fd)):
        s = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        key = rel + b"/" + os.fsencode(name) if rel else os.fsencode(name)
        out[key] = _node(dir_fd, name, s, content)
        if stat.S_ISDIR(s.st_mode):
            subdirs.append((name, key))
    for name, key in subdirs:
        fd = os.open(name, O_DIR, dir_fd=dir_fd)
        try:
            _walk(fd, key, out, content)
        finally:
            os.close(fd)


_KIND = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
         stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket", stat.S_IFCHR: "chardev",
         stat.S_IFBLK: "blockdev"}


def kind_name(fmt: int) -> str:
    return _KIND.get(fmt, oct(fmt))


def compare_snapshots(a: dict[bytes, Node], b: dict[bytes, Node], *, owner: bool | None = None,
                      mtime: bool = True, root_meta: bool = True) -> list[str]:
    """Differences between two snapshots (see :func:`compare`)."""
    if owner is None:
        owner = os.geteuid() == 0
    diffs: list[str] = []
    for key in sorted(set(a) | set(b)):
        where = repr(key.decode("utf-8", "backslashreplace") or ".")
        if key not in b:
            diffs.append(f"{where}: only in A ({kind_name(a[key].fmt)})")
            continue
        if key not in a:
            diffs.append(f"{where}: only in B ({kind_name(b[key].fmt)})")
            continue
        x, y = a[key], b[key]
        if x.fmt != y.fmt:
            diffs.append(f"{where}: type {kind_name(x.fmt)} != {kind_name(y.fmt)}")
            continue
        if key == b"" and not root_meta:
            continue
        checks = [("mode", oct(x.mode), oct(y.mode)), ("size", x.size, y.size),
                  ("bytes", x.digest, y.digest), ("target", x.target, y.target),
                  ("rdev", x.rdev, y.rdev)]
        if mtime:
            checks.append(("mtime_ns", x.mtime_ns, y.mtime_ns))
        if owner:
            checks += [("uid", x.uid, y.uid), ("gid", x.gid, y.gid)]
        for what, u, v in checks:
            if u != v:
                diffs.append(f"{where}: {what} {u!r} != {v!r}")
    return diffs


def compare(a: str | os.PathLike, b: str | os.PathLike, *, owner: bool | None = None,
            mtime: bool = True, root_meta: bool = True) -> list[str]:
    """Every difference between the trees at ``a`` and ``b`` (empty: equal).

    ``owner``: compare uid/gid (default: when running as root).  ``mtime``:
    compare mtimes.  ``root_meta``: compare the roots' own metadata."""
    return compare_snapshots(snapshot(a), snapshot(b), owner=owner, mtime=mtime,
                             root_meta=root_meta)


def temps(root: str | os.PathLike) -> list[bytes]:
    """Relative paths of every stealsync temp file below ``root``."""
    return [k for k in snapshot(root, content=False) if TEMP_RE.search(k.rsplit(b"/", 1)[-1])]
