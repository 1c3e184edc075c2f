"""Faults that cannot be produced for real, injected at the one syscall
wrapper (``engine.copyfile._syscall``) and run in-process through the public
API with one worker.  Also the races that need a precise instant (a source
file changing or vanishing while the run is at a given syscall): the wrapper
is only the clock there, the change itself is a real write or unlink."""

from __future__ import annotations

import errno
import os

import pytest
from conftest import T0, build, put
from treecmp import compare, compare_snapshots, snapshot, temps

import engine.copyfile as cf
from engine.coordinator import sync
from engine.errors import Exit
from engine.options import SyncOptions

REAL = cf._syscall


@pytest.fixture(autouse=True)
def fresh_strategies():
    cf.reset_strategies()
    yield
    cf.reset_strategies()


def run_api(src, dst, **kw):
    kw.setdefault("workers", 1)
    return sync(SyncOptions(src=os.fspath(src), dst=os.fspath(dst), progress=False, **kw))


def recording(fail=None):
    """A _syscall that records every call and lets ``fail(name, n)`` raise
    (n: how many times ``name`` was called so far, this call included)."""
    calls: list[str] = []

    def fake(name, *args):
        calls.append(name)
        if fail is not None:
            fail(name, calls.count(name))
        return REAL(name, *args)

    return fake, calls


def enosys_for(*names):
    def fail(name, n):
        if name in names:
            raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))
    return fail


def _files(src, n=5, size=70_000):
    build(src, {f"f{i}": os.urandom(size + i) for i in range(n)})


# --- the strategy chain -----------------------------------------------------------

def test_copy_file_range_is_the_first_choice(src, dst, monkeypatch):
    _files(src)
    fake, calls = recording()
    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst)
    assert res.exit_code == 0
    assert set(calls) == {cf.STRATEGY_RANGE}
    assert res.counts["copy_range"] == 5
    assert not compare(src, dst)


@pytest.mark.parametrize("broken", [(), (cf.STRATEGY_RANGE,),
                                    (cf.STRATEGY_RANGE, cf.STRATEGY_SENDFILE)])
def test_every_strategy_copies_files_of_several_chunks(src, dst, monkeypatch, broken):
    big = os.urandom(2 * cf.CHUNK + 12345)  # three chunks, the last one short
    build(src, {"big": big, "empty": b"", "one": b"1"})
    fake, calls = recording(enosys_for(*broken))
    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst)
    assert res.exit_code == 0, res.errors
    assert (dst / "big").read_bytes() == big
    assert not compare(src, dst)
    used = [s for s in (cf.STRATEGY_RANGE, cf.STRATEGY_SENDFILE) if s not in broken]
    name = used[0] if used else "readinto"
    assert calls.count(name) >= 3  # one call per chunk at least


def test_enosys_falls_back_to_sendfile_and_demotes_for_the_process(src, dst, monkeypatch):
    _files(src)
    fake, calls = recording(enosys_for(cf.STRATEGY_RANGE))
    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst)
    assert res.exit_code == 0, res.errors
    assert calls.count(cf.STRATEGY_RANGE) == 1  # tried once, then demoted
    assert res.counts["copy_sendfile"] == 5 and res.counts["copy_range"] == 0
    assert cf.enabled_strategies() == [cf.STRATEGY_SENDFILE, cf.STRATEGY_BUFFERED]
    assert not compare(src, dst)


def test_buffered_copy_is_the_last_resort(src, dst, monkeypatch):
    _files(src, size=3 * 1024 * 1024)  # several buffer-sized reads each
    fake, calls = recording(enosys_for(cf.STRATEGY_RANGE, cf.STRATEGY_SENDFILE))
    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst)
    assert res.exit_code == 0, res.errors
    assert calls.count(cf.STRATEGY_RANGE) == 1 and calls.count(cf.STRATEGY_SENDFILE) == 1
    assert res.counts["copy_buffered"] == 5
    assert cf.enabled_strategies() == [cf.STRATEGY_BUFFERED]
    assert not compare(src, dst)


def test_zero_from_copy_file_range_at_offset_0_tries_the_next_strategy(src, dst, monkeypatch):
    build(src, {"f": b"data that a pseudo filesystem claims is empty"})

    def fake(name, *args):
        if name == cf.STRATEGY_RANGE:
            return 0
        return REAL(name, *args)

    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst)
    assert res.exit_code == 0 and res.counts["copy_sendfile"] == 1
    assert not compare(src, dst)


