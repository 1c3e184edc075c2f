"""Plan: a pure function from two sorted listings to typed actions.

``plan_directory(src, dst, options, digests)`` merge-joins the SRC and DST
listings of one directory (both sorted by name, O(n), no sets) and says what
to do with each name.  No I/O happens here: dry-run, itemize and tests all use
the same plan; only :mod:`engine.apply` touches DST.

A DST regular file may be passed as the very object of its SRC twin: the
walk does that when their metadata is identical in every field compared
here, and the pair then plans nothing (the no-change fast path).

Actions come back in the order they must be applied within the directory:
stale temps first, then removals forced by a type change, then creations and
updates, then ``--delete`` removals (after the copies of that directory).
"""

from __future__ import annotations

import stat as st
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import NamedTuple

from .names import is_own_temp, is_stale_temp
from .walk import KIND_DIR, KIND_FILE, KIND_LINK, KIND_SPECIAL, Entry


class Op(IntEnum):
    DELETE_TEMP = 1  # a stale temp file of an earlier run
    REMOVE_FOR_TYPE = 2  # DST has another type under this name: remove it first
    COPY = 3  # new regular file
    UPDATE = 4  # rewrite an existing file's content
    META = 5  # same content, metadata differs
    SYMLINK = 6  # create or replace a symlink
    SPECIAL = 7  # create or replace a FIFO/socket/device
    MKDIR = 8  # new directory (its task follows)
    RECURSE = 9  # existing directory (its task follows)
    SKIP = 10  # nothing done, with a reason (e.g. special files not allowed)
    DELETE = 11  # --delete: DST entry with no SRC twin


# The order actions are applied in, within one directory.
_PHASE = {
    Op.DELETE_TEMP: 0,
    Op.REMOVE_FOR_TYPE: 1,
    Op.COPY: 2,
    Op.UPDATE: 2,
    Op.META: 2,
    Op.SYMLINK: 2,
    Op.SPECIAL: 2,
    Op.SKIP: 2,
    Op.MKDIR: 3,
    Op.RECURSE: 3,
    Op.DELETE: 4,
}


class Action(NamedTuple):
    op: Op
    name: str
    src: Entry | None = None
    dst: Entry | None = None
    reason: str = ""


class PlanOptions(NamedTuple):
    delete: bool = False
    checksum: bool = False
    owner: bool = False  # compare uid/gid (root runs)
    specials: bool = False  # recreate FIFOs/sockets/devices (else skip them)
    run_tag: str = ""  # this run's temp-name tag: its own temps are never stale


def plan_directory(
    src: Sequence[Entry],
    dst: Sequence[Entry],
    options: PlanOptions,
    digests: Mapping[str, tuple[bytes, bytes]] | None = None,
) -> list[Action]:
    """Merge-join two name-sorted listings into actions (see module doc)."""
    actions: list[Action] = []
    add = actions.append
    i = j = 0
    n_src, n_dst = len(src), len(dst)
    while i < n_src or j < n_dst:
        s = src[i] if i < n_src else None
        d = dst[j] if j < n_dst else None
        if d is None or (s is not None and s.name < d.name):
            _plan_new(s, options, add)
            i += 1
        elif s is None or d.name < s.name:
            _plan_extra(d, options, add)
            j += 1
        else:
            if s is not d or s.kind != KIND_FILE:  # same file object: found identical
                _plan_pair(s, d, options, digests, add)
            i += 1
            j += 1
    actions.sort(key=_phase_key)
    return actions


def _phase_key(a: Action) -> int:
    return _PHASE[a.op]


def _plan_new(s: Entry, o: PlanOptions, add) -> None:
    k = s.kind
    if k == KIND_FILE:
        add(Action(Op.COPY, s.name, s))
    elif k == KIND_DIR:
        add(Action(Op.MKDIR, s.name, s))
    elif k == KIND_LINK:
        add(Action(Op.SYMLINK, s.name, s))
    elif o.specials:
        add(Action(Op.SPECIAL, s.name, s))
    else:
        add(Action(Op.SKIP, s.name, s, None, "special file"))


