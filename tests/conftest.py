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

IS_ROOT = os.geteuid() == 0
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
    return [sys.executable, "-m", "engine", "sync", os.fspath(src), os.fspath(dst),
            "--no-progress", *map(str, args)]


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


def settle_dirs(root) -> None:
    """Give every directory below (and including) root the fixed mtime."""
    for dirpath, _dirs, _files in os.walk(os.fsencode(root), topdown=False):
        os.utime(dirpath, ns=(T0, T0))


@pytest.fixture
def src(tmp_path) -> Path:
    p = tmp_path / "src"
    p.mkdir()
    return p


@pytest.fixture
def dst(tmp_path) -> Path:
    return tmp_path / "dst"
