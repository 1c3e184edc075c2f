"""One unit of work: Walk -> Plan -> Apply for one directory (or one slice
of a huge directory).

``run_task(ctx, task)`` lists the SRC directory and its DST twin, plans, applies
and returns the child tasks (one per subdirectory).  It holds no state across
tasks (apart from caches), so any process can run any task.

Huge directories: when the pool is running and a directory holds more than
:data:`SLICE_THRESHOLD` regular files, its task (the *head*) applies
everything that is not a regular file and pushes the regular files as slices
(name ranges ``[lo, hi)``) that idle workers can steal.  Each slice re-plans
only its name range.  The head's directory metadata is applied by the
coordinator after all tasks end.
"""

from __future__ import annotations

import bisect
import os
import stat as st
import time
from typing import NamedTuple

from .apply import Applier, make_writable, set_fd_meta
from .context import DeferredDir, HardLink, WorkerContext
from .counters import C, F
from .errors import SyncError, from_oserror
from .names import escape, join
from .plan import Action, Op, file_unchanged, meta_differs, plan_directory
from .rules import PatternError, RuleFileError
from .walk import (
    KIND_DIR,
    KIND_FILE,
    Entry,
    describe,
    entry_from_stat,
    kind_of,
    name_of,
    open_dir,
    scan,
)

SLICE_THRESHOLD = 4096  # regular files in one directory before it is split
SLICE_SIZE = 1024  # regular files per slice


class Task(NamedTuple):
    """A directory to sync, with what its parent already knows about it.
    Plain tuples only: tasks travel between processes via marshal."""

    relpath: str
    src: tuple | None  # the SRC directory's Entry (as a tuple)
    dst: tuple | None  # the DST directory's Entry before the run; None if new
    rules: tuple  # key of the rule chain (see rules.Rules.node_for)
    lo: str | None = None  # slice bounds; both None for a whole directory
    hi: str | None = None


def run_task(ctx: WorkerContext, task: Task) -> list[Task]:
    ctx.row.add(C.TASKS)
    if task.lo is not None or task.hi is not None:
        _run_slice(ctx, task)
        return []
    return _run_directory(ctx, task)


def run_depth_first(ctx: WorkerContext, stack: list[Task], task_fn=run_task,
                    enough=lambda: False) -> None:
    """Run tasks in this process, depth-first (children pushed in reverse,
    so the first runs next), until the stack is empty, a stop is asked, or
    ``enough()`` says the pool should take over."""
    shared = ctx.shared
    while stack and not shared.flag(F.STOP) and not enough():
        t0 = time.perf_counter_ns()
        stack.extend(reversed(task_fn(ctx, stack.pop())))
        ctx.row.add(C.BUSY_NS, time.perf_counter_ns() - t0)


# --- whole directories --------------------------------------------------------

