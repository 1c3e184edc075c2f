"""``stealsync patterns`` and :func:`engine.patterns.optimize`.

The oracle for the optimizer is the sync walk itself: an optimized set is
right when walking a tree with it visits the same entries with the same
verdicts as the original set.  Static removals must hold on *any* tree, so
Hypothesis draws trees and pattern lists and checks exactly that; removals
that hold only on one tree are checked on that tree (``fallback`` stays
None when every removal held).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from engine.patterns import consolidate, optimize, static_removals, walk
from engine.rules import PatternError, PatternLine, Rules, parse

STEALSYNC = os.path.join(os.path.dirname(sys.executable), "stealsync")


def pl(*pats: str, source: str = "--exclude") -> list[PatternLine]:
    return [PatternLine(p, source, i) for i, p in enumerate(pats, 1)]


def parsed(*pats: str):
    return [parse(x) for x in pl(*pats)]


def make(root, spec: dict[str, str | None]) -> str:
    """Files (text) and directories (None) below root."""
    root = str(root)
    os.makedirs(root, exist_ok=True)
    for rel, body in spec.items():
        p = os.path.join(root, rel)
        if body is None:
            os.makedirs(p, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(body)
    return root


def visible(root: str, lines: list[str], ignore=()) -> list:
    return list(walk(root, Rules(pl(*lines), ignore)))


def stealsync(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([STEALSYNC, *args], capture_output=True, text=True)


# --- static reasoning on plain data ----------------------------------------------------

def removed(lines, top=True, has_lower=False) -> dict[str, str]:
    _kept, gone = static_removals(parsed(*lines), top, has_lower)
    return {p.line.pattern: why for p, why in gone}


def kept(lines, top=True, has_lower=False) -> list[str]:
    k, _ = static_removals(parsed(*lines), top, has_lower)
    return [p.line.pattern for p in k]


@pytest.mark.parametrize("lines,gone,word", [
    (["node_modules/", "node_modules/**"], "node_modules/**", "inside 'node_modules/'"),
    (["*.log", "**/*.log"], "*.log", "matches exactly what"),
    (["**/*.log", "*.log"], "**/*.log", "matches exactly what"),
    (["*.log", "*.log"], "*.log", "duplicate of --exclude:2"),
    (["debug.log", "*.log"], "debug.log", "shadowed by --exclude:2"),
    (["*.log", "debug.log"], "debug.log", "already excluded by --exclude:1"),
    (["build/", "!build/keep.txt"], "!build/keep.txt", "can never re-include"),
    (["node_modules/", "**/node_modules/**/*.js"], "**/node_modules/**/*.js",
     "directory named 'node_modules'"),
    (["/dist", "dist/a/b"], "dist/a/b", "inside 'dist/'"),
    (["!keep.txt", "*.tmp"], "!keep.txt", "nothing before it excludes"),
    (["a/*/c", "a/*/*"], "a/*/c", "shadowed"),
    (["x/y/z", "x/**"], "x/y/z", "shadowed"),
    (["npm-debug.log.1", "npm-debug.log*"], "npm-debug.log.1", "shadowed"),
    (["*.tar.gz", "*.gz"], "*.tar.gz", "shadowed"),
    (["*.log", "*"], "*.log", "shadowed"),
])
def test_static_removals(lines, gone, word):
    why = removed(lines)
    assert gone in why and word in why[gone], why


@pytest.mark.parametrize("lines,expect", [
    (["*.log", "!keep.log"], None),  # the negation re-includes
    (["*.log", "!*.log", "debug.log"], ["!*.log", "debug.log"]),  # '!*.log' always decides
    (["node_modules/", "!node_modules/", "node_modules/x"], ["!node_modules/", "node_modules/x"]),
    (["build/", "!build/keep.txt", "!build/"], ["!build/keep.txt", "!build/"]),  # re-included
    (["a/", "b/a"], None),  # 'a/' excludes no parent of b/a
    (["*.log/", "x.log"], None),  # directories only: the file x.log is not covered
    (["/dist/", "dist"], ["dist"]),  # the later 'dist' covers '/dist/'
    (["dist", "/dist/"], ["dist"]),  # already excluded by "dist"
    (["dist", "!*/", "/dist/"], None),  # unless a line between might flip it
    (["a**/b", "ab"], None),  # git's literal-prefix split: 'a**/b' matches 'ab', 'ax/y/b'
    (["ab", "a**/b"], None),
    (["x/*", "!x/y"], None),
])
def test_static_keeps_what_matters(lines, expect):
    """(With ignore files in use, so that negations keep their meaning.)"""
    assert kept(lines, has_lower=True) == (lines if expect is None else expect)


def test_negation_kept_when_ignore_files_could_exclude():
    assert "!keep.txt" in kept(["!keep.txt"], has_lower=True)
    assert "!keep.txt" not in kept(["!keep.txt"], has_lower=False)


def test_under_excluded_dir_only_for_the_strongest_source():
    # In an ignore file a deeper file or the command line may re-include 'b/'.
    assert kept(["b/", "b/x"], top=False) == ["b/", "b/x"]
    assert kept(["b/", "b/x"], top=True) == ["b/"]


def test_consolidation_merges_adjacent_one_char_differences():
    out, merges = consolidate(parsed("*.pyc", "*.pyo", "*.pyd", "x", "a.log", "b.log", "!c.log"))
    texts = [x.pattern for x in out]
    assert texts == ["*.py[cdo]", "x", "[ab].log", "!c.log"]
    assert [t for _, t in merges] == ["*.py[cdo]", "[ab].log"]
    # not across polarity, kind or a '*' position
    out, merges = consolidate(parsed("a.log", "b.log/", "*.a", "?.b"))
    assert merges == []


def test_optimize_without_tree_reports_every_removal():
    r = optimize(pl("node_modules/", "node_modules/**", "*.log", "**/*.log", "*.pyc", "*.pyo",
                    "# comment", "", "!build/x", "build/"), None, ())
    assert r["original_count"] == 8
    assert r["optimized"] == ["node_modules/", "**/*.log", "*.py[co]", "build/"]
    assert r["optimized_count"] == 4
    assert {x["pattern"] for x in r["redundant"]} == {
        "node_modules/**", "*.log", "*.pyc", "*.pyo", "!build/x"}
    assert all(x["scope"] == "always" and x["reason"] for x in r["redundant"])
    assert r["redundant"][0]["source"] == "--exclude" and r["redundant"][0]["line"] == 2
    assert "tree" not in r


def test_invalid_pattern_raises_with_file_and_line():
    with pytest.raises(PatternError, match="x.txt:2: "):
        optimize(pl("ok", "a[b", source="x.txt"), None)


# --- random lists on random trees: static removals hold everywhere ------------------------

NAMES = ["a", "b", "ab", "x.log", "a.log", "k"]
SEGS = ["a", "b", "ab", "*", "**", "*.log", "*.lof", "x.log", "b.log", "a*", "[ab]", "?"]


@hs.composite
def trees(draw):
    spec: dict[str, str | None] = {}
    for parts in draw(hs.lists(hs.lists(hs.sampled_from(NAMES), min_size=1, max_size=3),
                               min_size=1, max_size=10)):
        for i in range(1, len(parts)):
            spec["/".join(parts[:i])] = None
        leaf = "/".join(parts)
        if leaf not in spec:
            spec[leaf] = None if draw(hs.booleans()) else "x"
    for rel in list(spec):
        if "/" in rel:
            spec[rel.rsplit("/", 1)[0]] = None
    return spec


@hs.composite
def patterns(draw):
    p = "/".join(draw(hs.lists(hs.sampled_from(SEGS), min_size=1, max_size=3)))
    if draw(hs.integers(0, 3)) == 0:
        p = "/" + p
    if draw(hs.integers(0, 3)) == 0:
        p += "/"
    if draw(hs.integers(0, 3)) == 0:
        p = "!" + p
    return p


lists = hs.lists(patterns(), min_size=1, max_size=8)
OPT = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@OPT
@given(trees(), lists)
def test_static_optimization_holds_on_any_tree(spec, lines):
    with tempfile.TemporaryDirectory() as tmp:
        root = make(os.path.join(tmp, "t"), spec)
        r = optimize(pl(*lines), None, ())
        assert visible(root, r["optimized"]) == visible(root, lines), r["redundant"]


@OPT
@given(trees(), lists, hs.lists(patterns(), min_size=1, max_size=4))
def test_static_optimization_holds_with_ignore_files(spec, lines, file_lines):
    """Ignore files below the command line: the CLI's removals still hold,
    and each ignore file's own (static and tree) removals hold on the tree."""
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [d for d, body in spec.items() if body is None]
        spec[".syncignore"] = "\n".join(file_lines) + "\n"
        if dirs:
            spec[f"{dirs[-1]}/.syncignore"] = "\n".join(reversed(file_lines)) + "\n"
        root = make(os.path.join(tmp, "t"), spec)
        ign = (".syncignore",)
        r = optimize(pl(*lines), None, ign)
        assert visible(root, r["optimized"], ign) == visible(root, lines, ign)
        r = optimize(pl(*lines), root, ign)
        assert r["equivalent"] and r["fallback"] is None, r


