"""-H/--hard-links: make DST files that are hard links in SRC hard links
again, whichever workers copied them.

Workers copy every file normally and report SRC files with more than one link
(dev, ino, relpath).  After all tasks end, the coordinator groups them by
(dev, ino); the first path (by name) is the leader and every other member is
replaced by a link to the leader's DST copy (link to a temp name, rename over:
atomic), then its directory's mtime is put back.
"""

from __future__ import annotations

import os

from .counters import C
from .dirsync import restore_dir_meta
from .errors import from_oserror
from .walk import open_dir


def _split(relpath: str) -> tuple[str, str]:
    d, _, n = relpath.rpartition("/")
    return d, n


def link_groups(ctx, sink) -> None:
    touched_dirs: set[str] = set()
    for members in sink.hardlinks.values():
        if len(members) < 2:
            continue
        members.sort()
        leader_dir, leader_name = _split(members[0])
        try:
            lfd = open_dir(ctx.dst_root, leader_dir)
        except OSError as e:
            ctx.report(from_oserror(leader_dir, "open-dst", e))
            continue
        try:
            leader = os.stat(leader_name, dir_fd=lfd, follow_symlinks=False)
            for m in members[1:]:
                mdir, mname = _split(m)
                mfd = open_dir(ctx.dst_root, mdir)
                try:
                    cur = os.stat(mname, dir_fd=mfd, follow_symlinks=False)
                    if (cur.st_dev, cur.st_ino) == (leader.st_dev, leader.st_ino):
                        continue
                    tmp = ctx.temp_name()
                    os.link(leader_name, tmp, src_dir_fd=lfd, dst_dir_fd=mfd, follow_symlinks=False)
                    os.rename(tmp, mname, src_dir_fd=mfd, dst_dir_fd=mfd)
                    ctx.row.add(C.FILES_UPDATED, 0)
                    touched_dirs.add(mdir)
                except OSError as e:
                    ctx.report(from_oserror(m, "link", e))
                finally:
                    os.close(mfd)
        except OSError as e:
            ctx.report(from_oserror(members[0], "link", e))
        finally:
            os.close(lfd)
    for d in sorted(touched_dirs, key=lambda p: p.count("/"), reverse=True):
        try:
            dfd = open_dir(ctx.dst_root, d)
        except OSError as e:
            ctx.report(from_oserror(d, "open-dst", e))
            continue
        try:
            restore_dir_meta(ctx, d, dfd)
        finally:
            os.close(dfd)
