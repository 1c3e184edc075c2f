"""Apply: the only code that writes to DST.

Everything happens relative to open directory descriptors with O_NOFOLLOW, so
no write can go through a symlink in DST.  Files are written to a temp name
in the same directory (``.stealsync-<run>-<pid>-<n>.tmp``), their metadata set
on the open descriptor, then renamed over the final name: at any instant the
final name holds either the old file or the complete new one.

In dry-run mode the same code runs with every write skipped, so the itemized
output and the counters of a dry run equal those of the real run.
"""

from __future__ import annotations

import errno
import os
import stat as st

from .context import PendingDelete, WorkerContext
from .copyfile import (
    STRATEGY_BUFFERED,
    STRATEGY_RANGE,
    STRATEGY_SENDFILE,
    STREAM_THRESHOLD,
    copy_data,
)
from .counters import C
from .errors import FatalSyncError, Severity, SyncError, from_oserror
from .names import escape, join
from .plan import Action, Op, itemize_sigil
from .walk import KIND_DIR, KIND_FILE, KIND_LINK, O_DIR, Entry

O_SRC = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# Read-write: --verify hashes the copy back through the same descriptor.
O_TMP = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_STRATEGY_COUNTER = {
    STRATEGY_RANGE: C.COPY_RANGE,
    STRATEGY_SENDFILE: C.COPY_SENDFILE,
    STRATEGY_BUFFERED: C.COPY_BUFFERED,
}
TORN_RETRIES = 3


class SourceChanged(Exception):
    """The source file changed while it was being copied."""