def _run_directory(ctx: WorkerContext, task: Task) -> list[Task]:
    relpath = task.relpath
    try:
        src_fd = open_dir(ctx.src_root, relpath)
    except OSError as e:
        _listing_failed(ctx, relpath, e)
        return []
    dst_fd = None
    try:
        if not (task.dst is None and ctx.opts.dry_run):
            try:
                dst_fd = open_dir(ctx.dst_root, relpath)
            except OSError as e:
                ctx.report(from_oserror(relpath, "open-dst", e))
                return []
            if task.dst is not None and not ctx.opts.dry_run and not ctx.is_root:
                make_writable(dst_fd)
        try:
            src_des = scan(src_fd)
        except OSError as e:
            _listing_failed(ctx, relpath, e)
            return []
        node = rule_chain(ctx, task, src_fd, _NameSet(src_des))
        if node is None:
            return []
        dst_des = []
        if dst_fd is not None and task.dst is not None:  # a dir we just made is empty
            try:
                dst_des = scan(dst_fd)
            except OSError as e:
                ctx.report(from_oserror(relpath, "list-dst", e))
                return []
        split = ctx.split_allowed and _count_files(src_des) > SLICE_THRESHOLD
        src = _describe_src(ctx, relpath, src_fd, src_des, node, not split, dst_des=dst_des)
        dst = _describe_dst(ctx, relpath, dst_fd, dst_des, node, src, not split, None, None)
        digests = None if split else _digests(ctx, relpath, src_fd, dst_fd, src, dst)
        actions = plan_directory(src, dst, ctx.plan_options, digests)
        applier = Applier(ctx, relpath, src_fd, dst_fd)
        if split:
            actions = [a for a in actions if not _is_file_action(a)]
        children = _apply_all(ctx, applier, actions, relpath, node.key)
        if split:
            slices = _slices(task, node.key, [e.name for e in src if e.kind == KIND_FILE])
            ctx.row.add(C.DIRS_SPLIT)
            ctx.sink.defer(DeferredDir(relpath, task.src, _split_itemize(ctx, task, applier.changed)))
            # The slices this process runs itself reuse these listings.
            _keep_huge(_HugeDir(relpath, src_fd, dst_fd, src_des, dst_des))
            src_fd = dst_fd = None
            return children + slices
        _count_done(ctx, src)
        _finish_dir(ctx, task, dst_fd, applier.changed)
        return children
    finally:
        if src_fd is not None:
            os.close(src_fd)
        if dst_fd is not None:
            os.close(dst_fd)


class _NameSet:
    """Membership test over a listing without building a set."""

    __slots__ = ("_names",)

    def __init__(self, des):
        self._names = des

    def __contains__(self, name: str) -> bool:
        names = self._names
        i = bisect.bisect_left(names, name, key=name_of)
        return i < len(names) and names[i].name == name


def rule_chain(ctx: WorkerContext, task: Task, src_fd: int | None = None, names=None):
    """The task's rule chain (rebuilt from its key in this process), plus
    this directory's own ignore files when ``names`` is given.  An ignore
    file we cannot read or parse is a listing error: None."""
    try:
        node = ctx.rules.node_for(task.rules, ctx.src_root)
        if names is not None:
            node = ctx.rules.enter(node, task.relpath, src_fd, names)
        return node
    except RuleFileError as e:
        _listing_failed(ctx, e.relpath, e.exc)
    except PatternError as e:
        _listing_failed(ctx, task.relpath, OSError(0, str(e)))
    return None


def _count_files(des) -> int:
    n = 0
    for de in des:
        if de.is_file(follow_symlinks=False):
            n += 1
    return n


def _listing_failed(ctx: WorkerContext, relpath: str, exc: OSError) -> None:
    # Any SRC listing error turns deletions off for the whole run: a
    # directory we could not list must never look empty to --delete.
    ctx.disable_deletions()
    # Always an error (exit 23), even when it vanished: its subtree is unsynced.
    ctx.report(SyncError(relpath, "list-src", exc.errno or 0, exc.strerror or str(exc)))


