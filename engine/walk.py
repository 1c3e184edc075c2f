"""Walk: list one directory (by descriptor) into sorted, typed entries.

Listings come from ``os.scandir(fd)`` so no path is ever re-resolved: a path
component swapped for a symlink mid-run cannot redirect us.  The DirEntry's
type (``d_type``) is used to filter by name before anything is stat'ed; only
what the planner needs is stat'ed.
"""

from __future__ import annotations

import operator
import os
import stat as st
from typing import NamedTuple

KIND_FILE = 1
KIND_DIR = 2
KIND_LINK = 3
KIND_SPECIAL = 4

KIND_NAMES = {KIND_FILE: "file", KIND_DIR: "dir", KIND_LINK: "symlink", KIND_SPECIAL: "special"}

O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Entry(NamedTuple):
    """One directory entry as the planner sees it (plain data)."""

    name: str
    kind: int
    mode: int = 0  # full st_mode; 0 when not stat'ed
    size: int = 0
    mtime_ns: int = 0
    ino: int = 0
    nlink: int = 1
    uid: int = 0
    gid: int = 0
    rdev: int = 0
    atime_ns: int = 0
    target: str | None = None  # symlink target
    dev: int = 0

    @property
    def perm(self) -> int:
        return st.S_IMODE(self.mode)


_KIND_BY_FMT = {st.S_IFREG: KIND_FILE, st.S_IFDIR: KIND_DIR, st.S_IFLNK: KIND_LINK}
_FMT = 0o170000


def kind_of_mode(mode: int) -> int:
    return _KIND_BY_FMT.get(mode & _FMT, KIND_SPECIAL)


def kind_of(de: os.DirEntry) -> int:
    """Type from d_type where the filesystem gives it (no stat)."""
    if de.is_symlink():
        return KIND_LINK
    if de.is_dir(follow_symlinks=False):
        return KIND_DIR
    if de.is_file(follow_symlinks=False):
        return KIND_FILE
    return KIND_SPECIAL


_new_entry = tuple.__new__  # skips NamedTuple's Python-level __new__: hot path


def entry_from_stat(name: str, s: os.stat_result, target: str | None = None) -> Entry:
    m = s.st_mode
    return _new_entry(Entry, (
        name,
        _KIND_BY_FMT.get(m & _FMT, KIND_SPECIAL),
        m,
        s.st_size,
        s.st_mtime_ns,
        s.st_ino,
        s.st_nlink,
        s.st_uid,
        s.st_gid,
        s.st_rdev,
        s.st_atime_ns,
        target,
        s.st_dev,
    ))


def scan(dir_fd: int) -> list[os.DirEntry]:
    """All entries of the directory open at ``dir_fd``, sorted by name."""
    with os.scandir(dir_fd) as it:
        entries = list(it)
    entries.sort(key=name_of)
    return entries


name_of = operator.attrgetter("name")  # the sort key of every listing


def describe(de: os.DirEntry, dir_fd: int) -> Entry:
    """Stat one entry (never following links); raises OSError if it vanished."""
    s = de.stat(follow_symlinks=False)
    if s.st_mode & _FMT == st.S_IFLNK:
        return entry_from_stat(de.name, s, os.readlink(de.name, dir_fd=dir_fd))
    return entry_from_stat(de.name, s)


def shallow(de: os.DirEntry) -> Entry:
    """Name and type only: enough to delete an entry."""
    return Entry(de.name, kind_of(de))


def open_dir(root_fd: int, relpath: str) -> int:
    """Open ``relpath`` below ``root_fd`` one component at a time, never
    following a symlink (O_NOFOLLOW on every component)."""
    if not relpath:
        return os.dup(root_fd)
    fd = root_fd
    try:
        for comp in relpath.split("/"):
            nfd = os.open(comp, O_DIR, dir_fd=fd)
            if fd != root_fd:
                os.close(fd)
            fd = nfd
    except BaseException:
        if fd != root_fd:
            os.close(fd)
        raise
    return fd


def lstat_at(dir_fd: int, name: str) -> os.stat_result:
    return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
