"""Exclusion rules as a chain of immutable, parent-linked nodes.

Precedence (the one place it is written down): for a path, the rules are
asked from strongest to weakest and the first source with a matching pattern
decides (within one source, the last matching line wins, as in git):

1. command-line rules (``--exclude`` / ``--exclude-from``, in command-line
   order, later lines win),
2. the ignore files of the path's own directory, then of its parent, and so on
   up to the SRC root (a deeper file beats a shallower one).

A path inside an excluded directory is never seen: excluded directories are
not descended into, so "a file cannot be re-included if a parent directory is
excluded" holds by construction.
"""

from __future__ import annotations

import os
from typing import NamedTuple


class PatternError(Exception):
    def __init__(self, source: str, line: int, pattern: str, message: str):
        super().__init__(f"{source}:{line}: invalid pattern {pattern!r}: {message}")
        self.source, self.line, self.pattern = source, line, pattern


class RuleFileError(Exception):
    def __init__(self, relpath: str, exc: OSError):
        super().__init__(f"cannot read ignore file {relpath!r}: {exc.strerror}")
        self.relpath = relpath
        self.exc = exc


class PatternLine(NamedTuple):
    pattern: str
    source: str  # '--exclude', a file name, or an ignore file's relpath
    line: int


def _compile(lines: list[PatternLine]):
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines([p.pattern for p in lines])
    except Exception as e:  # pathspec raises several types for bad patterns
        for p in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([p.pattern])
            except Exception as e2:
                raise PatternError(p.source, p.line, p.pattern, str(e2)) from e2
        raise PatternError(lines[0].source, lines[0].line, lines[0].pattern, str(e)) from e


class RuleNode:
    """One directory's ignore rules plus a link to the parent's chain."""

    __slots__ = ("parent", "base", "spec", "key")

    def __init__(self, parent: RuleNode | None, base: str, spec, key: tuple[str, ...]):
        self.parent = parent
        self.base = base  # relpath of the directory holding the ignore file
        self.spec = spec
        self.key = key

    def verdict(self, relpath: str, is_dir: bool) -> bool | None:
        node = self
        while node is not None:
            if node.spec is not None:
                rel = relpath[len(node.base) + 1:] if node.base else relpath
                res = node.spec.check_file(rel + "/" if is_dir else rel)
                if res.include is not None:
                    return res.include
            node = node.parent
        return None


class Rules:
    """Process-wide exclusion configuration and a cache of rule nodes."""

    def __init__(self, cli: list[PatternLine], ignore_files: tuple[str, ...] = ()):
        self.cli_lines = cli
        self.cli_spec = _compile(cli) if cli else None
        self.ignore_files = tuple(ignore_files)
        self.active = bool(cli) or bool(ignore_files)
        self.root = RuleNode(None, "", None, ())
        self._cache: dict[tuple[str, ...], RuleNode] = {(): self.root}

    def excluded(self, node: RuleNode, relpath: str, is_dir: bool) -> bool:
        if self.cli_spec is not None:
            res = self.cli_spec.check_file(relpath + "/" if is_dir else relpath)
            if res.include is not None:
                return res.include
        if node.spec is None and node.parent is None:
            return False
        return bool(node.verdict(relpath, is_dir))

    def enter(self, node: RuleNode, relpath: str, dir_fd: int, names) -> RuleNode:
        """The chain for a directory's children: ``node`` plus this
        directory's own ignore files when it has any (``names``: its entries)."""
        if not self.ignore_files:
            return node
        present = [f for f in self.ignore_files if f in names]
        if not present:
            return node
        key = node.key + (relpath,)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        lines: list[PatternLine] = []
        for fname in present:
            src = f"{relpath}/{fname}" if relpath else fname
            try:
                fd = os.open(fname, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
                with os.fdopen(fd, "rb") as f:
                    data = f.read()
            except OSError as e:
                raise RuleFileError(src, e) from e
            for i, raw in enumerate(data.decode("utf-8", "surrogateescape").splitlines(), 1):
                lines.append(PatternLine(raw, src, i))
        child = RuleNode(node, relpath, _compile(lines) if lines else None, key)
        self._cache[key] = child
        return child

    def node_for(self, key: tuple[str, ...], src_root: int) -> RuleNode:
        """Rebuild a chain handed over from another process (by its key)."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        from .walk import open_dir

        parent = self.node_for(key[:-1], src_root)
        relpath = key[-1]
        fd = open_dir(src_root, relpath)
        try:
            names = set(os.listdir(fd))
            return self.enter(parent, relpath, fd, names)
        finally:
            os.close(fd)


def load_exclude_file(path: str) -> list[PatternLine]:
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "surrogateescape")
    return [PatternLine(line, path, i) for i, line in enumerate(data.splitlines(), 1)]
