"""Hypothesis properties on random trees (odd names, modes, mtimes, links,
FIFOs): sync mirrors SRC, a second sync plans nothing, and the dry run
itemizes exactly what the real run does."""

from __future__ import annotations

import os
import tempfile

from conftest import ok, run_sync, tree_pairs, trees, wipe, write_tree
from hypothesis import HealthCheck, Phase, given, settings
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
