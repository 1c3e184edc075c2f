"""Exclusion rules: git is the judge.

The oracle is real git (no index, nothing tracked, a git dir outside SRC so
SRC holds no ``.git``):

* per-directory ignore files only: ``git check-ignore --no-index --stdin``
  says which paths are ignored (a path under an ignored directory counts as
  ignored, as in our walk);
* command-line patterns only: the same, with the patterns in
  ``$GIT_DIR/info/exclude`` (root-level, like ``--exclude``);
* both: ``git ls-files -o --exclude=P... --exclude-per-directory=NAME``, where
  ``--exclude`` beats the per-directory files as our command line does; it
  lists visible files, and each directory without a visible file is asked
  about on its own (``--directory -- DIR``).

"Visible" means: present in DST after ``stealsync sync``.  A directory that
is not excluded is visible even when everything in it is excluded (DST then
holds it empty), so DST is compared as the set of files *and* directories.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from engine.patterns import walk
from engine.rules import (
    PatternError,
    PatternLine,
    RuleFileError,
    Rules,
    compile_lines,
    load_exclude_file,
    parse,
    split_lines,
)

STEALSYNC = os.path.join(os.path.dirname(sys.executable), "stealsync")
_HOME = tempfile.mkdtemp(prefix="stealsync-git-home-")  # no user or system git config
atexit.register(shutil.rmtree, _HOME, True)
GIT_ENV = {**os.environ, "HOME": _HOME, "XDG_CONFIG_HOME": _HOME, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is the oracle")


# --- building trees and asking git ---------------------------------------------

class Repo:
    """A work tree (SRC) and a git dir outside it."""

    def __init__(self, base: str):
        self.src = os.path.join(base, "src")
        os.makedirs(self.src)
        self.gitdir = _shared_gitdir()  # nothing is ever tracked: one serves all

    def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        literal = ["--literal-pathspecs"] if args[0] == "ls-files" else []
        r = subprocess.run(["git", *literal, "--git-dir", self.gitdir,
                            "--work-tree", self.src, *args],
                           input=stdin, capture_output=True, env=GIT_ENV)
        if r.returncode not in (0, 1):
            raise AssertionError(f"git {args[:2]} failed: {r.stderr.decode()}")
        return r.stdout

    def build(self, tree: dict[str, str], ignore: dict[str, list[str]], name=".gitignore",
              info_exclude: list[str] = ()) -> None:
        for rel, kind in sorted(tree.items()):
            p = os.path.join(self.src, rel)
            if kind == "d":
                os.makedirs(p, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "wb") as f:
                    f.write(b"x")
        for d, lines in ignore.items():
            os.makedirs(os.path.join(self.src, d), exist_ok=True)
            with open(os.path.join(self.src, d, name), "wb") as f:
                f.write(os.fsencode("\n".join(lines) + "\n"))
        os.makedirs(os.path.join(self.gitdir, "info"), exist_ok=True)
        with open(os.path.join(self.gitdir, "info", "exclude"), "wb") as f:
            f.write(os.fsencode("".join(x + "\n" for x in info_exclude)))

    def all_paths(self) -> dict[str, bool]:
        return listing(self.src)

    def visible_by_check_ignore(self) -> set[str]:
        """Per-directory files and info/exclude: every path not ignored."""
        paths = self.all_paths()  # './' keeps a leading ':' from reading as pathspec magic
        data = b"".join(b"./" + os.fsencode(p) + b"\0" for p in paths)
        ignored = {os.fsdecode(x[2:]) for x in self.git("check-ignore", "--no-index", "--stdin",
                                                        "-z", stdin=data).split(b"\0") if x}
        return set(paths) - ignored

    def visible_by_ls_files(self, cli: list[str], name: str) -> set[str]:
        """Command-line patterns that beat the per-directory files."""
        args = ["ls-files", "-o", "-z", f"--exclude-per-directory={name}"]
        args += [f"--exclude={p}" for p in cli]
        files = {os.fsdecode(x) for x in self.git(*args).split(b"\0") if x}
        visible = set(files)
        for f in files:
            while "/" in f:
                f = f.rsplit("/", 1)[0]
                visible.add(f)
        for d, is_dir in sorted(self.all_paths().items()):
            if is_dir and d not in visible:
                out = self.git(*args, "--directory", "--", d)
                if os.fsencode(d) + b"/\0" in out:
                    visible.add(d)
        return visible


_GITDIR: list[str] = []


def _shared_gitdir() -> str:
    if not _GITDIR:
        gitdir = os.path.join(_HOME, "git")
        subprocess.run(["git", "init", "-q", "--bare", gitdir], check=True, env=GIT_ENV)
        subprocess.run(["git", "--git-dir", gitdir, "config", "core.bare", "false"],
                       check=True, env=GIT_ENV)
        _GITDIR.append(gitdir)
    return _GITDIR[0]


def listing(root: str) -> dict[str, bool]:
    """relpath -> is_dir for everything below root (files and directories)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for n in dirnames + filenames:
            p = n if rel == "." else f"{rel}/{n}"
            out[p] = n in dirnames
    return out