def _describe_src(ctx, relpath, src_fd, des, node, stat_files=True, lo=None, hi=None,
                  dst_des=None) -> list[Entry]:
    """SRC entries not excluded, stat'ed where the plan needs it.  A regular
    file with no DST twin (``dst_des`` given) needs no stat: copying it reads
    its metadata from the open descriptor (``Entry.mode == 0`` marks that)."""
    rules = ctx.rules
    check = rules.active and rules.applies(node)
    hard_links = ctx.opts.hard_links
    skip_new = dst_des is not None and not hard_links
    dst_names = [de.name for de in dst_des] if skip_new else ()
    j, n_dst = 0, len(dst_names)
    out: list[Entry] = []
    append = out.append
    files = nbytes = dirs = 0
    for de in des:
        name = de.name
        if lo is not None and (name < lo or (hi is not None and name >= hi)):
            continue
        if check:
            if rules.excluded(node, join(relpath, name), de.is_dir(follow_symlinks=False)):
                continue
        if de.is_file(follow_symlinks=False):
            if not stat_files:
                append(Entry(name, KIND_FILE))
                continue
            if skip_new:
                while j < n_dst and dst_names[j] < name:
                    j += 1
                if j >= n_dst or dst_names[j] != name:
                    files += 1
                    append(Entry(name, KIND_FILE))
                    continue
        try:
            e = describe(de, src_fd)
        except FileNotFoundError as exc:  # vanished since the listing: exit 24
            ctx.report(from_oserror(join(relpath, name), "stat-src", exc))
            continue
        except OSError as exc:
            # An entry we cannot see must not look deleted to --delete.
            _listing_failed(ctx, join(relpath, name), exc)
            continue
        kind = e.kind
        if kind == KIND_FILE:
            files += 1
            nbytes += e.size
            if hard_links and e.nlink > 1:
                ctx.sink.hardlink(HardLink(e.dev, e.ino, join(relpath, name)))
        elif kind == KIND_DIR:
            dirs += 1
        append(e)
    row = ctx.row
    row.add(C.FILES_SEEN, files)
    row.add(C.BYTES_SEEN, nbytes)
    row.add(C.DIRS_SEEN, dirs)
    return out


def _describe_dst(ctx, relpath, dst_fd, des, node, src, stat_files, lo, hi) -> list[Entry]:
    """DST entries: stat'ed when they have a SRC twin (the plan compares
    them), name and type only otherwise (enough to delete).  Excluded
    entries without a twin are left out (left alone) unless
    --delete-excluded."""
    rules = ctx.rules
    check = rules.active and rules.applies(node) and not ctx.opts.delete_excluded
    out: list[Entry] = []
    append = out.append
    # The quick check of the common no-change case: a DST file whose stat
    # equals its twin's in every field the plan compares is passed as the
    # twin itself, and the plan skips it without building anything.
    quick = stat_files and not ctx.opts.checksum
    plan_options = ctx.plan_options
    i, n = 0, len(src)
    for de in des:
        name = de.name
        if lo is not None and (name < lo or (hi is not None and name >= hi)):
            continue
        while i < n and src[i].name < name:
            i += 1
        if i < n and src[i].name == name:
            s = src[i]
            if quick and s.kind == KIND_FILE and s.mode:
                try:
                    d = de.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if file_unchanged(s, d, plan_options):
                    append(s)  # the same object: the plan skips the pair
                else:
                    append(entry_from_stat(name, d))
            elif stat_files or not de.is_file(follow_symlinks=False):
                try:
                    append(describe(de, dst_fd))
                except FileNotFoundError:
                    pass
            else:
                append(Entry(name, KIND_FILE))
            continue
        kind = kind_of(de)
        if check and rules.excluded(node, join(relpath, name), kind == KIND_DIR):
            continue  # excluded entries in DST are left alone
        append(Entry(name, kind))
    return out


def _digests(ctx, relpath, src_fd, dst_fd, src, dst):
    if not ctx.opts.checksum or dst_fd is None:
        return None
    from .hashing import hash_at

    out = {}
    i, n = 0, len(dst)
    for s in src:
        if s.kind != KIND_FILE:
            continue
        while i < n and dst[i].name < s.name:
            i += 1
        if i < n and dst[i].name == s.name and dst[i].kind == KIND_FILE and dst[i].size == s.size:
            try:
                a = hash_at(src_fd, s.name)
            except OSError as e:
                ctx.report(from_oserror(join(relpath, s.name), "hash-src", e))
                continue
            try:
                b = hash_at(dst_fd, s.name)
            except OSError:
                b = b""
            ctx.row.add(C.HASHED_BYTES, 2 * s.size)
            out[s.name] = (a, b)
    return out


