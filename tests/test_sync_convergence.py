"""Convergence: idempotence, type changes, kill -9 then rerun, and rsync as
the oracle of what a mirror is."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import T0, build, link, mkdir, ok, put, run_sync, start_sync
from mktree import make_tree, mutate_tree
from treecmp import compare, compare_snapshots, snapshot, temps

# --- idempotence -----------------------------------------------------------------


@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_second_run_changes_nothing(tmp_path, workers):
    src, dst = tmp_path / "src", tmp_path / "dst"
    make_tree(src, "small", 400, seed=3)
    ok(run_sync(src, dst, "--delete", *workers))
    assert not compare(src, dst)
    before = snapshot(dst)
    again = ok(run_sync(src, dst, "-i", "--delete", *workers))
    assert again.lines == []
    after = snapshot(dst)
    assert after == before  # same inodes, same mtimes: nothing rewritten
    res = ok(run_sync(src, dst, "--json", "--delete", *workers)).json
    assert (res["files_copied"], res["files_updated"], res["files_deleted"],
            res["dirs_created"], res["bytes_copied"]) == (0, 0, 0, 0, 0)
    assert res["files_total"] == 400


# --- type changes between runs --------------------------------------------------------

KINDS = ("file", "dir", "empty", "link", "dirlink", "absent")


def _make(path, kind: str) -> None:
    if kind == "file":
        put(path, b"file " + os.fsencode(path.name))
    elif kind == "dir":
        build(path, {"inner": b"i", "sub": {"deep": b"d"}, "ln": ("link", "inner")})
    elif kind == "empty":
        mkdir(path)
    elif kind == "link":
        link(path, "target-" + path.name)
    elif kind == "dirlink":
        link(path, "..")


def _type_tree(root, first: bool, kinds=KINDS) -> None:
    if root.exists():
        shutil.rmtree(root)
    mkdir(root)
    for a in kinds:
        for b in kinds:
            if a != b:
                _make(root / f"{a}-to-{b}", a if first else b)
    os.utime(root, ns=(T0, T0))


@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_type_changes_converge_in_one_run(tmp_path, workers):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _type_tree(src, True)
    ok(run_sync(src, dst, "--delete", *workers))
    assert not compare(src, dst)
    _type_tree(src, False)
    run = ok(run_sync(src, dst, "--delete", "-i", *workers))
    assert not compare(src, dst)
    changed = {line[2:].split("/")[0] for line in run.lines}
    assert changed == {f"{a}-to-{b}" for a in KINDS for b in KINDS if a != b}
    assert ok(run_sync(src, dst, "--delete", "-i", *workers)).lines == []


def test_type_changes_converge_without_delete(tmp_path):
    kinds = ("file", "dir", "link", "dirlink")  # every pair is a real type change
    src, dst = tmp_path / "src", tmp_path / "dst"
    _type_tree(src, True, kinds)
    ok(run_sync(src, dst))
    _type_tree(src, False, kinds)
    ok(run_sync(src, dst))
    assert not compare(src, dst)


# --- kill -9 in the middle of a run -------------------------------------------------------

def _check_no_torn_files(dst, old: dict, new: dict) -> tuple[int, int]:
    """Every regular file under a final name holds a complete version: the
    old one or the new one.  Returns (how many are new, how many are old)."""
    n_new = n_old = 0
    for key, node in snapshot(dst).items():
        if node.digest is None or temps_name(key):
            continue
        versions = [v.digest for v in (old.get(key), new.get(key)) if v is not None]
        assert node.digest in versions, f"{key!r}: torn or foreign content"
        is_new = key in new and node.digest == new[key].digest
        n_new += is_new
        n_old += not is_new
    return n_new, n_old


def temps_name(key: bytes) -> bool:
    return key.rsplit(b"/", 1)[-1].startswith(b".stealsync-")


def test_kill_9_mid_run_then_rerun_converges(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    make_tree(src, "small", 3000, seed=11)
    ok(run_sync(src, dst))
    old = snapshot(dst)
    mutate_tree(src, 100, seed=5)  # every file grows: every file is rewritten
    new = snapshot(src)
    partial = 0
    for delay in (0.2, 0.3, 0.4, 0.5, 0.25, 0.35):
        proc = start_sync(src, dst, "--delete", "--workers", "2")
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        n_new, n_old = _check_no_torn_files(dst, old, new)
        if proc.returncode == -signal.SIGKILL and n_new and n_old:
            partial += 1
            if partial >= 2:
                break
        ok(run_sync(src, dst, "--delete", "-n"))  # a dry run on the debris is fine
        old = snapshot(dst)  # a later kill may leave this run's state as "old"
    assert partial, "no kill landed in the middle of a run: make the tree bigger"
    ok(run_sync(src, dst, "--delete"))
    assert not compare(src, dst)
    assert temps(dst) == []


# --- rsync is the oracle --------------------------------------------------------------------

def _rsync(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["rsync", *map(os.fspath, args)], capture_output=True, timeout=120)


def _oracle_tree(src):
    make_tree(src, "small", 300, seed=21)
    build(src / "zz-extras", {"empty": {}, "link-to-dir": ("link", ".."),
                              "dangling": ("link", "nowhere/at/all"),
                              "odd\nname": b"n", "plain": b"p"})
    put(os.path.join(os.fsencode(src), b"zz-extras", b"raw\xff\xfe"), b"raw", mode=0o4755)
    put(src / "zz-extras" / "private", b"secret", mode=0o000)
    put(src / "zz-extras" / "sticky", b"s", mode=0o1777)
    mkdir(src / "zz-extras" / "closed", mode=0o500)
    os.mkfifo(src / "zz-extras" / "fifo", 0o620)
    os.chown(src / "zz-extras" / "plain", 1234, 5678)
    os.chown(src / "zz-extras" / "dangling", 4321, 8765, follow_symlinks=False)
    for p in ("fifo", "plain", "dangling", "closed"):
        os.utime(src / "zz-extras" / p, ns=(T0 + 1, T0 + 1), follow_symlinks=False)
    # rsync 3.x ignores mtime differences below one second: keep every
    # SRC mtime far from "now" so the oracle is not blind to them
    for p in (src / "zz-extras", src):
        os.utime(p, ns=(T0, T0))


def _dst_start(dst):
    """A DST with extras, type clashes and stale content for both tools."""
    build(dst, {"zz-extras": {"empty": b"now a file", "plain": {"was": b"a dir"},
                              "fifo": b"file where a fifo goes"},
                "not-in-src": {"deep": {"x": b"x"}}, "stray": b"s"})


@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_same_tree_as_rsync(tmp_path, workers):
    src, ours, theirs = tmp_path / "src", tmp_path / "ours", tmp_path / "theirs"
    _oracle_tree(src)
    _dst_start(ours)
    _dst_start(theirs)
    ok(run_sync(src, ours, "--delete", *workers))
    r = _rsync("-a", "--delete", f"{src}/", f"{theirs}/")
    assert r.returncode == 0, r.stderr
    assert compare(ours, theirs) == []
    assert compare(src, ours) == []
    r = _rsync("-ai", "--dry-run", "--delete", f"{src}/", f"{ours}/")
    assert r.returncode == 0 and r.stdout == b"", r.stdout.decode(errors="replace")
    # and again after a mutation
    mutate_tree(src, 10, seed=2)
    shutil.rmtree(src / "zz-extras" / "closed")
    link(src / "zz-extras" / "closed", "now a link")
    os.utime(src / "zz-extras", ns=(T0 + 2 * 10**9,) * 2)  # see _oracle_tree
    ok(run_sync(src, ours, "--delete", *workers))
    r = _rsync("-a", "--delete", f"{src}/", f"{theirs}/")
    assert r.returncode == 0, r.stderr
    assert compare(ours, theirs) == []
    r = _rsync("-ai", "--dry-run", "--delete", f"{src}/", f"{ours}/")
    assert r.returncode == 0 and r.stdout == b"", r.stdout.decode(errors="replace")


def test_rsync_sees_our_itemized_changes(tmp_path):
    """What we itemize is what rsync would have changed (by path)."""
    src, ours = tmp_path / "src", tmp_path / "ours"
    make_tree(src, "small", 200, seed=4)
    ok(run_sync(src, ours))
    mutate_tree(src, 20, seed=9)
    r = _rsync("-ai", "--dry-run", "--delete", "--out-format=%n", f"{src}/", f"{ours}/")
    theirs = {line.rstrip("/").removeprefix("deleting ") for line in r.stdout.decode().splitlines()}
    run = ok(run_sync(src, ours, "--delete", "-i"))
    mine = {line[2:].rstrip("/") for line in run.lines}
    # rsync also lists directories whose mtime its own writes will change
    assert mine <= theirs | {"."}
    assert {p for p in theirs if not os.path.isdir(src / p)} <= mine
    assert compare_snapshots(snapshot(src), snapshot(ours)) == []