def test_failure_after_the_first_byte_is_an_error_not_a_fallback(src, dst, monkeypatch):
    # A strategy may give up only before it wrote anything: a file bigger
    # than one chunk fails on its second chunk.
    big = os.urandom(cf.CHUNK + 4096)
    build(src, {"big": big, "small": b"s"})
    build(dst, {"big": b"old version"})

    def fail(name, n):
        if name == cf.STRATEGY_RANGE and n == 2:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    fake, calls = recording(fail)
    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst)
    assert res.exit_code == Exit.PARTIAL
    assert [(e.path, e.op, e.errno) for e in res.errors] == [("big", "copy", errno.EINVAL)]
    assert cf.STRATEGY_SENDFILE not in calls
    assert cf.enabled_strategies()[0] == cf.STRATEGY_RANGE  # not demoted
    assert (dst / "big").read_bytes() == b"old version"  # never a partial file
    assert (dst / "small").read_bytes() == b"s"
    assert temps(dst) == []


# --- fatal DST errors ----------------------------------------------------------------

@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_disk_full_stops_the_run_with_exit_11(src, dst, monkeypatch, err):
    build(src, {"a": b"new a", "b": b"new b", "c": {"x": b"x"}})
    build(dst, {"a": b"old", "b": b"old"})
    before = snapshot(dst)

    def fail(name, n):
        raise OSError(err, os.strerror(err))

    fake, calls = recording(fail)
    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst, delete=True)
    assert res.exit_code == Exit.FATAL_IO
    assert len(calls) == 1  # stopped at the first failure
    assert [(e.path, e.errno) for e in res.errors] == [("a", err)]
    # nothing lost, no temp left behind (only DST's own mtime moved)
    assert compare_snapshots(snapshot(dst), before, root_meta=False) == []


# --- --verify ---------------------------------------------------------------------------

def _corrupting(name, *args):
    n = REAL(name, *args)
    if name == cf.STRATEGY_RANGE and n:
        os.pwrite(args[1], b"\x00", 0)  # a disk that flips a byte
    return n


def test_verify_catches_a_bad_copy(src, dst, monkeypatch):
    build(src, {"a": b"good data"})
    build(dst, {"a": b"old!"})
    monkeypatch.setattr(cf, "_syscall", _corrupting)
    res = run_api(src, dst, verify=True)
    assert res.exit_code != 0
    assert [(e.path, e.errno) for e in res.errors] == [("a", errno.EIO)]
    assert "verify failed" in res.errors[0].message
    assert (dst / "a").read_bytes() == b"old!" and temps(dst) == []
    # the same fault without --verify goes unnoticed: the check above is real
    res = run_api(src, dst)
    assert res.exit_code == 0 and (dst / "a").read_bytes() == b"\x00ood data"


# --- a source file changing or vanishing mid-copy ---------------------------------------

def _rewriter(path, times):
    """Rewrite ``path`` (a real write: new bytes, new size) during the first
    ``times`` copy syscalls, as a concurrent writer would."""
    state = {"n": 0}

    def fake(name, *args):
        if state["n"] < times:
            state["n"] += 1
            put(path, b"version %d " % state["n"] * 1000, mtime_ns=T0 + state["n"])
        return REAL(name, *args)

    return fake


def test_source_changing_once_is_copied_again(src, dst, monkeypatch):
    build(src, {"f": b"version 0 " * 1000})
    build(dst, {"f": b"old"})
    monkeypatch.setattr(cf, "_syscall", _rewriter(src / "f", 1))
    res = run_api(src, dst)
    assert res.exit_code == 0
    assert (dst / "f").read_bytes() == b"version 1 " * 1000
    assert os.stat(dst / "f").st_mtime_ns == T0 + 1
    assert temps(dst) == []


def test_source_that_keeps_changing_is_never_torn(src, dst, monkeypatch):
    build(src, {"f": b"version 0 " * 1000, "g": b"g"})
    build(dst, {"f": b"old"})
    monkeypatch.setattr(cf, "_syscall", _rewriter(src / "f", 100))
    res = run_api(src, dst)
    assert res.exit_code == Exit.PARTIAL
    [err] = res.errors
    assert err.path == "f" and "changed while being copied" in err.message
    assert (dst / "f").read_bytes() == b"old"  # the previous version, whole
    assert (dst / "g").read_bytes() == b"g"
    assert temps(dst) == []


def test_vanished_source_file_is_exit_24(src, dst, monkeypatch):
    build(src, {"a": b"a", "b": b"b", "c": b"c"})
    state = {"done": False}

    def fake(name, *args):
        if not state["done"]:
            state["done"] = True
            os.unlink(src / "c")  # listed, not opened yet: gone before its turn
        return REAL(name, *args)

    monkeypatch.setattr(cf, "_syscall", fake)
    res = run_api(src, dst, delete=True)
    assert res.exit_code == Exit.VANISHED
    assert [(e.path, e.op, e.errno) for e in res.errors] == [("c", "open-src", errno.ENOENT)]
    assert sorted(os.listdir(dst)) == ["a", "b"]