def _is_file_action(a: Action) -> bool:
    """Actions a slice owns: plain regular files on both sides."""
    if a.op not in (Op.COPY, Op.UPDATE, Op.META, Op.DELETE):
        return False
    return (a.src is None or a.src.kind == KIND_FILE) and (a.dst is None or a.dst.kind == KIND_FILE)


def _apply_all(ctx: WorkerContext, applier: Applier, actions, relpath: str, rule_key) -> list[Task]:
    children: list[Task] = []
    kept: set[str] = set()  # names whose old DST entry could not be removed
    for a in actions:
        if ctx.stopping():
            break
        if a.name in kept:
            continue  # creating over the old entry would fail (or, dry, pretend)
        ok = applier.apply(a)
        if a.op == Op.REMOVE_FOR_TYPE and not ok:
            kept.add(a.name)  # withheld (--max-delete, deletions off) or failed
        elif a.op == Op.MKDIR and ok:
            children.append(Task(join(relpath, a.name), tuple(a.src), None, rule_key))
        elif a.op == Op.RECURSE:
            children.append(Task(join(relpath, a.name), tuple(a.src), tuple(a.dst), rule_key))
    return children


def _count_done(ctx: WorkerContext, src: list[Entry]) -> None:
    """Progress: every regular file of a finished listing is done (copied,
    updated, up to date or failed)."""
    n = size = 0
    for e in src:
        if e.kind == KIND_FILE:
            n += 1
            size += e.size
    ctx.row.add(C.FILES_DONE, n)
    ctx.row.add(C.BYTES_DONE, size)


def _finish_dir(ctx: WorkerContext, task: Task, dst_fd: int | None, changed: bool) -> None:
    """Set the directory's own metadata, after its entries are written."""
    if task.src is None:
        return
    s = Entry(*task.src)
    if not ctx.is_root and st.S_IMODE(s.mode) & 0o700 != 0o700:
        # Locking it down now would stop its children's tasks from writing.
        ctx.sink.defer(DeferredDir(task.relpath, task.src, _dir_itemize(ctx, task, changed)))
        return
    if _dir_itemize(ctx, task, changed) and ctx.opts.itemize:
        ctx.sink.item(f"* {escape(task.relpath)}/" if task.relpath else "* ./")
    if ctx.opts.dry_run or dst_fd is None:
        return
    try:
        set_fd_meta(dst_fd, s, ctx.is_root)
    except OSError as e:
        ctx.report(from_oserror(task.relpath, "set-meta", e))


def _dir_itemize(ctx: WorkerContext, task: Task, changed: bool) -> bool:
    """'* dir/' when the directory's own metadata changed; an mtime that
    differs only because its entries changed prints nothing."""
    if task.dst is None or task.src is None:
        return False
    s, d = Entry(*task.src), Entry(*task.dst)
    if meta_differs(s, d, ctx.plan_options, mtime=False):
        return True
    return s.mtime_ns != d.mtime_ns and not changed


def _split_itemize(ctx: WorkerContext, task: Task, changed: bool) -> bool | None:
    """The head's '* dir/' verdict for a split directory; None when only its
    mtime differs: printed unless a slice changes an entry (which a slice
    reports with a DeferredDir whose src is None)."""
    if _dir_itemize(ctx, task, True):
        return True
    if changed or not _dir_itemize(ctx, task, False):
        return False
    return None


def restore_dir_meta(ctx: WorkerContext, relpath: str, dst_fd: int) -> None:
    """Give a DST directory SRC's current metadata again, after entries were
    added or removed in it outside its own task (deferred deletions, the
    hard-link pass)."""
    try:
        src_fd = open_dir(ctx.src_root, relpath)
        try:
            set_fd_meta(dst_fd, entry_from_stat("", os.fstat(src_fd)), ctx.is_root)
        finally:
            os.close(src_fd)
    except OSError as e:
        ctx.report(from_oserror(relpath, "set-meta", e))


# --- slices of huge directories ----------------------------------------------

