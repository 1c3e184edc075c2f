"""Safety: refusals, listing errors, DST symlinks, odd names, the DST lock,
stale temps and special files."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import pytest
from conftest import REPO, T0, build, link, mkdir, ok, put, run_sync, set_immutable
from treecmp import compare, snapshot, temps

# --- refusals -------------------------------------------------------------------


def test_refuses_src_equal_dst(src):
    build(src, {"a": b"a"})
    before = snapshot(src)
    for dst in (src, f"{src}/", f"{src}/../src", f"{src}/."):
        for extra in ([], ["--delete"]):
            run = run_sync(src, dst, *extra)
            assert run.code == 1, (dst, run)
            assert "same directory" in run.err
    assert snapshot(src) == before


def test_refuses_src_equal_dst_through_a_symlink(src, tmp_path):
    build(src, {"a": b"a"})
    os.symlink(src, tmp_path / "alias")
    before = snapshot(src)
    run = run_sync(src, tmp_path / "alias", "--delete")
    assert run.code == 1 and "same directory" in run.err
    run = run_sync(tmp_path / "alias", src, "--delete")
    assert run.code == 1 and "same directory" in run.err
    assert snapshot(src) == before


def test_refuses_dst_inside_src(src):
    build(src, {"a": b"a", "sub": {}})
    before = snapshot(src)
    for dst in (src / "sub", src / "new", src / "sub" / "deeper"):
        run = run_sync(src, dst)
        assert run.code == 1 and "DST is inside SRC" in run.err, run
    assert snapshot(src) == before


def test_refuses_dst_inside_src_through_a_symlink(src, tmp_path):
    build(src, {"a": b"a", "sub": {}})
    os.symlink(src / "sub", tmp_path / "into")
    run = run_sync(src, tmp_path / "into")
    assert run.code == 1 and "inside" in run.err
    assert os.listdir(src / "sub") == []


def test_refuses_src_inside_dst_with_delete(tmp_path):
    dst = tmp_path / "dst"
    build(dst, {"keep": b"k", "inner": {"f": b"f"}})
    before = snapshot(dst)
    run = run_sync(dst / "inner", dst, "--delete")
    assert run.code == 1 and "SRC is inside DST" in run.err
    assert snapshot(dst) == before
    # without --delete nothing can be lost: allowed
    ok(run_sync(dst / "inner", dst))
    assert (dst / "f").read_bytes() == b"f" and (dst / "keep").exists()


def test_root_symlinks_named_by_the_operator_are_followed(src, tmp_path):
    build(src, {"a": b"a", "ln": ("link", "a")})
    real_dst = tmp_path / "real-dst"
    mkdir(real_dst)
    os.symlink(src, tmp_path / "src-alias")
    os.symlink(real_dst, tmp_path / "dst-alias")
    ok(run_sync(tmp_path / "src-alias", tmp_path / "dst-alias", "--delete"))
    assert compare(src, real_dst) == []
    assert os.path.islink(tmp_path / "dst-alias")


# --- listing errors turn deletions off ----------------------------------------------

def _break_ignore_file(path, how: str) -> None:
    """Listing errors root cannot bypass: the directory's ignore file is a
    dangling symlink (ELOOP under O_NOFOLLOW), a FIFO, a directory, or holds a
    malformed pattern."""
    if how == "dangling-link":
        link(path, "dangling")
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        mkdir(path)
    else:
        put(path, b"ok.txt\n[unclosed\n")


def _listing_error_tree(src, dst, how="dangling-link"):
    build(src, {"a": {"f": b"f"}, "b": {"g": b"g", "sub": {"h": b"h"}}, "top": b"t"})
    _break_ignore_file(src / "a" / ".syncignore", how)
    build(dst, {"a": {"f": b"f", "a-extra": b"x"},
                "b": {"g": b"g", "b-extra": b"x", "sub": {"h": b"h", "deep-extra": b"x"}},
                "top": b"t"})


@pytest.mark.parametrize("how", ["dangling-link", "fifo", "directory", "bad-pattern"])
@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_listing_error_disables_deletions(src, dst, workers, how):
    _listing_error_tree(src, dst, how)
    put(src / "b" / "new", b"n")
    run = run_sync(src, dst, "--delete", "--json", *workers)
    assert run.code == 23, run
    res = run.json
    assert res["files_deleted"] == 0 and res["dirs_deleted"] == 0
    for p in ("a/a-extra", "b/b-extra", "b/sub/deep-extra"):
        assert (dst / p).exists(), p
    assert (dst / "b" / "new").read_bytes() == b"n"  # copies go on
    errors = [e for e in res["errors"] if e["severity"] != "warning"]
    assert [e["op"] for e in errors] == ["list-src"]
    assert "a/.syncignore" in errors[0]["path"] + errors[0]["message"]


@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_listing_error_in_a_subdir_also_keeps_root_extras(src, dst, workers):
    """Deletions wait for the whole SRC listing: the root's extras are not
    deleted before a subdirectory turns out unreadable."""
    _listing_error_tree(src, dst)
    put(dst / "root-extra", b"x")
    mkdir(dst / "root-extra-dir")
    run = run_sync(src, dst, "--delete", "-i", *workers)
    assert run.code == 23
    assert (dst / "root-extra").exists() and (dst / "root-extra-dir").exists()
    assert not [line for line in run.lines if line.startswith("- ")]


def test_listing_error_at_the_root_touches_nothing(src, dst):
    build(src, {"f": b"new"})
    link(src / ".syncignore", "dangling")
    build(dst, {"f": b"old", "extra": b"x"})
    before = snapshot(dst)
    run = run_sync(src, dst, "--delete")
    assert run.code == 23
    assert snapshot(dst) == before


def test_a_failed_deletion_is_reported_by_its_path_and_the_rest_goes_on(src, dst):
    """Regression: an unlink error deep in a deleted tree escaped the tree
    walk, was reported as the top directory, and stopped its other deletions."""
    build(src, {"keep": b"k"})
    build(dst, {"keep": b"k", "gone": {"a": b"a", "sub": {"b": b"b"}, "z": b"z"}, "x": b"x"})
    set_immutable(dst / "gone" / "sub" / "b", True)
    try:
        run = run_sync(src, dst, "--delete", "-i", "--workers", "1")
    finally:
        set_immutable(dst / "gone" / "sub" / "b", False)
    assert run.code == 23, run
    assert sorted(run.lines) == ["- gone/a", "- gone/z", "- x"]
    assert "error: delete gone/sub/b: Operation not permitted" in run.err
    left = sorted(k for k in snapshot(dst) if k)
    assert left == [b"gone", b"gone/sub", b"gone/sub/b", b"keep"]
    ok(run_sync(src, dst, "--delete"))
    assert compare(src, dst) == []


# --- DST symlinks are never written through --------------------------------------------

def test_dst_symlinks_are_replaced_never_followed(src, dst, tmp_path):
    outside = tmp_path / "outside"
    build(outside, {"odir": {"f": b"outside f", "keep": b"k"}, "ofile": b"outside file",
                    "odir2": {"x": b"x"}, "odir3": {"y": b"y"}})
    build(src, {"asdir": {"f": b"from src", "new": b"n"}, "asfile": b"from src",
                "metafile": b"outside file", "linkeddir": {"g": b"g"}})
    link(dst / "asdir", outside / "odir")
    link(dst / "asfile", outside / "ofile")
    link(dst / "metafile", outside / "ofile")  # same size, same mtime as SRC's file
    link(dst / "extra", outside / "odir2")
    mkdir(dst / "linkeddir")
    link(dst / "linkeddir" / "inner", outside / "odir3")
    before = snapshot(outside)
    ok(run_sync(src, dst, "--delete"))
    assert snapshot(outside) == before, "wrote through a DST symlink"
    assert not compare(src, dst)
    for p in ("asdir", "asfile", "metafile"):
        assert not os.path.islink(dst / p)


def test_dst_symlink_over_a_directory_in_an_unchanged_tree(src, dst, tmp_path):
    """A DST directory swapped for a symlink between runs."""
    outside = tmp_path / "outside"
    build(outside, {"o": b"o"})
    build(src, {"d": {"f": b"f"}})
    ok(run_sync(src, dst))
    os.rename(dst / "d", tmp_path / "moved")
    link(dst / "d", outside)
    before = snapshot(outside)
    run = ok(run_sync(src, dst, "-i", "--delete"))
    assert snapshot(outside) == before
    assert sorted(run.lines) == ["+ d/", "+ d/f", "- d"]
    assert not compare(src, dst)


# --- names ------------------------------------------------------------------------------

ODD_NAMES = [b"\xff\xfe\xfd", b"line\nbreak", b"back\\slash", b"tab\t", b"-rf", b" lead",
             b"trail ", b"caf\xc3\xa9", b"caf\x65\xcc\x81", b"\x01ctl", b"*?[", b"...",
             b"n" * 255, b"\xe2\x80\xae" + b"rtl"]


def test_odd_names_round_trip(src, dst):
    root = os.fsencode(src)
    for i, raw in enumerate(ODD_NAMES):
        put(os.path.join(root, raw), b"%d" % i)
    sub = os.path.join(root, b"d" * 255)
    mkdir(sub)
    for raw in ODD_NAMES[:4]:
        link(os.path.join(sub, raw), raw)
    put(os.path.join(sub, b"\x80" * 255), b"all high bytes")
    for p in (sub, root):
        os.utime(p, ns=(T0, T0))
    ok(run_sync(src, dst, "--delete"))
    assert not compare(src, dst)
    assert ok(run_sync(src, dst, "-i", "--delete")).lines == []
    # deleting them works too
    for raw in ODD_NAMES[::2]:
        os.unlink(os.path.join(root, raw))
    run = ok(run_sync(src, dst, "-i", "--delete"))
    assert len(run.lines) == len(ODD_NAMES[::2])
    assert all(line.startswith("- ") and "\n" not in line for line in run.lines)
    assert not compare(src, dst)


def _deep_tree(root: bytes, levels: int, name_len: int) -> None:
    """A chain of directories longer than PATH_MAX, built descriptor-relative."""
    os.makedirs(root, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    fds = [fd]
    for i in range(levels):
        name = b"%03d" % i + b"L" * (name_len - 3)
        os.mkdir(name, 0o755, dir_fd=fds[-1])
        with open(os.open(b"f", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fds[-1]), "wb") as f:
            f.write(b"level %d" % i)
        os.utime(b"f", ns=(T0 + i, T0 + i), dir_fd=fds[-1])
        if i % 50 == 0:
            os.symlink(b"../" * min(i, 3) or b".", b"up", dir_fd=fds[-1])
        fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    for fd in reversed(fds):  # deepest first: a child's entries bump its mtime
        os.utime(fd, ns=(T0, T0))
        os.close(fd)


@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_paths_longer_than_path_max(src, dst, workers):
    _deep_tree(os.fsencode(src), 300, 200)  # ~60 KB paths; PATH_MAX is 4 KB
    ok(run_sync(src, dst, *workers))
    assert not compare(src, dst)
    assert ok(run_sync(src, dst, "-i", *workers)).lines == []
    # and deleting such a tree
    os.rename(src / ("000" + "L" * 197), src / "renamed")
    run = ok(run_sync(src, dst, "-i", "--delete", *workers))
    deleted = [x for x in run.lines if x.startswith("- ")]
    assert deleted[-1] == "- 000" + "L" * 197 + "/"  # its contents first
    assert len(deleted) == 300 + 299 + 5  # dirs, files, links below the root level
    assert not compare(src, dst)


# --- the DST lock -------------------------------------------------------------------------

HOLD = """
import sys
from engine.safety import DstLock
lock = DstLock(sys.argv[1], sys.argv[2])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_second_run_on_the_same_dst_is_refused(src, dst, tmp_path):
    build(src, {"a": b"a"})
    dst.mkdir()
    lock_dir = tmp_path / "locks"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(dst), str(lock_dir)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
    try:
        assert holder.stdout.readline() == b"locked\n"
        run = run_sync(src, dst, "--lock-dir", lock_dir)
        assert run.code == 1 and "lock" in run.err
        assert os.listdir(dst) == []
        os.symlink(dst, tmp_path / "alias")  # the lock is keyed by the real path
        assert run_sync(src, tmp_path / "alias", "--lock-dir", lock_dir).code == 1
        # a dry run writes nothing and needs no lock
        assert ok(run_sync(src, dst, "-n", "-i", "--lock-dir", lock_dir)).lines == ["+ a"]
    finally:
        holder.kill()  # the kernel drops the flock with the process
        holder.wait()
    ok(run_sync(src, dst, "--lock-dir", lock_dir))
    assert not compare(src, dst)