def ours(src: str, cli: list[str], ignore_names: tuple[str, ...]) -> set[str]:
    """What our walk keeps (the same walk the sync does, in-process)."""
    rules = Rules([PatternLine(p, "--exclude", i) for i, p in enumerate(cli, 1)], ignore_names)
    return {rel for rel, _is_dir, ex in walk(src, rules) if not ex}


def run_sync(src: str, dst: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([STEALSYNC, "sync", src, dst, "--no-progress", *args],
                          capture_output=True, text=True, errors="surrogateescape")


# --- Hypothesis: random trees and random pattern sets ---------------------------

NAMES = ["a", "b", "c", "ab", "ba", "x.log", "a.txt", ".h", "#c", "!b", "a b", "é", "[a]", "a-c"]
SEGMENTS = ["a", "b", "c", "ab", "*", "**", "?", "[a-c]", "[!a]", "a*", "*b", "*.log", "x.log",
            "?b", "[ab]*", "é", "?\x81", "\\!b", "\\#c", "a\\ b", "a**", "**a", "[[:alpha:]]", "*.*"]


@hs.composite
def trees(draw) -> dict[str, str]:
    tree: dict[str, str] = {}
    for parts in draw(hs.lists(hs.lists(hs.sampled_from(NAMES), min_size=1, max_size=3),
                               min_size=1, max_size=10)):
        for i in range(1, len(parts)):
            tree["/".join(parts[:i])] = "d"
        leaf = "/".join(parts)
        if tree.get(leaf) != "d":
            tree[leaf] = draw(hs.sampled_from("fd"))
    for rel in list(tree):  # a file cannot have children
        if "/" in rel:
            tree[rel.rsplit("/", 1)[0]] = "d"
    return tree


@hs.composite
def patterns(draw) -> str:
    segs = draw(hs.lists(hs.sampled_from(SEGMENTS), min_size=1, max_size=3))
    p = "/".join(segs)
    if draw(hs.booleans()):
        p = "/" + p
    if draw(hs.integers(0, 3)) == 0:
        p += "/"
    if draw(hs.integers(0, 3)) == 0:
        p = "!" + p
    tail = draw(hs.sampled_from(["", "", "", " ", "  ", "\\ "]))
    return p + tail


pattern_lists = hs.lists(patterns(), min_size=1, max_size=5)


@hs.composite
def scenarios(draw):
    tree = draw(trees())
    dirs = [""] + sorted(p for p, k in tree.items() if k == "d")
    chosen = draw(hs.lists(hs.sampled_from(dirs), min_size=1, max_size=3, unique=True))
    return tree, {d: draw(pattern_lists) for d in chosen}


def _valid(lines) -> bool:
    try:
        for p in lines:
            parse(PatternLine(p, "t", 1))
    except PatternError:
        return False
    return True


FAST = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(scenarios())
def test_ignore_files_match_git(scenario):
    tree, ignore = scenario
    if not all(_valid(v) for v in ignore.values()):
        return  # invalid lines: test_invalid_patterns_are_noops_in_git
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(tmp)
        repo.build(tree, ignore)
        assert ours(repo.src, [], (".gitignore",)) == repo.visible_by_check_ignore()


@FAST
@given(trees(), pattern_lists)
def test_command_line_patterns_match_git(tree, cli):
    if not _valid(cli):
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(tmp)
        repo.build(tree, {}, info_exclude=cli)
        assert ours(repo.src, cli, ()) == repo.visible_by_check_ignore()


def _no_trailing_space(lines):  # git's --exclude=P takes P verbatim, untrimmed
    return [p.rstrip(" ") if not p.endswith("\\ ") else p for p in lines]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenarios(), pattern_lists)