class Applier:
    """Applies one directory's actions; ``dst_fd`` is None in dry-run for a
    directory that does not exist yet."""

    def __init__(self, ctx: WorkerContext, relpath: str, src_fd: int, dst_fd: int | None):
        self.ctx = ctx
        self.relpath = relpath
        self.src_fd = src_fd
        self.dst_fd = dst_fd
        self.dry = ctx.opts.dry_run
        self.itemize = ctx.opts.itemize
        self.changed = False  # any visible change in this directory
        self.defer_deletes = True  # the coordinator's final pass sets False
        self._gid: int | None = None

    # --- reporting -----------------------------------------------------------
    def _item(self, sigil: str, name: str, is_dir: bool = False) -> None:
        self.changed = True
        if self.itemize:
            path = escape(join(self.relpath, name))
            self.ctx.sink.item(f"{sigil} {path}/" if is_dir else f"{sigil} {path}")

    def _fail(self, name: str, op: str, exc: OSError) -> None:
        rec = from_oserror(join(self.relpath, name), op, exc)
        if rec.severity == Severity.FATAL:
            self.ctx.report(rec)
            raise FatalSyncError(rec)
        self.ctx.report(rec)

    # --- dispatch ------------------------------------------------------------
    def apply(self, a: Action) -> bool:
        """Apply one action; False when it failed (already reported)."""
        op = a.op
        try:
            if op == Op.COPY or op == Op.UPDATE:
                return self.write_file(a)
            if op == Op.META:
                return self.set_meta(a)
            if op == Op.SYMLINK:
                return self.write_symlink(a)
            if op == Op.SPECIAL:
                return self.write_special(a)
            if op == Op.MKDIR:
                return self.make_dir(a)
            if op in (Op.DELETE, Op.REMOVE_FOR_TYPE):
                return self.delete(a)
            if op == Op.DELETE_TEMP:
                return self.delete_temp(a)
            if op == Op.SKIP:
                self.ctx.row.add(C.SKIPPED)
                self.ctx.report(SyncError(join(self.relpath, a.name), "skip", 0,
                                          f"skipped {a.reason}", Severity.WARNING))
            return True
        except FatalSyncError:
            raise
        except OSError as e:  # anything not handled by the op itself
            self._fail(a.name, _OP_NAMES.get(op, "apply"), e)
            return False

    # --- regular files -------------------------------------------------------
    def write_file(self, a: Action) -> bool:
        s = a.src
        ctx = self.ctx
        sigil = itemize_sigil(a)
        if self.dry:
            size = s.size
            if s.mode == 0:  # not stat'ed in the listing (a new file)
                try:
                    size = os.stat(a.name, dir_fd=self.src_fd, follow_symlinks=False).st_size
                except OSError as e:
                    self._fail(a.name, "stat-src", e)
                    return False
            self._count_file(a, size)
            self._item(sigil, a.name)
            return True
        try:
            src = os.open(a.name, O_SRC, dir_fd=self.src_fd)
        except OSError as e:
            self._fail(a.name, "open-src", e)
            return False
        try:
            for _attempt in range(TORN_RETRIES):
                try:
                    size = self._copy_once(src, a)
                except _Handled:
                    return False
                except SourceChanged:
                    os.lseek(src, 0, os.SEEK_SET)
                    continue
                self._count_file(a, size)
                self._item(sigil, a.name)
                return True
            ctx.report(SyncError(join(self.relpath, a.name), "copy", 0,
                                 "source changed while being copied; DST keeps its previous version"))
            return False
        finally:
            os.close(src)

    def _copy_once(self, src: int, a: Action) -> int:
        ctx = self.ctx
        before = os.fstat(src)
        if not st.S_ISREG(before.st_mode):
            raise OSError(errno.ENOENT, "no longer a regular file")
        perm = st.S_IMODE(before.st_mode)
        # With the run's umask at 0 the temp is born with its final mode,
        # saving an fchmod; special bits (cleared by fchown) still get one.
        create_mode = perm if ctx.exact_create and perm <= 0o777 else 0o600
        tmp = ctx.temp_name()
        try:
            out = os.open(tmp, O_TMP, create_mode, dir_fd=self.dst_fd)
        except OSError as e:
            self._fail(a.name, "create", e)
            raise _Handled from e
        try:
            try:
                copied, strategy = copy_data(src, out, before.st_size)
                after = os.fstat(src)
                if (copied != before.st_size or after.st_size != before.st_size
                        or after.st_mtime_ns != before.st_mtime_ns):
                    raise SourceChanged
                if ctx.opts.verify:
                    self._verify(src, out, a.name)
                chown = ctx.is_root and (after.st_uid != ctx.euid
                                         or after.st_gid != self._new_file_gid())
                if chown:
                    os.fchown(out, after.st_uid, after.st_gid)
                if chown or create_mode != st.S_IMODE(after.st_mode):
                    os.fchmod(out, st.S_IMODE(after.st_mode))
                os.utime(out, ns=(after.st_atime_ns, after.st_mtime_ns))
            finally:
                os.close(out)
            os.rename(tmp, a.name, src_dir_fd=self.dst_fd, dst_dir_fd=self.dst_fd)
        except BaseException:
            _unlink_quietly(tmp, self.dst_fd)
            raise
        ctx.row.add(_STRATEGY_COUNTER[strategy])
        if copied > STREAM_THRESHOLD:
            ctx.row.add(C.FILES_STREAMED)
        return copied

    def _new_file_gid(self) -> int:
        """The group a file created in this DST directory gets: the
        directory's own in a setgid directory, else ours."""
        gid = self._gid
        if gid is None:
            d = os.fstat(self.dst_fd)
            gid = self._gid = d.st_gid if d.st_mode & st.S_ISGID else self.ctx.egid
        return gid

    def _verify(self, src: int, out: int, name: str) -> None:
        from .hashing import hash_fd

        if hash_fd(src) != hash_fd(out):
            raise OSError(errno.EIO, f"verify failed: DST copy of {name!r} differs")

    def _count_file(self, a: Action, size: int) -> None:
        row = self.ctx.row
        row.add(C.FILES_COPIED if a.op == Op.COPY or a.dst is None or a.dst.kind != KIND_FILE
                else C.FILES_UPDATED)
        row.add(C.BYTES_COPIED, size)
        if a.src.mode == 0:  # not stat'ed in the listing: its bytes show up now
            row.add(C.BYTES_SEEN, size)
            row.add(C.BYTES_DONE, size)

    # --- metadata only -------------------------------------------------------
    def set_meta(self, a: Action) -> bool:
        s = a.src
        if not self.dry:
            name, dfd = a.name, self.dst_fd
            if s.kind == KIND_LINK:
                if self.ctx.is_root:
                    os.chown(name, s.uid, s.gid, dir_fd=dfd, follow_symlinks=False)
                os.utime(name, ns=(s.atime_ns, s.mtime_ns), dir_fd=dfd, follow_symlinks=False)
            elif s.kind == KIND_FILE:
                self._set_file_meta(name, s)
            else:  # special file: never opened
                if self.ctx.is_root:
                    os.chown(name, s.uid, s.gid, dir_fd=dfd, follow_symlinks=False)
                os.chmod(name, st.S_IMODE(s.mode), dir_fd=dfd)
                os.utime(name, ns=(s.atime_ns, s.mtime_ns), dir_fd=dfd, follow_symlinks=False)
        if s.kind == KIND_FILE:
            self.ctx.row.add(C.FILES_UPDATED)
        self._item("*", a.name)
        return True

    def _set_file_meta(self, name: str, s: Entry) -> None:
        try:
            fd = os.open(name, O_SRC, dir_fd=self.dst_fd)
        except PermissionError:
            # Not readable by us (mode 000, not root): chmod by name.  The
            # listing said it is a regular file; chmod cannot follow a link
            # into anything we would then write.
            os.chmod(name, st.S_IMODE(s.mode) | 0o600, dir_fd=self.dst_fd)
            fd = os.open(name, O_SRC, dir_fd=self.dst_fd)
        try:
            if not st.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EEXIST, "DST entry changed type")
            set_fd_meta(fd, s, self.ctx.is_root)
        finally:
            os.close(fd)

    # --- symlinks and special files ------------------------------------------
    def write_symlink(self, a: Action) -> bool:
        if not self.dry:
            tmp = self.ctx.temp_name()
            os.symlink(a.src.target, tmp, dir_fd=self.dst_fd)
            self._publish(tmp, a, chown=self.ctx.is_root, chmod=False)
        self.ctx.row.add(C.SYMLINKS)
        self._item(itemize_sigil(a), a.name)
        return True

    def write_special(self, a: Action) -> bool:
        s = a.src
        if not self.dry:
            tmp = self.ctx.temp_name()
            os.mknod(tmp, st.S_IFMT(s.mode) | 0o600, s.rdev, dir_fd=self.dst_fd)
            self._publish(tmp, a, chown=True, chmod=True)
        self.ctx.row.add(C.SPECIALS)
        self._item(itemize_sigil(a), a.name)
        return True

    def _publish(self, tmp: str, a: Action, chown: bool, chmod: bool) -> None:
        """Give a fresh non-regular temp entry its metadata, then rename it
        over the final name (removing the temp if anything fails)."""
        s, dfd = a.src, self.dst_fd
        try:
            if chown:
                os.chown(tmp, s.uid, s.gid, dir_fd=dfd, follow_symlinks=False)
            if chmod:  # a special file: chmod cannot reach through a link
                os.chmod(tmp, st.S_IMODE(s.mode), dir_fd=dfd)
            os.utime(tmp, ns=(s.atime_ns, s.mtime_ns), dir_fd=dfd, follow_symlinks=False)
            os.rename(tmp, a.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            _unlink_quietly(tmp, dfd)
            raise

    # --- directories ---------------------------------------------------------
    def make_dir(self, a: Action) -> bool:
        if not self.dry:
            try:
                # 0o700 while we fill it; its task sets the final mode last.
                os.mkdir(a.name, 0o700, dir_fd=self.dst_fd)
            except FileExistsError:
                s = os.stat(a.name, dir_fd=self.dst_fd, follow_symlinks=False)
                if not st.S_ISDIR(s.st_mode):
                    raise
        self.ctx.row.add(C.DIRS_CREATED)
        self._item("+", a.name, is_dir=True)
        return True

    # --- deletions -----------------------------------------------------------
    def delete_temp(self, a: Action) -> bool:
        if not self.dry:
            _unlink_quietly(a.name, self.dst_fd)
        return True

    def delete(self, a: Action) -> bool:
        ctx = self.ctx
        if not ctx.deletions_allowed():
            ctx.row.add(C.DELETES_SKIPPED)
            ctx.report(SyncError(join(self.relpath, a.name), "delete", 0,
                                 "not deleted: deletions are off after a source listing error",
                                 Severity.WARNING))
            return False
        d = a.dst
        if a.op == Op.DELETE and self.defer_deletes:
            self.changed = True
            ctx.sink.delete_later(PendingDelete(self.relpath, a.name, d.kind))
            return True
        if d.kind == KIND_DIR:
            return self._delete_tree(self.dst_fd, a.name, join(self.relpath, a.name))
        return self._delete_one(self.dst_fd, a.name, join(self.relpath, a.name), d.kind)

    def _withheld(self, relpath: str) -> bool:
        self.ctx.row.add(C.DELETES_SKIPPED)
        self.ctx.report(SyncError(relpath, "delete", 0, "not deleted: --max-delete limit reached",
                                  Severity.WARNING))
        return False

    def _delete_one(self, dir_fd: int | None, name: str, relpath: str, kind: int) -> bool:
        return self._remove(os.unlink, dir_fd, name, relpath, is_dir=False)

    def _remove(self, remove, dir_fd: int | None, name: str, relpath: str, is_dir: bool) -> bool:
        """Take one deletion from the budget, remove (unless dry), count and
        itemize it; a failure is reported by the entry's own path."""
        shown = relpath + "/" if is_dir else relpath
        if not self.ctx.reserve_deletion():
            return self._withheld(shown)
        if not self.dry:
            try:
                remove(name, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
            except OSError as e:
                return self._delete_failed(shown, e)
        self.ctx.row.add(C.DIRS_DELETED if is_dir else C.FILES_DELETED)
        self._emit_delete(relpath, is_dir)
        return True

    def _delete_failed(self, relpath: str, exc: OSError) -> bool:
        """One entry of a tree could not be deleted: report it by its own
        path and let the rest of the tree's deletions go on."""
        rec = from_oserror(relpath, "delete", exc)
        self.ctx.report(rec)
        if rec.severity == Severity.FATAL:
            raise FatalSyncError(rec)
        return False

    def _emit_delete(self, relpath: str, is_dir: bool) -> None:
        self.changed = True
        if self.itemize:
            p = escape(relpath)
            self.ctx.sink.item(f"- {p}/" if is_dir else f"- {p}")

    def _delete_tree(self, parent_fd: int | None, name: str, relpath: str) -> bool:
        """Remove a DST directory and everything in it, deepest first.  Every
        level is opened with O_NOFOLLOW relative to its parent: a symlink is
        unlinked, never followed."""
        ok = True
        fd = None
        if parent_fd is not None:
            try:
                fd = os.open(name, O_DIR, dir_fd=parent_fd)
            except FileNotFoundError:
                return True
            except OSError as e:
                return self._delete_failed(relpath + "/", e)
        try:
            if fd is not None:
                if not self.dry and not self.ctx.is_root:
                    make_writable(fd)
                from .walk import kind_of, scan

                for de in scan(fd):
                    child = join(relpath, de.name)
                    if kind_of(de) == KIND_DIR:
                        ok = self._delete_tree(fd, de.name, child) and ok
                    else:
                        ok = self._delete_one(fd, de.name, child, kind_of(de)) and ok
        finally:
            if fd is not None:
                os.close(fd)
        if not ok:
            return False
        return self._remove(os.rmdir, parent_fd, name, relpath, is_dir=True)


class _Handled(Exception):
    """The failure was already reported."""


_OP_NAMES = {
    Op.COPY: "copy",
    Op.UPDATE: "copy",
    Op.META: "set-meta",
    Op.SYMLINK: "symlink",
    Op.SPECIAL: "mknod",
    Op.MKDIR: "mkdir",
    Op.DELETE: "delete",
    Op.REMOVE_FOR_TYPE: "delete",
    Op.DELETE_TEMP: "delete",
}


def _unlink_quietly(name: str, dir_fd: int | None) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def make_writable(fd: int) -> None:
    """u+rwx on a DST directory we must write into (not needed as root)."""
    mode = os.fstat(fd).st_mode
    if mode & 0o700 != 0o700:
        os.fchmod(fd, st.S_IMODE(mode) | 0o700)


def set_fd_meta(fd: int, s: Entry, is_root: bool) -> None:
    """Owner (as root), permission bits and times of ``s`` onto an open
    file or directory (owner first: chown clears setuid bits)."""
    if is_root:
        os.fchown(fd, s.uid, s.gid)
    os.fchmod(fd, st.S_IMODE(s.mode))
    os.utime(fd, ns=(s.atime_ns, s.mtime_ns))