# --- stale temps ----------------------------------------------------------------------------

def test_stale_temps_removed_and_lookalikes_mirrored(src, dst):
    lookalikes = {".stealsync-something": b"1", ".stealsync-0badf00d-1-1.tmp": b"2",
                  ".stealsync-": b"3"}
    build(src, {**lookalikes, "d": {"f": b"f"}})
    ok(run_sync(src, dst))
    stale = [dst / ".stealsync-0badf00d-2b-1.tmp", dst / "d" / ".stealsync-12345678-1-ff.tmp"]
    for p in stale:
        put(p, b"half a file")
    for d in (dst / "d", dst):  # as SRC has them: only the temps differ
        os.utime(d, ns=(T0, T0))
    run = ok(run_sync(src, dst, "-i"))  # no --delete needed
    assert run.lines == []  # cleaning is not a change to report
    assert not any(p.exists() for p in stale)
    assert not compare(src, dst)
    for name, data in lookalikes.items():
        assert (dst / name).read_bytes() == data


# --- special files ------------------------------------------------------------------------

def _specials(src):
    build(src, {"plain": b"p", "sub": {}})
    os.mkfifo(src / "fifo", 0o640)
    os.mkfifo(src / "sub" / "fifo2", 0o600)
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.fspath(src / "sock"))
    s.close()
    os.mknod(src / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    for p in ("fifo", "sock", "null", "sub/fifo2", "sub", ""):
        os.utime(src / p, ns=(T0, T0), follow_symlinks=False)


def test_specials_recreated_as_root(src, dst):
    _specials(src)
    run = ok(run_sync(src, dst, "-i", "-c", "--verify", "--delete"))
    assert sorted(run.lines) == ["+ fifo", "+ null", "+ plain", "+ sock", "+ sub/",
                                 "+ sub/fifo2"]
    assert not compare(src, dst)
    assert stat.S_ISFIFO(os.lstat(dst / "fifo").st_mode)
    assert stat.S_ISSOCK(os.lstat(dst / "sock").st_mode)
    assert os.lstat(dst / "null").st_rdev == os.makedev(1, 3)
    assert ok(run_sync(src, dst, "-i")).lines == []


def test_no_specials_skips_with_a_warning(src, dst):
    _specials(src)
    run = ok(run_sync(src, dst, "-i", "--no-specials"))
    assert sorted(run.lines) == ["+ plain", "+ sub/"]
    for name in ("fifo", "sock", "null", "sub/fifo2"):
        assert not os.path.lexists(dst / name), name
        assert f"warning: skip {name}" in run.err
    assert temps(dst) == []


def test_type_changes_to_and_from_specials(src, dst):
    build(src, {"was_file": b"", "was_dir": {}, "to_file": b"now a file"})
    ok(run_sync(src, dst))
    os.unlink(src / "was_file")
    os.mkfifo(src / "was_file")
    os.rmdir(src / "was_dir")
    os.mkfifo(src / "was_dir")
    os.unlink(src / "to_file")
    os.mkfifo(src / "to_file")
    ok(run_sync(src, dst))
    os.unlink(src / "to_file")
    put(src / "to_file", b"a file again")
    os.utime(src, ns=(T0, T0))
    run = ok(run_sync(src, dst, "-i"))
    assert run.lines == ["* to_file"]
    assert not compare(src, dst)
