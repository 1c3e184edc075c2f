"""Tests for the deterministic tree generator scripts/mktree.py."""

import os
import statistics
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
sys.path.insert(0, "scripts")

from mktree import make_tree, mutate_tree  # noqa: E402


def snapshot(root):
    """Everything that must be identical: per entry type, mode, size, mtime
    (ns), symlink target or content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames) + ([""] if dirpath == root else []):
            p = os.path.join(dirpath, name) if name else dirpath
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                body = ("L", os.readlink(p))
            elif os.path.isdir(p):
                body = ("D",)
            else:
                with open(p, "rb") as f:
                    body = ("F", f.read())
            out[rel] = (st.st_mode, st.st_size if body[0] == "F" else 0,
                        st.st_mtime_ns, body)
    return out


def regular_files(root):
    res = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                res.append(p)
    return res


@pytest.mark.parametrize("shape,n,kw", [
    ("small", 300, {}),
    ("skewed", 200, {}),
    ("deep", 40, {}),
    ("mixed", 100, {"big_files": 2, "big_range_mb": (1, 2)}),
    ("large", 2, {"size_mb": 1.5}),
])
def test_deterministic(tmp_path, shape, n, kw):
    a, b = tmp_path / "a", tmp_path / "b"
    sa = make_tree(str(a), shape, n, seed=7, **kw)
    sb = make_tree(str(b), shape, n, seed=7, **kw)
    assert sa == sb
    snap_a = snapshot(str(a))
    assert snap_a == snapshot(str(b))
    assert sa["files"] == n == len(regular_files(str(a)))
    # a different seed gives a different tree
    c = tmp_path / "c"
    make_tree(str(c), shape, n, seed=8, **kw)
    assert snapshot(str(c)) != snap_a


def test_mutate_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        make_tree(str(d), "small", 300, seed=3)
        mutate_tree(str(d), 5, seed=3)
    assert snapshot(str(a)) == snapshot(str(b))


def test_small_shape(tmp_path):
    root = str(tmp_path / "s")
    st = make_tree(root, "small", 2000, seed=1)
    sizes = [os.path.getsize(p) for p in regular_files(root)]
    med = statistics.median(sizes)
    assert 2400 <= med <= 3800, med
    assert 5000 <= statistics.mean(sizes) <= 14000
    depths = []
    gomods = 0
    for dirpath, _d, files in os.walk(root):
        depths.append(os.path.relpath(dirpath, root).count(os.sep) + 1)
        gomods += "go.mod" in files
    assert max(depths) <= 8
    assert gomods >= 1
    assert st["symlinks"] >= 1
    for dirpath, dirs, files in os.walk(root):
        for f in dirs + files:
            p = os.path.join(dirpath, f)
            if os.path.islink(p):
                t = os.readlink(p)
                assert not os.path.isabs(t)
                real = os.path.realpath(p)
                assert real.startswith(os.path.realpath(root) + os.sep)
                assert os.path.exists(p)
    modes = {os.lstat(p).st_mode & 0o777 for p in regular_files(root)}
    assert modes == {0o644, 0o755}


def test_skewed_shape(tmp_path):
    root = str(tmp_path / "k")
    make_tree(root, "skewed", 500, seed=2)
    per_dir = [len([f for f in files if not os.path.islink(os.path.join(d, f))])
               for d, _x, files in os.walk(root)]
    assert max(per_dir) >= 0.40 * 500


def test_deep_shape(tmp_path):
    root = str(tmp_path / "d")
    make_tree(root, "deep", 20, seed=2)
    maxdepth = 0
    for dirpath, _d, _f in os.walk(root):
        maxdepth = max(maxdepth, os.path.relpath(dirpath, root).count(os.sep) + 1)
    assert maxdepth >= 300
    assert len(regular_files(root)) == 20


def test_mutate_share(tmp_path):
    root = str(tmp_path / "m")
    make_tree(root, "small", 1000, seed=4)
    before = {os.path.relpath(p, root): os.lstat(p) for p in regular_files(root)}
    res = mutate_tree(root, 5, seed=4)
    after = {os.path.relpath(p, root): os.lstat(p) for p in regular_files(root)}
    changed = [r for r in before if r in after
               and (after[r].st_size != before[r].st_size
                    or after[r].st_mtime_ns != before[r].st_mtime_ns)]
    grown = [r for r in changed if after[r].st_size > before[r].st_size]
    assert len(changed) == len(grown) == res["appended"] == 50
    deleted = set(before) - set(after)
    added = set(after) - set(before)
    assert 1 <= len(deleted) <= 10 and len(deleted) == res["deleted"]
    assert 1 <= len(added) <= 10 and len(added) == res["added"]
