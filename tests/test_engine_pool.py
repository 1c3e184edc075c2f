"""The pool under stress: a worker killed or crashing, SIGINT/SIGTERM to the
coordinator, a second SIGINT, and many short runs that must all terminate.
Real processes and real signals; every wait has a timeout."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time

import psutil
import pytest
from conftest import build, ok, put, run_sync, start_sync
from mktree import make_tree
from treecmp import compare, snapshot, temps

import engine.copyfile as cf
from engine.coordinator import sync
from engine.errors import Exit
from engine.options import SyncOptions

TIMEOUT = 60


@pytest.fixture(scope="module")
def big_src(tmp_path_factory):
    """3000 files, about 28 MB: a run of a few tenths of a second.  Read only."""
    root = tmp_path_factory.mktemp("big") / "src"
    make_tree(root, "small", 3000, seed=12)
    return root


def wait_for(pred, timeout=10.0, step=0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def workers_of(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children()
    except psutil.NoSuchProcess:
        return []


def assert_whole_files(src, dst) -> int:
    """Every regular file under a final name in DST equals SRC's (DST started
    empty, so any other content is a torn copy).  Returns how many exist."""
    want = snapshot(src)
    n = 0
    for key, node in snapshot(dst).items():
        if node.digest is None or key.rsplit(b"/", 1)[-1].startswith(b".stealsync-"):
            continue
        assert node.digest == want[key].digest, f"{key!r} is torn"
        n += 1
    return n


def gone(procs: list[psutil.Process]) -> bool:
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


# --- worker death --------------------------------------------------------------------

def test_worker_killed_ends_the_run_with_exit_14(big_src, tmp_path):
    dst = tmp_path / "dst"
    proc = start_sync(big_src, dst, "--workers", "2", "--pool-threshold", "0")
    try:
        kids = wait_for(lambda: workers_of(proc))
        victim = kids[0]
        os.kill(victim.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    err = err.decode()
    assert proc.returncode == Exit.WORKER_DIED, err
    assert f"(pid {victim.pid}) died (signal 9)" in err
    assert err.count("died") == 1  # only the dead worker, not the ones stopped after it
    assert gone(kids), "a worker outlived the run"
    n = assert_whole_files(big_src, dst)
    assert n < 3000, "the run finished before the kill: nothing was tested"
    ok(run_sync(big_src, dst))
    assert compare(big_src, dst) == []
    assert temps(dst) == []


def test_worker_crash_is_reported_and_ends_the_run(src, dst, monkeypatch):
    """A worker raising (injected at the syscall wrapper, inherited through
    fork) must fail the run loudly, never hang it."""
    build(src, {f"d{i}": {f"f{j}": b"x" * j for j in range(30)} for i in range(8)})

    def boom(name, *args):
        raise RuntimeError("injected worker bug")

    monkeypatch.setattr(cf, "_syscall", boom)
    t0 = time.monotonic()
    res = sync(SyncOptions(src=os.fspath(src), dst=os.fspath(dst), workers=2, pool_threshold=0,
                           progress=False))
    assert time.monotonic() - t0 < TIMEOUT
    assert res.exit_code == Exit.WORKER_DIED
    assert "injected worker bug" in res.message
    assert any(e.op == "worker" and "injected worker bug" in e.message for e in res.errors)
    assert res.mode == "pool"


def test_fatal_error_in_a_worker_stops_every_worker(src, dst, monkeypatch):
    build(src, {f"d{i}": {f"f{j}": b"x" * (j + 1) for j in range(30)} for i in range(8)})

    def full(name, *args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cf, "_syscall", full)
    res = sync(SyncOptions(src=os.fspath(src), dst=os.fspath(dst), workers=2, pool_threshold=0,
                           progress=False))
    assert res.exit_code == Exit.FATAL_IO
    assert {e.errno for e in res.errors} == {errno.ENOSPC}
    assert len(res.errors) <= 2  # each worker stops at its first failure
    assert temps(dst) == []


# --- signals to the coordinator ----------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_signal_stops_with_exit_20_and_no_torn_file(big_src, tmp_path, sig, workers):
    dst = tmp_path / "dst"
    proc = start_sync(big_src, dst, *workers)
    try:
        # the run is under way: DST exists and has its first entries
        wait_for(lambda: os.path.isdir(dst) and len(os.listdir(dst)) > 3)
        os.kill(proc.pid, sig)  # the coordinator only, as `kill PID` does
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=TIMEOUT)
        stop_s = time.monotonic() - t0
    finally:
        proc.kill()
    assert proc.returncode == Exit.SIGNALLED, err.decode()
    assert stop_s < 5
    n = assert_whole_files(big_src, dst)
    assert n < 3000, "the signal came after the run ended: nothing was tested"
    ok(run_sync(big_src, dst, *workers))
    assert compare(big_src, dst) == []
    assert temps(dst) == []


def test_sigterm_to_the_whole_process_group_is_exit_20(big_src, tmp_path):
    """What `timeout` and service managers do: every process, workers too,
    gets SIGTERM.  The run is stopped by a signal (20), not a crash (14)."""
    dst = tmp_path / "dst"
    proc = start_sync(big_src, dst, "--workers", "2", "--pool-threshold", "0")
    try:
        kids = wait_for(lambda: workers_of(proc))
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == Exit.SIGNALLED, err.decode()
    wait_for(lambda: gone(kids), timeout=5)
    assert assert_whole_files(big_src, dst) < 3000
    ok(run_sync(big_src, dst))
    assert compare(big_src, dst) == []


def test_second_sigint_stops_at_once(src, dst):
    """The first SIGINT lets the file being copied finish; the second one
    abandons it (its temp is removed) and exits 20 at once."""
    with open(src / "huge", "wb") as f:
        f.truncate(2 << 30)  # sparse: costs nothing to make, seconds to copy
    proc = start_sync(src, dst, "--workers", "1")
    try:
        wait_for(lambda: os.path.isdir(dst) and temps(dst))
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.05)
        # still copying: the first SIGINT lets the current file finish (this
        # also proves the copy is slow here, so the check below means something)
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGINT)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=TIMEOUT)
        stop_s = time.monotonic() - t0
    finally:
        proc.kill()
    assert proc.returncode == Exit.SIGNALLED, err.decode()
    assert stop_s < 1.0, f"took {stop_s:.2f}s to stop after the second SIGINT"
    assert temps(dst) == []
    assert not os.path.exists(dst / "huge")  # abandoned, never half there


def test_second_sigint_kills_the_pool(big_src, tmp_path):
    dst = tmp_path / "dst"
    proc = start_sync(big_src, dst, "--workers", "2", "--pool-threshold", "0")
    try:
        kids = wait_for(lambda: workers_of(proc))
        os.kill(proc.pid, signal.SIGINT)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == Exit.SIGNALLED, err.decode()
    assert "Traceback" not in err.decode()
    wait_for(lambda: gone(kids), timeout=5)
    assert_whole_files(big_src, dst)


# --- termination -------------------------------------------------------------------------

SHAPES = {
    "empty": {},
    "one-file": {"f": b"x"},
    "only-dirs": {"a": {"b": {"c": {}}}, "d": {}},
    "wide": {f"d{i}": {"f": b"%d" % i} for i in range(40)},
    "chain": {"a": {"b": {"c": {"d": {"e": {"f": {"g": b"deep"}}}}}}},
    "mixed": {"x": {f"f{i}": b"." * i for i in range(20)}, "l": ("link", "x"), "y": b"y"},
}


@pytest.mark.parametrize("workers", ["2", "3"])
def test_many_short_pool_runs_all_terminate(tmp_path, workers):
    t0 = time.monotonic()
    runs = 0
    for name, spec in SHAPES.items():
        src = tmp_path / name / "src"
        build(src, spec)
        for k in range(2):
            dst = tmp_path / name / f"dst{k}"
            args = ["--workers", workers, "--pool-threshold", "0", "--json"]
            if k:  # the progress thread must survive the fork and end too
                args.append("--progress")
            res = ok(run_sync(src, dst, *args, timeout=30)).json
            assert res["mode"] == "pool", res
            assert compare(src, dst) == []
            put(src / f"extra{k}", b"e")  # the next run has something to do
            runs += 1
    assert runs == 2 * len(SHAPES)
    assert time.monotonic() - t0 < 120