def _plan_extra(d: Entry, o: PlanOptions, add) -> None:
    if is_stale_temp(d.name, o.run_tag):
        add(Action(Op.DELETE_TEMP, d.name, None, d))
    elif o.delete and not is_own_temp(d.name, o.run_tag):
        # A temp of this run belongs to a copy in flight (a slice of a split
        # directory running in another worker): never ours to delete.
        add(Action(Op.DELETE, d.name, None, d))


def file_unchanged(s: Entry, d, o: PlanOptions) -> bool:
    """The quick check on a DST file's raw ``os.stat_result``: True when the
    pair would plan nothing (same size, mtime, mode and, as root, owner).
    The walk uses it to hand the plan the SRC entry as its own twin."""
    return (d.st_mtime_ns == s.mtime_ns and d.st_size == s.size and d.st_mode == s.mode
            and not o.checksum and (not o.owner or (d.st_uid == s.uid and d.st_gid == s.gid)))


def meta_differs(s: Entry, d: Entry, o: PlanOptions, mtime: bool = True) -> bool:
    if mtime and s.mtime_ns != d.mtime_ns:
        return True
    if s.kind != KIND_LINK and st.S_IMODE(s.mode) != st.S_IMODE(d.mode):
        return True
    return o.owner and (s.uid != d.uid or s.gid != d.gid)


def _plan_pair(s: Entry, d: Entry, o: PlanOptions, digests, add) -> None:
    k = s.kind
    if k != d.kind:
        _plan_type_change(s, d, o, add)
    elif k == KIND_FILE:
        if s.size != d.size:
            add(Action(Op.UPDATE, s.name, s, d, "size"))
        elif o.checksum:
            pair = digests.get(s.name) if digests else None
            if pair is None or pair[0] != pair[1]:
                add(Action(Op.UPDATE, s.name, s, d, "checksum"))
            elif meta_differs(s, d, o):
                add(Action(Op.META, s.name, s, d))
        elif s.mtime_ns != d.mtime_ns:
            add(Action(Op.UPDATE, s.name, s, d, "mtime"))
        elif meta_differs(s, d, o):
            add(Action(Op.META, s.name, s, d))
    elif k == KIND_DIR:
        add(Action(Op.RECURSE, s.name, s, d))
    elif k == KIND_LINK:
        if s.target != d.target:
            add(Action(Op.SYMLINK, s.name, s, d, "target"))
        elif meta_differs(s, d, o):
            add(Action(Op.META, s.name, s, d))
    elif not o.specials:
        add(Action(Op.SKIP, s.name, s, d, "special file"))
    elif st.S_IFMT(s.mode) != st.S_IFMT(d.mode) or s.rdev != d.rdev:
        add(Action(Op.SPECIAL, s.name, s, d, "type"))
    elif meta_differs(s, d, o):
        add(Action(Op.META, s.name, s, d))


def _plan_type_change(s: Entry, d: Entry, o: PlanOptions, add) -> None:
    # A directory on either side cannot be renamed over: remove DST's entry
    # first.  Non-directory over non-directory is replaced atomically by the
    # rename of the new entry, so nothing needs removing.
    if s.kind == KIND_SPECIAL and not o.specials:
        add(Action(Op.SKIP, s.name, s, d, "special file"))
        return
    if d.kind == KIND_DIR or s.kind == KIND_DIR:
        add(Action(Op.REMOVE_FOR_TYPE, s.name, s, d, "type"))
        _plan_new(s, o, add)
        return
    if s.kind == KIND_FILE:
        add(Action(Op.UPDATE, s.name, s, d, "type"))
    elif s.kind == KIND_LINK:
        add(Action(Op.SYMLINK, s.name, s, d, "type"))
    else:
        add(Action(Op.SPECIAL, s.name, s, d, "type"))


def itemize_sigil(a: Action) -> str | None:
    """'+' created, '*' updated, '-' deleted; None for no visible change."""
    op = a.op
    if op in (Op.COPY, Op.MKDIR):
        return "+"
    if op in (Op.SYMLINK, Op.SPECIAL):
        return "+" if a.dst is None else "*"
    if op in (Op.UPDATE, Op.META):
        return "*"
    if op in (Op.DELETE, Op.REMOVE_FOR_TYPE):
        return "-"
    return None