def test_command_line_beats_ignore_files_as_in_git(scenario, cli):
    tree, ignore = scenario
    cli = _no_trailing_space(cli)
    if not _valid(cli) or not all(_valid(v) for v in ignore.values()):
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(tmp)
        repo.build(tree, ignore)
        assert ours(repo.src, cli, (".gitignore",)) == repo.visible_by_ls_files(cli, ".gitignore")


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenarios(), pattern_lists, hs.booleans())
def test_sync_cli_matches_git(scenario, cli, pool):
    """The real command: DST holds exactly what git does not ignore."""
    tree, ignore = scenario
    cli = _no_trailing_space(cli)
    if not _valid(cli) or not all(_valid(v) for v in ignore.values()):
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(tmp)
        repo.build(tree, ignore)
        dst = os.path.join(tmp, "dst")
        extra = ["--pool-threshold", "0", "--workers", "2"] if pool else []
        r = run_sync(repo.src, dst, "--ignore-file", ".gitignore", *extra)
        assert r.returncode == 0, r.stderr
        assert set(listing(dst)) == repo.visible_by_check_ignore()
        dst2 = os.path.join(tmp, "dst2")
        r = run_sync(repo.src, dst2, "--ignore-file", ".gitignore", *extra,
                     *[f"--exclude={p}" for p in cli])
        assert r.returncode == 0, r.stderr
        assert set(listing(dst2)) == repo.visible_by_ls_files(cli, ".gitignore")


SOUP_TREE = {n: "f" for n in ["a", "b", "ab", "a b", "]", "[", "-", "!", "^", ":", "\\", "a]",
                              "[a", "ba", "b-", "*", "?", "x"]}
SOUP_TREE.update({"d": "d", "d/a": "f", "d/b": "d", "d/b/a": "f", "a-": "d", "a-/b": "f"})


@FAST
@given(hs.lists(hs.text(alphabet="ab*?[]!^-\\/: x", min_size=1, max_size=9), min_size=1,
                max_size=3))
