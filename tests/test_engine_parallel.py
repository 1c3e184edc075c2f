"""Parallel == sequential: the work-stealing pool (forced with
``--pool-threshold 0``) leaves the same DST and itemizes the same set of
changes as one process does, on random trees, huge (split) directories, a
300-deep chain, and after mutations."""

from __future__ import annotations

import os
import tempfile

import pytest
from conftest import T0, build, ok, put, run_sync, tree_pairs, wipe, write_tree
from hypothesis import HealthCheck, Phase, given, settings
from mktree import make_tree, mutate_tree
from treecmp import compare

from engine.dirsync import SLICE_THRESHOLD

SEQ = ("--workers", "1")
PAR = ("--workers", "2", "--pool-threshold", "0")


def both(src, d_seq, d_par, *args) -> tuple[list[str], list[str]]:
    """Sync SRC into both DSTs, sequentially and on the pool; return the
    sorted itemized lines of each."""
    seq = ok(run_sync(src, d_seq, "-i", *args, *SEQ))
    par = ok(run_sync(src, d_par, "-i", *args, *PAR))
    return sorted(seq.lines), sorted(par.lines)


def assert_same(src, d_seq, d_par, *args) -> list[str]:
    seq, par = both(src, d_seq, d_par, *args)
    assert seq == par
    assert compare(d_seq, d_par) == []
    assert compare(src, d_par) == []
    return seq


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pair=tree_pairs())
def test_parallel_equals_sequential_on_random_trees(pair):
    a, b = pair
    with tempfile.TemporaryDirectory() as t:
        src, d1, d2 = (os.path.join(t, n) for n in ("src", "seq", "par"))
        write_tree(src, a)
        assert_same(src, d1, d2, "--delete", "--force-empty-src")
        wipe(src)
        write_tree(src, b)
        assert_same(src, d1, d2, "--delete", "--force-empty-src")


def _split_tree(root, variant: int) -> None:
    """A directory big enough to be split into slices, with every kind of
    change inside it (variant 0: SRC; 1: an older DST)."""
    n = SLICE_THRESHOLD + 600
    files = {}
    for i in range(n):
        if variant == 1 and i % 97 == 0:
            continue  # new in SRC
        body = b"%d" % i * (i % 13)
        if variant == 1 and i % 89 == 0:
            body += b"old"  # updated
        files[f"f{i:05d}"] = body
    if variant == 1:
        files.update({f"gone{i:03d}": b"extra" for i in range(40)})  # --delete
        files["f00010"] = {"was": b"a dir"}  # type change
        files[".stealsync-0badf00d-1-1.tmp"] = b"stale"
    else:
        files.update({"sub": {"x": b"x"}, "ln": ("link", "f00001"), "zsub": {}})
    build(root / "big", files)
    build(root, {"other": {"o": b"o"}})
    if variant == 1:
        os.chmod(root / "big" / "f00005", 0o600)  # metadata only
    os.utime(root / "big", ns=(T0, T0))
    os.utime(root, ns=(T0, T0))


