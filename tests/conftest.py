"""Shared helpers for the sync and engine tests: run the real CLI as a
subprocess, build small trees from plain data, generate big ones with
scripts/mktree.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

T0 = 1_600_000_000_123_456_789  # a fixed mtime (ns) for hand-built trees
SYNC_TIMEOUT = 120


class Run:
    """A finished CLI run: exit code, stdout lines (itemize), stderr text."""

    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", "surrogateescape")
        self.err = proc.stderr.decode("utf-8", "surrogateescape")

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def json(self) -> dict:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Run(code={self.code}, out={self.out[:2000]!r}, err={self.err[:2000]!r})"


def sync_cmd(src, dst, *args) -> list[str]:
    # stderr is a pipe, so no progress bar unless a test asks for one
    return [sys.executable, "-m", "engine", "sync", os.fspath(src), os.fspath(dst),
            *map(str, args)]


def run_sync(src, dst, *args, timeout: float = SYNC_TIMEOUT) -> Run:
    """Run ``stealsync sync SRC DST ARGS`` and wait (with a timeout guard)."""
    proc = subprocess.run(sync_cmd(src, dst, *args), capture_output=True, timeout=timeout,
                          cwd=REPO)
    return Run(proc)


def start_sync(src, dst, *args, **kw) -> subprocess.Popen:
    """Start a run in its own process group (so a test can signal or kill it)."""
    return subprocess.Popen(sync_cmd(src, dst, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, start_new_session=True, **kw)


def ok(run: Run) -> Run:
    assert run.code == 0, run
    return run


# --- building trees ------------------------------------------------------------

def put(path, data: bytes = b"x", mode: int = 0o644, mtime_ns: int = T0) -> None:
    """Create or overwrite a regular file with exact bytes, mode and mtime."""
    path = os.fsencode(path)
    os.makedirs(os.path.dirname(path) or b".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def link(path, target, mtime_ns: int = T0) -> None:
    path = os.fsencode(path)
    os.makedirs(os.path.dirname(path) or b".", exist_ok=True)
    os.symlink(target, path)
    os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def mkdir(path, mode: int = 0o755, mtime_ns: int | None = T0) -> None:
    path = os.fsencode(path)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def build(root, spec: dict) -> None:
    """Build a tree from ``{relpath: content}``: bytes -> file, dict -> dir
    (its own spec), ``('link', target)`` -> symlink.  Directory mtimes are
    set last, deepest first, so they are what the spec says."""
    root = os.fsencode(root)
    os.makedirs(root, exist_ok=True)
    for name, v in spec.items():
        p = os.path.join(root, os.fsencode(name))
        if isinstance(v, dict):
            os.makedirs(p, exist_ok=True)
            build(p, v)
        elif isinstance(v, tuple):
            link(p, v[1])
        else:
            put(p, v)
    os.utime(root, ns=(T0, T0))


FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10


def set_immutable(path, on: bool) -> None:
    """chattr +i / -i without e2fsprogs (root: CAP_LINUX_IMMUTABLE).  A real
    failure that root cannot bypass: no write, rename or unlink in it."""
    import array
    import fcntl

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] = flags[0] | FS_IMMUTABLE_FL if on else flags[0] & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags, True)
    finally:
        os.close(fd)


@pytest.fixture
def src(tmp_path) -> Path:
    p = tmp_path / "src"
    p.mkdir()
    return p


@pytest.fixture
def dst(tmp_path) -> Path:
    return tmp_path / "dst"


# --- random trees for property tests ---------------------------------------------------

from hypothesis import strategies as hs  # noqa: E402

# A small pool of names, so that two random trees share many names (pairs,
# updates and type changes) and odd bytes are common.
NAME_POOL = [b"a", b"b", b"c.txt", b"line\nbreak", b"back\\slash", b"\xff\xfe", b"caf\xc3\xa9",
             b" sp", b"-x", b".hidden", b"n" * 255, b"\x01"]
FILE_MODES = [0o644, 0o600, 0o755, 0o000, 0o444, 0o4755, 0o2750, 0o1777]
DIR_MODES = [0o755, 0o700, 0o555, 0o000, 0o2775, 0o1777]
MTIMES = hs.integers(min_value=-(2**31) * 10**9, max_value=4_000_000_000 * 10**9)

file_node = hs.tuples(hs.just("file"), hs.binary(max_size=300), hs.sampled_from(FILE_MODES),
                      MTIMES)
link_node = hs.tuples(hs.just("link"), hs.sampled_from([b"a", b"../b", b"/nowhere", b"\xff",
                                                        b"x" * 200]), MTIMES)
fifo_node = hs.tuples(hs.just("fifo"), hs.sampled_from([0o644, 0o600]), MTIMES)


def _dir_of(children):
    return hs.tuples(hs.just("dir"), hs.dictionaries(hs.sampled_from(NAME_POOL), children,
                                                     max_size=6),
                     hs.sampled_from(DIR_MODES), MTIMES)


leaf_node = hs.one_of(file_node, file_node, link_node, fifo_node)
tree_node = hs.recursive(leaf_node, _dir_of, max_leaves=25)
trees = hs.dictionaries(hs.sampled_from(NAME_POOL), tree_node, max_size=8)


@hs.composite
def tree_pairs(draw):
    """(A, B): a random tree and a mutation of it (kept, changed content,
    mode or mtime, replaced, deleted, and added entries)."""
    a = draw(trees)
    return a, draw(_mutated(a))


@hs.composite
def _mutated(draw, tree: dict):
    out = {}
    for name, node in tree.items():
        how = draw(hs.sampled_from(["keep", "keep", "keep", "content", "mode", "mtime",
                                    "replace", "delete"]))
        if how == "delete":
            continue
        if how == "replace":
            out[name] = draw(tree_node)
        elif node[0] == "dir":
            kids = draw(_mutated(node[1]))
            mode = draw(hs.sampled_from(DIR_MODES)) if how == "mode" else node[2]
            mtime = draw(MTIMES) if how == "mtime" else node[3]
            out[name] = ("dir", kids, mode, mtime)
        elif how == "content" and node[0] == "file":
            # a real write moves the mtime: same size + same mtime is the
            # quick check's blind spot (only -c sees it)
            out[name] = ("file", draw(hs.binary(max_size=300)), node[2], node[3] + 10**9 + 1)
        elif how == "mode" and node[0] != "link":
            out[name] = node[:-2] + (draw(hs.sampled_from(FILE_MODES if node[0] == "file"
                                                          else [0o640])), node[-1])
        elif how == "mtime":
            out[name] = node[:-1] + (draw(MTIMES),)
        else:
            out[name] = node
    for name in draw(hs.lists(hs.sampled_from(NAME_POOL), max_size=3)):
        if name not in out:
            out[name] = draw(tree_node)
    return out


def write_tree(root, tree: dict, root_mtime: int = T0) -> None:
    """Materialize a tree from the strategies above into an empty ``root``."""
    root = os.fsencode(root)
    os.makedirs(root, exist_ok=True)
    _write_children(root, tree)
    os.chmod(root, 0o755)
    os.utime(root, ns=(root_mtime, root_mtime))


def _write_children(parent: bytes, tree: dict) -> None:
    for name, node in tree.items():
        p = os.path.join(parent, name)
        kind = node[0]
        if kind == "file":
            put(p, node[1], node[2], node[3])
        elif kind == "link":
            link(p, node[1], node[2])
        elif kind == "fifo":
            os.mkfifo(p, node[1])
            os.chmod(p, node[1])
            os.utime(p, ns=(node[2], node[2]))
        else:
            os.mkdir(p)
            _write_children(p, node[1])
            os.chmod(p, node[2])
            os.utime(p, ns=(node[3], node[3]))


def wipe(root) -> None:
    """Remove a tree, whatever its modes (root ignores them anyway)."""
    import shutil

    if os.path.lexists(root):
        shutil.rmtree(root)