def _slices(task: Task, rule_key, file_names: list[str]) -> list[Task]:
    out = []
    for start in range(0, len(file_names), SLICE_SIZE):
        lo = file_names[start]
        end = start + SLICE_SIZE
        hi = file_names[end] if end < len(file_names) else None
        out.append(Task(task.relpath, None, task.dst, rule_key, lo, hi))
    if out:  # the first slice also owns names below the first file
        first = out[0]
        out[0] = first._replace(lo="")
    return out


class _HugeDir:
    """One split directory's listings, kept by a process for all the slices
    of it that it runs: a slice then lists nothing.  It owns the descriptors
    the listings were made on (a DirEntry stats through its scandir's fd, so
    the fds must stay open exactly as long as the entries are used)."""

    __slots__ = ("relpath", "src_fd", "dst_fd", "src_des", "dst_des")

    def __init__(self, relpath, src_fd, dst_fd, src_des, dst_des):
        self.relpath, self.src_fd, self.dst_fd = relpath, src_fd, dst_fd
        self.src_des, self.dst_des = src_des, dst_des

    def close(self) -> None:
        for fd in (self.src_fd, self.dst_fd):
            if fd is not None:
                os.close(fd)


_huge: _HugeDir | None = None  # one huge directory at a time, per process


def _keep_huge(listing: _HugeDir) -> None:
    global _huge
    if _huge is not None:
        _huge.close()
    _huge = listing


def _huge_listing(ctx: WorkerContext, task: Task) -> _HugeDir | None:
    """The cached listings of the task's directory, made now if needed."""
    relpath = task.relpath
    if _huge is not None and _huge.relpath == relpath:
        return _huge
    try:
        src_fd = open_dir(ctx.src_root, relpath)
    except OSError as e:
        _listing_failed(ctx, relpath, e)
        return None
    listing = _HugeDir(relpath, src_fd, None, [], [])
    try:
        listing.src_des = scan(src_fd)
    except OSError as e:
        listing.close()
        _listing_failed(ctx, relpath, e)
        return None
    try:
        if not (task.dst is None and ctx.opts.dry_run):
            listing.dst_fd = open_dir(ctx.dst_root, relpath)
            listing.dst_des = scan(listing.dst_fd)
    except OSError as e:
        listing.close()
        ctx.report(from_oserror(relpath, "list-dst", e))
        return None
    _keep_huge(listing)
    return listing


def _run_slice(ctx: WorkerContext, task: Task) -> None:
    relpath = task.relpath
    ctx.row.add(C.SLICES)
    listing = _huge_listing(ctx, task)
    if listing is None:
        return
    src_fd, dst_fd = listing.src_fd, listing.dst_fd
    node = rule_chain(ctx, task)
    if node is None:
        return
    lo, hi = task.lo, task.hi
    dst_des = listing.dst_des
    try:
        # Every SRC entry of the range, not only files: a DST file whose SRC
        # twin is a directory, link or special is the head's to handle (the
        # plan pairs them; _is_file_action drops the pair), never an extra.
        src = _describe_src(ctx, relpath, src_fd, listing.src_des, node, True, lo, hi,
                            dst_des=dst_des)
        dst = _describe_dst(ctx, relpath, dst_fd, dst_des, node, src, True, lo, hi)
        digests = _digests(ctx, relpath, src_fd, dst_fd, src, dst)
        actions = [a for a in plan_directory(src, dst, ctx.plan_options, digests) if _is_file_action(a)]
        applier = Applier(ctx, relpath, src_fd, dst_fd)
        _apply_all(ctx, applier, actions, relpath, task.rules)
        if applier.changed:  # the directory's mtime moved because of its entries
            ctx.sink.defer(DeferredDir(relpath, None, False))
        _count_done(ctx, src)
    except OSError as e:
        ctx.report(from_oserror(relpath, "open-dst", e))


__all__ = ["Task", "run_task", "run_depth_first", "rule_chain", "restore_dir_meta", "SyncError"]