def test_split_directory_parallel_equals_sequential(tmp_path):
    src, d1, d2 = tmp_path / "src", tmp_path / "seq", tmp_path / "par"
    _split_tree(src, 0)
    _split_tree(d1, 1)
    _split_tree(d2, 1)
    res = ok(run_sync(src, d2, "-n", "--json", "--delete", *PAR)).json
    seq = ok(run_sync(src, d1, "-n", "--json", "--delete", *SEQ)).json
    keys = ("files_total", "files_copied", "files_updated", "files_deleted", "dirs_created",
            "dirs_deleted", "bytes_copied", "bytes_total")
    assert {k: res[k] for k in keys} == {k: seq[k] for k in keys}
    counters = res["counters"]
    assert counters["dirs_split"] == 1
    assert counters["slices"] == -(-(SLICE_THRESHOLD + 600) // 1024)
    assert res["mode"] == "pool" and res["workers"] == 2
    lines = assert_same(src, d1, d2, "--delete")
    assert "- big/gone000" in lines and "+ big/f00000" in lines and "* big/f00089" in lines
    assert "* big/f00005" in lines and "+ big/f00010" in lines and "- big/f00010/" in lines
    assert not any(".stealsync-" in line for line in lines)
    assert both(src, d1, d2, "--delete") == ([], [])


def test_split_directory_other_kinds_over_dst_files(tmp_path):
    """Regression: a slice listed only SRC's regular files, so a DST file whose
    SRC twin is a FIFO (skipped with --no-specials), a symlink or a directory
    looked like an extra to --delete and was deleted, unlike in one process."""
    src, d1, d2 = tmp_path / "src", tmp_path / "seq", tmp_path / "par"
    many = {f"f{i:05d}": b"%d" % i for i in range(SLICE_THRESHOLD + 300)}
    build(src / "big", {**many, "f01000-link": ("link", "f00001"), "f02000-dir": {"x": b"x"}})
    os.mkfifo(src / "big" / "f03000-fifo")
    theirs = {"f01000-link": b"file", "f02000-dir": b"file", "f03000-fifo": b"file"}
    for d in (d1, d2):
        build(d / "big", {**many, **theirs})
    seq, par = both(src, d1, d2, "--delete", "--no-specials")
    assert seq == par
    assert "- big/f03000-fifo" not in par
    assert (d2 / "big" / "f03000-fifo").read_bytes() == b"file"  # skipped, left alone
    assert compare(d1, d2) == []
    assert os.path.islink(d2 / "big" / "f01000-link") and (d2 / "big" / "f02000-dir").is_dir()


@pytest.mark.parametrize("inside", ["nothing", "one file", "a deletion"])
def test_split_directory_whose_own_mtime_changed(tmp_path, inside):
    """Regression: a split directory always counted as changed by its entries,
    so '* big/' for a change of its own mtime only showed up in one process."""
    src, d1, d2 = tmp_path / "src", tmp_path / "seq", tmp_path / "par"
    many = {f"f{i:05d}": b"%d" % i for i in range(SLICE_THRESHOLD + 100)}
    build(src / "big", many)
    for d in (d1, d2):
        build(d / "big", {**many, "zz-extra": b"x"} if inside == "a deletion" else many)
    if inside == "one file":
        put(src / "big" / "f04000", b"changed", mtime_ns=T0 + 1)
    os.utime(src / "big", ns=(T0 + 10**9,) * 2)
    seq, par = both(src, d1, d2, "--delete")
    assert seq == par
    assert ("* big/" in par) == (inside == "nothing")
    assert compare(d1, d2) == [] and compare(src, d2) == []


def test_deep_chain_parallel_equals_sequential(tmp_path):
    src, d1, d2 = tmp_path / "src", tmp_path / "seq", tmp_path / "par"
    make_tree(src, "deep", 300, seed=5)
    assert_same(src, d1, d2, "--delete")
    mutate_tree(src, 30, seed=6)
    lines = assert_same(src, d1, d2, "--delete")
    assert lines
    assert both(src, d1, d2, "--delete") == ([], [])


def test_mutate_and_resync_parallel_equals_sequential(tmp_path):
    src, d1, d2 = tmp_path / "src", tmp_path / "seq", tmp_path / "par"
    make_tree(src, "small", 1500, seed=8)
    assert_same(src, d1, d2, "--delete")
    for seed in (1, 2):
        mutate_tree(src, 5, seed=seed)
        put(src / f"added-{seed}", b"new")
        lines = assert_same(src, d1, d2, "--delete")
        assert any(line.startswith("- ") for line in lines)
        assert any(line.startswith("* ") for line in lines)


@pytest.mark.long
def test_skewed_tree_is_split_and_stolen(tmp_path):
    # 40% of the files in one directory: above SLICE_THRESHOLD only from
    # about 10,240 files on (6,000 files give a 2,401-file directory).
    src, d1, d2 = tmp_path / "src", tmp_path / "seq", tmp_path / "par"
    make_tree(src, "skewed", 10500, seed=3)
    res = ok(run_sync(src, d2, "--json", "--delete", *PAR)).json
    assert res["counters"]["dirs_split"] >= 1
    assert res["counters"]["steals"] >= 1
    assert res["mode"] == "stealing" and res["workers"] == 2
    ok(run_sync(src, d1, "--delete", *SEQ))
    assert compare(d1, d2) == []
    assert compare(src, d2) == []
    mutate_tree(src, 3, seed=4)
    lines = assert_same(src, d1, d2, "--delete")
    assert lines