@OPT
@given(trees(), lists)
def test_tree_optimization_is_checked_and_holds(spec, lines):
    with tempfile.TemporaryDirectory() as tmp:
        root = make(os.path.join(tmp, "t"), spec)
        r = optimize(pl(*lines), root, ())
        assert r["equivalent"] and r["fallback"] is None, r
        assert visible(root, r["optimized"]) == visible(root, lines)
        assert r["entries_total"] == len(spec)
        seen = visible(root, lines)
        assert r["entries_visited"] == len(seen)
        assert r["entries_pruned"] == len(spec) - len(seen)


# --- with a tree --------------------------------------------------------------------------

TREE = {
    "node_modules/a/index.js": "x", "node_modules/a/package.json": "x",
    "node_modules/b/lib/x.js": "x", "src/app.py": "x", "src/app.pyc": "x",
    "src/util.pyo": "x", "src/__pycache__/app.cpython.pyc": "x", "logs/today.log": "x",
    "top.log": "x", "README.md": "x", "docs/index.md": "x", "empty": None,
}


def test_optimize_on_a_tree(tmp_path):
    root = make(tmp_path / "t", TREE)
    lines = pl("node_modules/", "node_modules/**", "*.log", "**/*.log", "*.pyc", "*.pyo",
               "__pycache__/", "*.tmp", "!node_modules/a/index.js", "/dist/")
    r = optimize(lines, root, ())
    assert r["equivalent"] is True and r["fallback"] is None
    assert r["original_count"] == 10
    reasons = {x["pattern"]: (x["reason"], x["scope"]) for x in r["redundant"]}
    assert reasons["node_modules/**"][1] == "always"
    assert reasons["*.tmp"] == (f"matches nothing in '{root}'", "tree")
    assert reasons["/dist/"][1] == "tree"
    assert "can never re-include" in reasons["!node_modules/a/index.js"][0]
    assert r["optimized"] == ["node_modules/", "**/*.log", "*.py[co]", "__pycache__/"]
    assert r["entries_total"] == 20  # 12 files and dirs listed + 8 parent dirs
    # never visited: node_modules/{a,b}, a/index.js, a/package.json, b/lib, b/lib/x.js,
    # src/__pycache__/app.cpython.pyc
    assert r["entries_pruned"] == 7
    assert r["traversal_reduction_pct"] == round(100 * 7 / 20, 2)
    assert r["dirs_pruned"] == 2 and r["files_excluded"] == 4
    assert r["walk_full_s"] > 0 and r["walk_pruned_s"] > 0
    assert r["walk_saved_s"] == pytest.approx(r["walk_full_s"] - r["walk_pruned_s"], abs=1e-5)
    for key in ("original_count", "optimized_count", "optimized", "redundant", "entries_total",
                "entries_pruned", "traversal_reduction_pct", "equivalent"):
        assert key in r


