"""``stealsync analyze``: pure pieces on plain data, then real trees (from
scripts/mktree.py and hand-built) against an independent os.walk oracle, in
process and on the worker pool."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import Counter

import pathspec
import pytest
from conftest import REPO, build, put
from hypothesis import given
from hypothesis import strategies as hs
from mktree import make_tree

from engine.analysis import (
    TOP_N,
    Aggregate,
    FileInfo,
    analyze,
    bottleneck_hints,
    ext_of,
    histogram_median,
    summarize,
)
from engine.errors import UsageError
from engine.walk import KIND_DIR, KIND_FILE, KIND_LINK, KIND_SPECIAL

# --- the oracle: os.walk + lstat, written independently of the engine ------------


def oracle(root, patterns=()) -> dict:
    spec = pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None
    files = dirs = links = specials = hard = total = disk = 0
    max_depth = 0
    depths, sizes, fullest = [], [], []
    types: dict[str, list[int]] = {}
    hist = Counter()
    kept = pruned = 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        rel = "" if rel == "." else rel
        d = 0 if not rel else rel.count("/") + 1
        n_kept = 0
        for name in sorted(dirnames + filenames):
            path = f"{rel}/{name}" if rel else name
            s = os.lstat(os.path.join(dirpath, name))
            is_dir = os.path.stat.S_ISDIR(s.st_mode)
            if spec is not None and spec.match_file(path + "/" if is_dir else path):
                pruned += 1 + (_count_all(os.path.join(dirpath, name)) if is_dir else 0)
                if name in dirnames:
                    dirnames.remove(name)
                continue
            n_kept += 1
            max_depth = max(max_depth, d + 1)
            if os.path.stat.S_ISLNK(s.st_mode):
                links += 1
            elif is_dir:
                dirs += 1
            elif os.path.stat.S_ISREG(s.st_mode):
                files += 1
                total += s.st_size
                disk += s.st_blocks * 512 // s.st_nlink
                hard += s.st_nlink > 1
                depths.append(d + 1)
                sizes.append((s.st_size, path))
                ext = os.path.splitext(name)[1].lower() or "(none)"
                t = types.setdefault(ext, [0, 0])
                t[0] += 1
                t[1] += s.st_size
                hist[s.st_size.bit_length()] += 1
            else:
                specials += 1
        kept += n_kept
        if n_kept:
            fullest.append((n_kept, rel))
    ranked = sorted(types.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
    top_types = {k: {"count": c, "bytes": b} for k, (c, b) in ranked[:15]}
    if ranked[15:]:
        top_types["other"] = {"count": sum(c for _, (c, _b) in ranked[15:]),
                              "bytes": sum(b for _, (_c, b) in ranked[15:])}
    return {
        "files": files, "dirs": dirs, "symlinks": links, "specials": specials, "hardlinked": hard,
        "total_bytes": total, "disk_bytes": disk, "max_depth": max_depth,
        "median_depth": statistics.median(depths) if depths else 0,
        "largest": [{"path": p, "size": s} for s, p in sorted(sizes, reverse=True)[:TOP_N]],
        "types": top_types,
        "hist": dict(hist),
        "busiest_dirs": [{"path": p or ".", "entries": n} for n, p in sorted(fullest, reverse=True)[:TOP_N]],
        "entries_total": kept + pruned, "entries_pruned": pruned,
    }


def _count_all(path) -> int:
    n = 0
    for _dp, dn, fn in os.walk(path):
        n += len(dn) + len(fn)
    return n


def assert_matches(got: dict, want: dict) -> None:
    for k in ("files", "dirs", "symlinks", "specials", "hardlinked", "total_bytes", "disk_bytes",
              "max_depth", "median_depth", "largest", "types", "busiest_dirs"):
        assert got[k] == want[k], k
    assert {b["bucket"]: b["count"] for b in got["size_histogram"]} == want["hist"]


# --- pure pieces -------------------------------------------------------------------

def test_summarize_plain_data():
    s = summarize("a/b", [
        FileInfo("x.PY", KIND_FILE, 5, 8, 1),
        FileInfo("y.py", KIND_FILE, 0, 0, 1),
        FileInfo("Makefile", KIND_FILE, 4096, 8, 2),
        FileInfo("sub", KIND_DIR),
        FileInfo("l", KIND_LINK),
        FileInfo("fifo", KIND_SPECIAL),
    ], pruned=3)
    assert (s.depth, s.entries, s.files, s.bytes, s.dirs, s.symlinks, s.specials) == (2, 6, 3, 4101, 1, 1, 1)
    assert s.disk_bytes == 8 * 512 + 8 * 512 // 2  # a hard-linked file counts its share
    assert s.hardlinked == 1 and s.pruned == 3
    assert sorted(s.exts) == [("(none)", 1, 4096), (".py", 2, 5)]
    assert sorted(s.hist) == [(0, 1, 0), (3, 1, 5), (13, 1, 4096)]
    assert s.top[0] == (4096, "Makefile")


def test_ext_of():
    assert ext_of("a.tar.GZ") == ".gz"
    assert ext_of(".bashrc") == "(none)"
    assert ext_of("x.0123456789abcdef") == "(long)"


@given(hs.lists(hs.integers(0, 50), min_size=1, max_size=200))
def test_histogram_median_is_the_median(values):
    assert histogram_median(Counter(values)) == statistics.median(values)


def test_aggregate_keeps_top_n_whatever_the_order():
    infos = [FileInfo(f"f{i:03d}", KIND_FILE, i % 37, 0, 1) for i in range(300)]
    a, b = Aggregate(), Aggregate()
    for chunk in range(0, 300, 7):
        a.add(summarize(f"d{chunk}", infos[chunk:chunk + 7], 0))
    for chunk in reversed(range(0, 300, 7)):
        b.add(summarize(f"d{chunk}", infos[chunk:chunk + 7], 0))
    assert a.largest() == b.largest() and len(a.largest()) == TOP_N
    assert a.fullest() == b.fullest()
    assert [f["size"] for f in a.largest()] == [36] * 8 + [35] * 2  # 8 files of size 36 exist


def _data(**kw):
    d = {"files": 0, "total_bytes": 0, "max_depth": 1, "median_depth": 1, "busiest_dirs": [],
         "size_histogram": [], "largest": [], "hardlinked": 0}
    d.update(kw)
    return d


def test_hints_quote_their_figures():
    assert bottleneck_hints(_data(), {}) == []
    h = bottleneck_hints(_data(max_depth=40, median_depth=20), {})
    assert [x["kind"] for x in h] == ["deep_nesting"] and h[0]["figure"] == 40
    h = bottleneck_hints(_data(busiest_dirs=[{"path": "gen", "entries": 5000}]), {})
    assert h[0]["kind"] == "huge_directory" and "5,000" in h[0]["message"]
    tiny = [{"bucket": 3, "lo": 4, "hi": 8, "count": 900, "bytes": 5000},
            {"bucket": 20, "lo": 1 << 19, "hi": 1 << 20, "count": 100, "bytes": 60 << 20}]
    h = bottleneck_hints(_data(files=1000, size_histogram=tiny), {"cpus": 8})
    assert h[0]["kind"] == "tiny_files" and h[0]["figure"] == 90.0 and "8 usable CPUs" in h[0]["message"]
    big = [{"path": "iso", "size": 3 << 30}, {"path": "x", "size": 10}]
    h = bottleneck_hints(_data(files=2, total_bytes=4 << 30, largest=big), {})
    assert h[0]["kind"] == "huge_files" and h[0]["figure"] == 75.0
    h = bottleneck_hints(_data(), {"network": True, "src_fs": "nfs4", "dst": "/d",
                                   "same_device": True, "device": "0:42"})
    assert [x["kind"] for x in h] == ["network_fs", "same_device"]


# --- real trees ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("an") / "small"
    make_tree(str(root), "small", 1500, seed=5)
    return root


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "pool"])
def test_small_tree_matches_oracle(small_tree, pool):
    got = analyze(str(small_tree), ignore_files=(), workers=2,
                  pool_threshold=0 if pool else 10**9)
    assert got["mode"] == ("pool" if pool else "sequential")
    assert got["files"] == 1500 and got["complete"] and got["error_count"] == 0
    assert_matches(got, oracle(small_tree))
    assert got["exclusion"] is None


def test_pool_and_sequential_agree(small_tree):
    a = analyze(str(small_tree), ignore_files=(), workers=2, pool_threshold=0)
    b = analyze(str(small_tree), ignore_files=(), workers=1)
    for k in ("elapsed_s", "mode", "workers", "facts"):
        a.pop(k), b.pop(k)
    assert a == b


def test_exclusions_pruned_and_counted(small_tree):
    patterns = ["*.c", "core/", "!keep.c"]
    got = analyze(str(small_tree), excludes=patterns, ignore_files=(), workers=2,
                  pool_threshold=50, count_pruned=True)
    want = oracle(small_tree, patterns)
    assert_matches(got, want)
    x = got["exclusion"]
    assert x["patterns"] == patterns
    assert (x["entries_total"], x["entries_pruned"]) == (want["entries_total"], want["entries_pruned"])
    assert x["entries_pruned"] > 0
    assert x["traversal_reduction_pct"] == round(100 * want["entries_pruned"] / want["entries_total"], 2)


def test_deep_tree(tmp_path):
    root = tmp_path / "deep"
    make_tree(str(root), "deep", 60, seed=1, depth=40)
    got = analyze(str(root), ignore_files=(), workers=2, pool_threshold=10)
    assert_matches(got, oracle(root))
    assert got["max_depth"] == 41  # 40 nested directories, a file in the deepest
    assert "deep_nesting" in [h["kind"] for h in got["hints"]]


def test_links_specials_and_ignore_files(tmp_path):
    root = tmp_path / "t"
    build(root, {"a.txt": b"hello", "sub": {"b.bin": b"\0" * 10000, "skip.log": b"x"},
                 "ln": ("link", "a.txt"), ".syncignore": b"*.log\n"})
    os.link(root / "a.txt", root / "sub" / "a-again.txt")
    os.mkfifo(root / "fifo")
    put(root / "empty" / "deeper" / "z", b"")
    got = analyze(str(root))  # the default .syncignore applies, as in sync
    assert (got["files"], got["symlinks"], got["specials"], got["hardlinked"]) == (5, 1, 1, 2)
    assert got["exclusion"]["entries_pruned"] == 1  # sub/skip.log
    assert got["max_depth"] == 3 and got["largest"][0] == {"path": "sub/b.bin", "size": 10000}
    assert "hard_links" in [h["kind"] for h in got["hints"]]


def test_missing_path_and_bad_pattern(tmp_path):
    with pytest.raises(UsageError) as e:
        analyze(str(tmp_path / "nope"))
    assert e.value.code == 3
    with pytest.raises(UsageError):
        analyze(str(tmp_path), excludes=["src/["])  # an unclosed [ is an error


# --- the command line ---------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", "analyze", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


def test_cli_json_and_text(small_tree, tmp_path):
    p = _cli(small_tree, "--json", "--no-ignore-files", "--dst", tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert_matches(d, oracle(small_tree))
    assert d["largest"] == sorted(d["largest"], key=lambda f: -f["size"])
    assert all(set(h) == {"kind", "message", "figure"} for h in d["hints"])
    assert "same_device" in [h["kind"] for h in d["hints"]]
    t = _cli(small_tree, "--workers", "2")
    assert t.returncode == 0, t.stderr
    for title in ("Largest files", "File types", "Size histogram", "Directories with the most entries"):
        assert title in t.stdout
    assert f"{d['files']:,}" in t.stdout and "█" in t.stdout


def test_cli_errors(tmp_path):
    assert _cli(tmp_path / "missing").returncode == 3
    assert _cli(tmp_path, "--workers", "0").returncode == 1
