"""Hypothesis properties on random trees (odd names, modes, mtimes, links,
FIFOs): sync mirrors SRC, a second sync plans nothing, and the dry run
itemizes exactly what the real run does."""

from __future__ import annotations

import os
import tempfile

import pytest
from conftest import ok, run_sync, tree_pairs, trees, wipe, write_tree
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as hs
from treecmp import compare

# No shrink phase: every example runs real processes, and shrinking a
# failure could take many minutes; the treecmp differences say what failed.
SETTINGS = settings(max_examples=30, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(tree=trees)
def test_sync_into_empty_dst_mirrors(tree):
    with tempfile.TemporaryDirectory() as t:
        src, dst = os.path.join(t, "src"), os.path.join(t, "dst")
        write_tree(src, tree)
        dry = ok(run_sync(src, dst, "-n", "-i", "--workers", "1"))
        real = ok(run_sync(src, dst, "-i", "--workers", "1"))
        assert dry.lines == real.lines
        assert compare(src, dst) == []
        assert ok(run_sync(src, dst, "-i", "--workers", "1")).lines == []


@SETTINGS
@given(pair=tree_pairs())
def test_resync_after_random_mutation(pair):
    a, b = pair
    with tempfile.TemporaryDirectory() as t:
        src, dst = os.path.join(t, "src"), os.path.join(t, "dst")
        write_tree(src, a)
        ok(run_sync(src, dst, "--delete", "--force-empty-src", "--workers", "1"))
        assert compare(src, dst) == []
        wipe(src)
        write_tree(src, b)
        dry = ok(run_sync(src, dst, "-n", "-i", "--delete", "--force-empty-src", "--workers", "1"))
        real = ok(run_sync(src, dst, "-i", "--delete", "--force-empty-src", "--workers", "1"))
        assert dry.lines == real.lines
        assert compare(src, dst) == []
        assert ok(run_sync(src, dst, "-i", "--delete", "--force-empty-src", "--workers", "1")).lines == []


PATTERNS = ["a", "b/", "*.txt", "!c.txt", "/a", "**/b", "line*", "!a", "\\*", "-x", ".hidden/"]


@pytest.mark.long
@settings(SETTINGS, max_examples=40)
@given(pair=tree_pairs(), patterns=hs.lists(hs.sampled_from(PATTERNS), max_size=3),
       delete_excluded=hs.booleans(), max_delete=hs.sampled_from([None, 0, 1, 3]))
def test_exclusions_and_max_delete_dry_equals_real_and_pool_equals_one(
        pair, patterns, delete_excluded, max_delete):
    args = [f"--exclude={p}" for p in patterns]
    args += ["--delete-excluded" if delete_excluded else "--delete", "--force-empty-src"]
    if max_delete is not None:
        args += ["--max-delete", str(max_delete)]
    with tempfile.TemporaryDirectory() as t:
        src, d1, d2 = (os.path.join(t, n) for n in ("src", "seq", "par"))
        for tree in pair:
            wipe(src)
            write_tree(src, tree)
            dry = run_sync(src, d1, "-n", "-i", *args, "--workers", "1")
            one = run_sync(src, d1, "-i", *args, "--workers", "1")
            pool = run_sync(src, d2, "-i", *args, "--workers", "2", "--pool-threshold", "0")
            assert one.code in (0, 25) and dry.code == one.code == pool.code, (dry, one, pool)
            assert dry.lines == one.lines
            if max_delete is None:  # which deletions fit the budget depends on order
                assert sorted(one.lines) == sorted(pool.lines)
                assert compare(d1, d2) == []
        if max_delete is None:
            assert ok(run_sync(src, d1, "-i", *args, "--workers", "1")).lines == []