def test_ignore_files_found_in_the_tree_are_analysed(tmp_path):
    spec = dict(TREE)
    spec[".syncignore"] = "*.log\n*.log\n!keep.log\n"
    spec["src/.syncignore"] = "*.pyc\n__pycache__/\n__pycache__/x\n"
    root = make(tmp_path / "t", spec)
    r = optimize([], root, (".syncignore",))
    files = {f["source"]: f for f in r["ignore_files"]}
    assert set(files) == {".syncignore", "src/.syncignore"}
    top = files[".syncignore"]
    assert top["original_count"] == 3 and top["optimized"] == ["*.log"]
    why = {x["pattern"]: x["reason"] for x in top["redundant"]}
    assert "duplicate" in why["*.log"] and "matches nothing" in why["!keep.log"]
    src = files["src/.syncignore"]
    # '__pycache__/x' is under an excluded dir, but a deeper file could re-include
    # '__pycache__/': only the tree shows it never matters.
    assert {x["pattern"]: x["scope"] for x in src["redundant"]}["__pycache__/x"] == "tree"
    assert r["equivalent"] and r["fallback"] is None


# --- the command -----------------------------------------------------------------------------

def test_command_json(tmp_path):
    root = make(tmp_path / "t", TREE)
    ex = tmp_path / "ex.txt"
    ex.write_text("*.log\n**/*.log\n")
    p = stealsync("patterns", "--exclude", "node_modules/", "--exclude", "node_modules/**",
                  f"--exclude-from={ex}", "--tree", root, "--no-ignore-files", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["original_count"] == 4 and r["optimized_count"] == 2
    assert r["optimized"] == ["node_modules/", "**/*.log"]
    assert [x["source"] for x in r["redundant"]] == ["--exclude", str(ex)]
    assert r["equivalent"] is True and r["entries_total"] == 20


def test_command_text(tmp_path):
    root = make(tmp_path / "t", TREE)
    p = stealsync("patterns", "--exclude", "*.log", "--exclude", "**/*.log", "--exclude",
                  "*.tmp", "--tree", root)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "3 patterns -> 1" in out
    assert "matches exactly what" in out and "[this tree only]" in out
    assert "traversal reduction" in out and ("saves" in out or "costs" in out)
    assert "equivalent on this tree: yes" in out
    p = stealsync("patterns", "--exclude", "*.log")
    assert p.returncode == 0 and "1 pattern -> 1" in p.stdout and "Tree" not in p.stdout


def test_command_errors(tmp_path):
    p = stealsync("patterns", "--exclude", "a[b")
    assert p.returncode == 1 and "--exclude:1: invalid pattern 'a[b'" in p.stderr
    p = stealsync("patterns", "--exclude", "a", "--tree", str(tmp_path / "missing"))
    assert p.returncode == 3 and "not a directory" in p.stderr
    root = make(tmp_path / "t", {"a/f": "x"})
    os.symlink("/nonexistent", os.path.join(root, "a", ".syncignore"))
    p = stealsync("patterns", "--exclude", "b", "--tree", root)
    assert p.returncode == 23 and "a/.syncignore" in p.stderr
    p = stealsync("patterns", "--exclude", "b", "--tree", root, "--ignore-file", "x/y")
    assert p.returncode == 1 and "plain file name" in p.stderr


def test_a_wrong_removal_is_caught_by_the_check(tmp_path, monkeypatch):
    """The tree check is the safety net: break the tree removals on purpose."""
    import engine.patterns as P

    def drop_everything(tree, cli, files, tp):
        cli.final_lines = []
        cli.redundant.append((cli.static_lines[0], "wrong on purpose", "tree"))

    monkeypatch.setattr(P, "_tree_removals", drop_everything)
    root = make(tmp_path / "t", TREE)
    r = optimize(pl("*.log", "*.log"), root, ())
    assert r["fallback"] == "static" and r["equivalent"] is True
    assert r["optimized"] == ["*.log"]
    assert all(x["scope"] == "always" for x in r["redundant"])