def test_character_soup_matches_git(lines):
    """Raw random lines: brackets, escapes, ranges.  What we refuse must be a
    no-op for git; everything else must match git."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(tmp)
        valid = [p for p in lines if _valid([p])]
        repo.build(SOUP_TREE, {}, info_exclude=lines)
        expect = repo.visible_by_check_ignore()
        assert ours(repo.src, valid, ()) == expect


# --- fixed cases against git ------------------------------------------------------

TRICKY_TREE = {
    "ab": "d", "ab/b": "f", "ax": "d", "ax/y": "d", "ax/y/b": "d", "ax/y/b/f": "f",
    "a": "d", "a/b": "f", "a/x": "d", "a/x/b": "f", "a b": "f", "a ": "f", "a\\": "f",
    "#c": "f", "!b": "f", "x.log": "f", "dir": "d", "dir/x.log": "f", "dir/keep.log": "f",
    "node_modules": "d", "node_modules/m": "d", "node_modules/m/i.js": "f",
    "deep": "d", "deep/node_modules": "d", "deep/node_modules/k": "f",
    "é": "f", "éé": "f", "\udce9": "f", "[a]": "f", "a*": "f", "f\tt": "f", "f\x0bt": "f",
    "build": "d", "build/out": "f", "src": "d", "src/build": "f",
}
TRICKY_PATTERNS = [
    ["a**/b"], ["a/**/b"], ["a/**"], ["**/b"], ["/a/*"], ["*/b"], ["a/*/b"],
    ["a[!x]b"], ["a?b"], ["?"], ["??"], ["[]a]*"], ["[!]]*"], ["[a-]*"], ["[\\]]*"],
    ["[[:x]*"], ["[z-a]*", "[a-a]"], ["[[:space:]]*", "f[[:space:]]t"], ["f[[:cntrl:]]t"],
    ["a\\ "], ["a "], ["a\\\\"], ["\\#c"], ["#c"], ["\\!b"], ["!b"], ["*.log", "!keep.log"],
    ["*.log", "!dir/keep.log"], ["dir/", "!dir/keep.log"], ["dir", "!dir/"],
    ["node_modules/"], ["node_modules/**", "!node_modules/m/"], ["**/node_modules/**"],
    ["/build/"], ["build/"], ["build"], ["/build"], ["src/build/"], ["?"], ["é"], ["?"],
    ["??"], ["\udce9"], ["*\udce9"], ["[\udce9]*"], ["*"], ["**"], ["*/"], ["**/"],
    ["/**"], ["a*", "!a\\*"], ["***/b"], ["a/***"], ["x.log/"], ["*.log/"],
]


@pytest.mark.parametrize("pats", TRICKY_PATTERNS, ids=lambda p: "|".join(p))
def test_tricky_patterns_match_git(tmp_path, pats):
    for where in ("file", "cli"):
        repo = Repo(str(tmp_path / where))
        if where == "file":
            repo.build(TRICKY_TREE, {"": pats})
            mine = ours(repo.src, [], (".gitignore",))
        else:
            repo.build(TRICKY_TREE, {}, info_exclude=pats)
            mine = ours(repo.src, pats, ())
        assert mine == repo.visible_by_check_ignore(), (where, pats)


def test_character_classes_match_git(tmp_path):
    """Every [:class:] over every ASCII byte, and bytes >= 0x80 (a flat dir of
    one-character names)."""
    repo = Repo(str(tmp_path))
    tree = {f"f{chr(c)}": "f" for c in range(1, 128) if chr(c) not in "/."}
    tree.update({f"f{chr(0xDC00 + b)}": "f" for b in (0xE9, 0xFF)})  # raw bytes, not UTF-8
    classes = ["alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print",
               "punct", "space", "upper", "xdigit"]
    repo.build(tree, {}, info_exclude=[])
    for cls in classes:
        pats = [f"f[[:{cls}:]]"]
        with open(os.path.join(repo.gitdir, "info", "exclude"), "w") as f:
            f.write(pats[0] + "\n")
        assert ours(repo.src, pats, ()) == repo.visible_by_check_ignore(), cls


def test_nested_precedence_matches_git(tmp_path):
    tree = {"a": "d", "a/b": "d", "a/b/x.log": "f", "a/b/y.log": "f", "a/z.log": "f",
            "z.log": "f", "a/b/c": "d", "a/b/c/x.log": "f", "keep": "d", "keep/k.log": "f"}
    ignore = {"": ["*.log", "!keep/"], "a": ["!*.log", "b/y.log"], "a/b": ["!y.log"],
              "a/b/c": ["*"]}
    repo = Repo(str(tmp_path / "r"))
    repo.build(tree, ignore)
    expect = repo.visible_by_check_ignore()
    assert ours(repo.src, [], (".gitignore",)) == expect
    assert "a/b/y.log" in expect and "a/z.log" in expect and "z.log" not in expect
    cli = ["a/b/x.log", "!z.log"]
    assert ours(repo.src, cli, (".gitignore",)) == repo.visible_by_ls_files(cli, ".gitignore")


# --- plain data ----------------------------------------------------------------------

def _m(lines):
    return compile_lines([PatternLine(p, "t", i) for i, p in enumerate(lines, 1)])


def verdict(lines, path, is_dir=False):
    m = _m(lines)
    return None if m is None else m.verdict(path, is_dir)


@pytest.mark.parametrize("lines,path,is_dir,expected", [
    (["*.log"], "a/b.log", False, True),
    (["*.log"], "a/b.txt", False, None),
    (["*.log", "!keep.log"], "keep.log", False, False),
    (["!keep.log", "*.log"], "keep.log", False, True),
    (["build/"], "build", False, None),
    (["build/"], "x/build", True, True),
    (["/build"], "x/build", True, None),
    (["a/b"], "x/a/b", False, None),
    (["a/**/b"], "a/b", False, True),
    (["a/**/b"], "a/x/y/b", False, True),
    (["a**/b"], "ab", False, True),  # git splits off the literal prefix 'a'
    (["a*/b"], "ab", False, None),
    (["a?b"], "a/b", False, None),
    (["a[!x]b"], "a/b", False, None),  # a class never matches '/'
    (["?"], "é", False, None),  # bytes domain: "é" is two bytes
    (["??"], "é", False, True),
    (["foo  "], "foo", False, True),
    (["foo\\ "], "foo ", False, True),
    (["\\#x"], "#x", False, True),
    (["#x"], "#x", False, None),
    (["\\!x"], "!x", False, True),
    (["*", "!*/"], "d", True, False),
    (["**/"], "d", True, True),
    (["**/"], "f", False, None),
    (["x/", "x"], "x", False, True),
])
def test_matcher_on_plain_data(lines, path, is_dir, expected):
    assert verdict(lines, path, is_dir) is expected


def test_same_verdicts_whatever_the_shortcut():
    """Literal dicts, suffix dicts and the regexes must agree on order."""
    lines = ["x.log", "*.log", "!x.log", "*.lo?", "!*.log"]
    assert verdict(lines, "x.log") is False
    assert verdict(lines[:4], "x.log") is True  # '*.lo?' is later than '!x.log'
    assert verdict(lines[:3], "x.log") is False
    assert verdict(["!x.log", "*.log"], "x.log") is True


@pytest.mark.parametrize("pattern,message", [
    ("a\\", "trailing backslash"),
    ("a[b", "unclosed"),
    ("[[:nope:]]", "unknown character class"),
    ("!", "empty"),
    ("/", "empty"),
    ("!/", "empty"),
    ("a//b", "empty path segment"),
    ("a//", "empty path segment"),
    ("//a", "empty path segment"),
])
def test_invalid_patterns_name_source_and_line(pattern, message):
    with pytest.raises(PatternError) as ei:
        compile_lines([PatternLine("ok", "dir/.syncignore", 1),
                       PatternLine(pattern, "dir/.syncignore", 7)])
    assert message in str(ei.value)
    assert str(ei.value).startswith("dir/.syncignore:7: ")
    assert (ei.value.source, ei.value.line) == ("dir/.syncignore", 7)


def test_invalid_patterns_are_noops_in_git(tmp_path):
    """What we refuse, git silently never matches."""
    bad = ["a\\", "a[b", "[[:nope:]]", "!", "/", "!/", "a//b", "a//", "//a", "*[", "a/[!"]
    tree = {"a": "d", "a/b": "f", "a[b": "f", "ab": "f", "b": "f", "!": "f", "*[": "f"}
    repo = Repo(str(tmp_path))
    repo.build(tree, {"": bad})
    assert repo.visible_by_check_ignore() == set(repo.all_paths())


def test_pattern_files_read_as_git_reads_them(tmp_path):
    data = b"\xef\xbb\xbf*.log\r\nkeep\x0cme\n\n# c\n  \nx\\\n"
    lines = split_lines(data, "f")
    assert [(p.pattern, p.line) for p in lines] == [
        ("*.log", 1), ("keep\x0cme", 2), ("# c", 4), ("  ", 5), ("x\\", 6)]
    p = tmp_path / "ex"
    p.write_bytes(data)
    assert load_exclude_file(str(p)) == [PatternLine(x.pattern, str(p), x.line) for x in lines]


def test_blank_and_comment_lines_are_not_patterns():
    assert parse(PatternLine("# x", "t", 1)) is None
    assert parse(PatternLine("   ", "t", 1)) is None
    assert parse(PatternLine("", "t", 1)) is None
    assert parse(PatternLine(" #x", "t", 1)).literals == (" #x",)


# --- the chain, files on disk ----------------------------------------------------------

def _enter(tmp_path, make):
    d = tmp_path / "d"
    d.mkdir()
    make(d / ".syncignore")
    rules = Rules([], (".syncignore",))
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return rules.enter(rules.root, "d", fd, set(os.listdir(fd)))
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["directory", "dangling symlink", "symlink to a file", "fifo"])
def test_unreadable_ignore_file_is_an_error(tmp_path, kind):
    target = tmp_path / "real"
    target.write_text("*.log\n")
    makers = {
        "directory": lambda p: p.mkdir(),
        "dangling symlink": lambda p: p.symlink_to(tmp_path / "nowhere"),
        "symlink to a file": lambda p: p.symlink_to(target),
        "fifo": lambda p: os.mkfifo(p),
    }
    with pytest.raises(RuleFileError) as ei:
        _enter(tmp_path, makers[kind])
    assert ei.value.relpath == "d/.syncignore"


def test_chain_is_rebuilt_in_another_process(tmp_path):
    root = tmp_path / "s"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".syncignore").write_text("*.log\n")
    (root / "a" / "b" / ".syncignore").write_text("!x.log\n")
    rules = Rules([], (".syncignore",))
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        n0 = rules.enter(rules.root, "", root_fd, {".syncignore", "a"})
        fd = os.open("a/b", os.O_RDONLY | os.O_DIRECTORY, dir_fd=root_fd)
        n2 = rules.enter(rules.enter(n0, "a", root_fd, {"b"}), "a/b", fd, {".syncignore"})
        os.close(fd)
        assert n2.key == ("", "a/b")
        other = Rules([], (".syncignore",))
        rebuilt = other.node_for(n2.key, root_fd)
    finally:
        os.close(root_fd)
    assert rebuilt.key == n2.key and rebuilt.base == "a/b"
    for r, n in ((rules, n2), (other, rebuilt)):
        assert r.excluded(n, "a/b/x.log", False) is False
        assert r.excluded(n, "a/b/y.log", False) is True
    assert other.node_for(n2.key, -1) is rebuilt  # cached


def test_chain_that_cannot_be_rebuilt_is_a_rule_file_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".syncignore").write_text("x\n")
    rules = Rules([], (".syncignore",))
    root_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(RuleFileError) as ei:
            rules.node_for(("a", "a/gone"), root_fd)
    finally:
        os.close(root_fd)
    assert ei.value.relpath == "a/gone"


def test_node_is_shared_when_no_ignore_file(tmp_path):
    rules = Rules([], (".syncignore",))
    assert rules.enter(rules.root, "x", -1, {"a", "b"}) is rules.root
    assert Rules([], ()).active is False
    assert Rules([PatternLine("# only a comment", "--exclude", 1)], ()).active is True


# --- end to end: the real command ---------------------------------------------------

def _tree(root, spec: dict[str, str]):
    for rel, body in spec.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if body is None:
            os.makedirs(p, exist_ok=True)
        else:
            with open(p, "w") as f:
                f.write(body)


def test_unreadable_ignore_file_exits_23_and_deletes_nothing(tmp_path):
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"a/f": "1", "b/f": "2", "b/c/f": "3", ".syncignore": "*.tmp\n"})
    _tree(dst, {"old": "stale", "b/old": "stale", "b/c/old": "stale"})
    os.symlink("/nonexistent", os.path.join(src, "b", ".syncignore"))
    for extra in ([], ["--pool-threshold", "0", "--workers", "2"]):
        r = run_sync(src, dst, "--delete", *extra)
        assert r.returncode == 23, r.stderr
        assert "b/.syncignore" in r.stderr
        got = set(listing(dst))
        assert {"old", "b/old", "b/c/old", "a/f"} <= got  # no deletions at all
        assert "b/f" not in got and "b/c/f" not in got  # its rules are unknown: skipped


def test_ignore_file_that_is_a_directory_exits_23(tmp_path):
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"a/f": "1", "a/.syncignore/x": "not a pattern file"})
    _tree(dst, {"gone": "stale", "a/gone": "stale"})
    r = run_sync(src, dst, "--delete")
    assert r.returncode == 23 and "a/.syncignore" in r.stderr
    assert {"gone", "a/gone"} <= set(listing(dst))


def test_invalid_patterns_exit_1_naming_file_and_line(tmp_path):
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"f": "1"})
    r = run_sync(src, dst, "--exclude", "ok", "--exclude", "a[b")
    assert r.returncode == 1 and "--exclude:2: invalid pattern 'a[b'" in r.stderr
    ex = tmp_path / "ex"
    ex.write_text("# fine\n*.log\nx\\\n")
    r = run_sync(src, dst, f"--exclude-from={ex}")
    assert r.returncode == 1 and f"{ex}:3: invalid pattern" in r.stderr
    assert not os.path.exists(dst)


def test_invalid_pattern_in_ignore_file_exits_23_and_deletes_nothing(tmp_path):
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"f": "1", "sub/.syncignore": "ok\n\n[[:nope:]]\n", "sub/g": "2"})
    _tree(dst, {"stale": "x", "sub/stale": "x"})
    r = run_sync(src, dst, "--delete")
    assert r.returncode == 23
    assert "sub/.syncignore:3: invalid pattern" in r.stderr
    assert {"stale", "sub/stale"} <= set(listing(dst))


def test_excluded_directories_are_never_listed(tmp_path):
    """An excluded directory holds a broken ignore file: listing it would fail."""
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"keep/f": "1", "skip/f": "2", "deep/skip/f": "3"})
    for d in ("skip", "deep/skip"):
        os.symlink("/nonexistent", os.path.join(src, d, ".syncignore"))
    for extra in ([], ["--pool-threshold", "0", "--workers", "2"]):
        shutil.rmtree(dst, ignore_errors=True)
        r = run_sync(src, dst, "--exclude", "skip/", *extra)
        assert r.returncode == 0, r.stderr
        assert set(listing(dst)) == {"keep", "keep/f", "deep"}


def test_excluded_entries_are_never_stated(tmp_path, monkeypatch):
    """dirsync filters by name before any stat."""
    import engine.dirsync as dirsync
    from engine.coordinator import sync
    from engine.options import resolve

    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"a.log": "1", "b.txt": "2", "d/c.log": "3", "d/e.txt": "4", "skip/x": "5"})
    described = []
    real = dirsync.describe

    def spy(de, fd):
        described.append(de.name)
        return real(de, fd)

    opts = resolve({"src": src, "dst": dst, "workers": 1, "progress": False,
                    "excludes": [PatternLine("*.log", "--exclude", 1),
                                 PatternLine("skip", "--exclude", 2)]})
    assert sync(opts).exit_code == 0
    monkeypatch.setattr(dirsync, "describe", spy)
    assert sync(opts).exit_code == 0  # now every kept file has a DST twin to compare
    assert not {"a.log", "c.log", "skip", "x"} & set(described)
    assert {"b.txt", "e.txt", "d"} <= set(described)


def test_excluded_in_dst_left_alone_unless_delete_excluded(tmp_path):
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    _tree(src, {"f": "1", "x.log": "new", "cache/k": "1"})
    _tree(dst, {"x.log": "old", "cache/old": "o", "y.log": "o", "other": "o"})
    r = run_sync(src, dst, "--delete", "--exclude", "*.log", "--exclude", "cache/")
    assert r.returncode == 0, r.stderr
    got = set(listing(dst))
    assert {"x.log", "y.log", "cache", "cache/old", "f"} <= got and "other" not in got
    with open(os.path.join(dst, "x.log")) as f:
        assert f.read() == "old"
    r = run_sync(src, dst, "--delete-excluded", "--exclude", "*.log", "--exclude", "cache/")
    assert r.returncode == 0, r.stderr
    assert set(listing(dst)) == {"f"}
