"""Exclusion rules as a chain of immutable, parent-linked nodes.

Precedence (the one place it is written down): for a path, the rules are
asked from strongest to weakest and the first source with a matching pattern
decides (within one source, the last matching line wins, as in git):

1. command-line rules (``--exclude`` / ``--exclude-from``, in command-line
   order, later lines win),
2. the ignore files of the path's own directory, then of its parent, and so on
   up to the SRC root (a deeper file beats a shallower one; when several
   ``--ignore-file`` names are in one directory, they read as one file in the
   order the names were given).

A path no source matches is included.  A path inside an excluded directory is
never seen: excluded directories are not descended into, so "a file cannot be
re-included if a parent directory is excluded" holds by construction.

An ignore file must be a regular file: one that is a symlink (opened with
O_NOFOLLOW), a directory, a FIFO or unreadable is an error for its directory,
which is then skipped like an unlistable one: nothing in it is touched,
deletions are off for the rest of the run, exit 23.

Every source follows gitignore exactly (git is the judge, see
tests/test_rules.py): ``!`` negation, ``dir/`` matches directories only, a
leading or middle ``/`` anchors the pattern to the directory of its file (the
SRC root for the command line), otherwise the pattern matches the entry name
at any depth; ``*``, ``?``, ``[...]`` (with ``!``/``^``, ranges and
``[:class:]``) never match ``/``, ``**`` does at segment boundaries; ``\\``
escapes; unescaped trailing spaces are dropped; ``#`` starts a comment.
Matching is on the bytes of the names, as in git.  Patterns that git would
silently never match because they are malformed (a trailing ``\\``, an
unclosed ``[``, an unknown ``[:class:]``, an empty ``//`` segment, a bare
``!`` or ``/``) are errors naming the file and line: exit 1 before anything
is done for ``--exclude``/``--exclude-from``, an error for its directory (as
above) for an ignore file met during the walk.

Why not pathspec: its GitIgnoreSpec (1.1.1) differs from git on, e.g.,
``a[!x]b`` (its class matches the '/' of ``a/b``), ``a**/b`` (git matches
``ab``), ``[[:alpha:]]``, ``[\\]]``, ``***/b``, trailing tabs and ``?`` against
a multi-byte character; so patterns are translated here from git's
``wildmatch.c``/``dir.c`` rules, and the tests compare with git itself.

How matching is fast (pathspec would try one regex per pattern, in turn):
every list (one file, or the command line) is parsed and compiled once into
a :class:`Matcher`, separately for files and for directories (``dir/``
patterns only join the latter).  Patterns without wildcards go into dicts
(by entry name, or by path), ``*X`` patterns into dicts keyed by X's
extension, globs whose last segment pins the entry name into buckets tried
only for that name or extension, and the remaining globs into one regex per
first character whose alternatives are in reverse line order, each one
capturing group: the first alternative that matches is the last matching
line, and ``m.lastindex`` says which.  A line's *code* is ``2 * index +
excluded`` plus its source's rank (command line > deeper file > shallower
file), so the largest code found is the deciding line of the strongest
source that matches, and the verdict is ``code & 1``.  Each
:class:`RuleNode` merges its whole chain into one such structure without
compiling anything again, so a path costs one pass whatever the chain's
depth (perf/bench_patterns.py measures it).
"""

from __future__ import annotations

import errno
import os
import re
import stat as st
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


# --- reading pattern files ----------------------------------------------------

def split_lines(data: bytes, source: str) -> list[PatternLine]:
    """Lines of a pattern file as git reads them: a UTF-8 BOM is skipped, lines
    end at ``\\n`` only, and one ``\\r`` before it is dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", "surrogateescape")
    out = []
    for i, raw in enumerate(text.split("\n"), 1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        if raw:
            out.append(PatternLine(raw, source, i))
    return out


def load_exclude_file(path: str) -> list[PatternLine]:
    """The lines of an ``--exclude-from`` file (OSError if unreadable)."""
    with open(path, "rb") as f:
        return split_lines(f.read(), path)


def read_ignore_file(dir_fd: int, name: str, relpath: str) -> bytes:
    """Read one per-directory ignore file below ``dir_fd``.  It must be a
    regular file: a symlink (O_NOFOLLOW: ELOOP), a directory or a FIFO is an
    error for that directory, as is any read error."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if st.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            if not st.S_ISREG(mode):
                raise OSError(errno.EINVAL, "not a regular file")
            return f.read()
    except OSError as e:
        raise RuleFileError(relpath, e) from e


# --- one line: git's trim_trailing_spaces + parse_path_pattern ---------------

def to_bytes_domain(s: str) -> str:
    """A name as one character per byte (latin-1 of its bytes): git matches
    bytes, so ``?`` must match one byte of a multi-byte character."""
    return s if s.isascii() else s.encode("utf-8", "surrogateescape").decode("latin-1")


def from_bytes_domain(s: str) -> str:
    return s if s.isascii() else s.encode("latin-1").decode("utf-8", "surrogateescape")


class Pattern(NamedTuple):
    """One parsed pattern line (texts in the bytes domain)."""

    line: PatternLine
    negative: bool  # '!pattern': re-include
    dir_only: bool  # 'pattern/': directories only
    basename: bool  # no '/' inside: matches the entry name at any depth
    body: str  # without '!', the trailing '/' and (path patterns) the leading '/'
    regex: str  # fullmatch on the entry name (basename) or the path below the base
    literals: tuple[str, ...] | None  # all it matches, when few ('a', '[Mm]akefile')
    suffixes: tuple[str, ...] | None  # entry-name '*X' patterns: all X can be


_GLOB_SPECIAL = frozenset("*?[\\")


def _trim_trailing_spaces(s: str) -> str:
    last_space = None
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == " ":
            if last_space is None:
                last_space = i
        elif c == "\\":
            i += 1
            if i >= n:
                return s
            last_space = None
        else:
            last_space = None
        i += 1
    return s if last_space is None else s[:last_space]


def _simple_length(s: str) -> int:
    for i, c in enumerate(s):
        if c in _GLOB_SPECIAL:
            return i
    return len(s)


def expand(s: str, limit: int = 32) -> tuple[str, ...] | None:
    """Every string ``s`` matches, when it has no ``*``/``?`` and its
    bracket expressions allow at most ``limit`` combinations (``[Mm]akefile``
    is two names); None otherwise.  Only called on patterns that parsed."""
    if _simple_length(s) == len(s):
        return (s,)
    outs = [""]
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            chars, i = (s[i + 1],), i + 2
        elif c == "[":
            members, i = _bracket(s, i)
            chars = tuple(sorted(members))
        elif c in "*?":
            return None
        else:
            chars, i = (c,), i + 1
        if len(outs) * len(chars) > limit:
            return None
        outs = [o + ch for o in outs for ch in chars]
    return tuple(outs)


def parse(line: PatternLine) -> Pattern | None:
    """Parse one line; None for blank lines and comments.  Raises
    PatternError for malformed patterns (see the module docstring)."""
    raw = line.pattern
    if not raw or raw.startswith("#"):
        return None
    text = _trim_trailing_spaces(to_bytes_domain(raw).split("\x00", 1)[0])
    if not text:
        return None
    negative = text.startswith("!")
    if negative:
        text = text[1:]
    dir_only = text.endswith("/")
    if dir_only:
        text = text[:-1]
    basename = "/" not in text
    if not basename and text.startswith("/"):
        text = text[1:]
    if not basename and text.startswith("**/") and "/" not in text[3:]:
        text, basename = text[3:], True  # '**/name' is exactly 'name'
    try:
        if not text:
            raise ValueError("matches nothing (empty pattern)")
        if not basename and "" in text.split("/"):
            raise ValueError("matches nothing (empty path segment '//')")
        if basename:
            regex = translate(text, pathname=False)
        else:  # git compares the literal prefix, then wildmatches the rest
            k = _simple_length(text)
            regex = re.escape(text[:k]) + translate(text[k:], pathname=True)
    except ValueError as e:
        raise PatternError(line.source, line.line, raw, str(e)) from None
    literals, suffixes = expand(text), None
    if literals is None and basename and text[0] == "*" and text[1:2] not in ("", "*"):
        suffixes = expand(text[1:])
    return Pattern(line, negative, dir_only, basename, text, regex, literals, suffixes)


# --- wildmatch (git's wildmatch.c) as a Python regex ------------------------

_CLASSES = {
    "alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "alpha": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "blank": " \t",
    "cntrl": "".join(map(chr, range(1, 32))) + "\x7f",
    "digit": "0123456789",
    "graph": "".join(map(chr, range(0x21, 0x7F))),
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "print": "".join(map(chr, range(0x20, 0x7F))),
    "punct": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "space": " \t\n\r",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "xdigit": "0123456789ABCDEFabcdef",
}


def translate(p: str, pathname: bool) -> str:
    """Regex for git's ``wildmatch(p, text, WM_PATHNAME if pathname else 0)``
    (fullmatch).  Without WM_PATHNAME the text is one entry name (no '/').
    Raises ValueError for patterns git can never match."""
    out = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("trailing backslash escapes nothing")
            out.append(re.escape(p[i + 1]))
            i += 2
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "*":
            j = i + 1
            while j < n and p[j] == "*":
                j += 1
            # '**' spans directories only between segment boundaries; the
            # start of p counts as one (git splits off the literal prefix).
            if (pathname and j - i > 1 and (i == 0 or p[i - 1] == "/")
                    and (j == n or p[j] == "/" or p[j:j + 2] == "\\/")):
                if j == n:
                    out.append(".*")
                elif p[j] == "/":
                    out.append("(?:.*/)?")  # zero or more whole directories
                    j += 1
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
            i = j
        elif c == "[":
            members, i = _bracket(p, i)
            out.append(_char_class(members))
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _bracket(p: str, i: int) -> tuple[set[str], int]:
    """Parse the bracket expression at p[i] == '[' like wildmatch.c does;
    returns the set of characters it matches ('/' never) and the index after
    the closing ']'."""
    n = len(p)
    j = i + 1
    negated = j < n and p[j] in "!^"
    if negated:
        j += 1
    members: set[str] = set()
    prev: str | None = None
    while True:  # the first member may be ']' (do-while in wildmatch.c)
        if j >= n:
            raise ValueError("unclosed '[' character class")
        c = p[j]
        if c == "\\":
            j += 1
            if j >= n:
                raise ValueError("unclosed '[' character class")
            c = p[j]
            members.add(c)
        elif c == "-" and prev and j + 1 < n and p[j + 1] != "]":
            j += 1
            hi = p[j]
            if hi == "\\":
                j += 1
                if j >= n:
                    raise ValueError("unclosed '[' character class")
                hi = p[j]
            members.update(map(chr, range(ord(prev), ord(hi) + 1)))  # empty if reversed
            c = None
        elif c == "[" and j + 1 < n and p[j + 1] == ":":
            k = p.find("]", j + 2)
            if k < 0:
                raise ValueError("unclosed '[' character class")
            if k - (j + 2) - 1 < 0 or p[k - 1] != ":":
                members.add("[")  # no ':]': a plain '['
            else:
                name = p[j + 2:k - 1]
                if name not in _CLASSES:
                    raise ValueError(f"unknown character class [:{name}:]")
                members.update(_CLASSES[name])
                j = k
                c = None
        else:
            members.add(c)
        prev = c
        j += 1
        if j < n and p[j] == "]":
            break
    if negated:
        members = set(map(chr, range(1, 256))) - members
    members.discard("/")
    return members, j + 1


def _char_class(members: set[str]) -> str:
    if not members:
        return "(?!)"
    codes = sorted(map(ord, members))
    parts = []
    start = prev = codes[0]
    for c in codes[1:] + [-1]:
        if c == prev + 1:
            prev = c
            continue
        parts.append(f"\\x{start:02x}" if start == prev else f"\\x{start:02x}-\\x{prev:02x}")
        start = prev = c
    return "[" + "".join(parts) + "]"


# --- one compiled list --------------------------------------------------------

def _ext(s: str) -> str | None:
    """From the last '.' on (what every name ending in ``s`` shares), or None."""
    i = s.rfind(".")
    return None if i < 0 else s[i:]


def last_segment_key(body: str) -> tuple[str, tuple[str, ...]] | None:
    """For a path pattern, what the entry *name* of any match must be:
    ``("names", literals)`` or ``("suffixes", suffixes)``; None when
    unconstrained.  Only when the last '/' is a real segment boundary: in
    ``a**/x`` git's literal-prefix split lets ``**/`` match nothing mid-name
    (it matches "ax")."""
    i = body.rfind("/")
    head, last = body[:i], body[i + 1:]
    if "[" in head or "\\" in head:  # that '/' may sit inside '[^/]' or be escaped
        return None
    if head.endswith("**"):
        k = len(head.rstrip("*"))
        if k and head[k - 1] != "/":
            return None
    lits = expand(last)
    if lits is not None:
        return ("names", lits)
    if len(last) > 1 and last[0] == "*" and last[1] != "*":
        sfx = expand(last[1:])
        if sfx is not None and all(_ext(x) for x in sfx):
            return ("suffixes", sfx)
    return None


def _first_char(body: str) -> str | None:
    """The character every match must start with, if the pattern fixes it."""
    c = body[0]
    if c == "\\":
        return body[1]
    return None if c in _GLOB_SPECIAL else c


class _Local:
    """One list, one kind of entry (files or directories), compiled once:
    local codes (``2 * line_index + excluded``), paths relative to the list's
    directory.  Alternations are ``(fullmatch, codes)``: one regex trying the
    alternatives from the last line to the first, ``codes[m.lastindex]`` the
    code of the one that matched."""

    __slots__ = ("any", "names", "exts", "suffixes", "name_first", "name_re", "paths",
                 "path_by_name", "path_by_ext", "path_first", "path_re")

    def __init__(self, pats: list[tuple[int, Pattern]]):
        self.any = -1  # code of the last '*' / '**' entry-name pattern
        self.names: dict[str, int] = {}  # entry-name patterns without wildcards
        self.exts: dict[str, list] = {}  # '*X' by X's extension: [(X, code)]
        self.suffixes: dict[int, dict[str, int]] = {}  # other '*X', by len(X)
        self.paths: dict[str, int] = {}  # path patterns without wildcards
        self.path_by_name: dict = {}  # globs whose last segment fixes the name
        self.path_by_ext: dict[str, list] = {}  # ... or its '*X': [(X, code, fm)]
        name_alts: dict[str | None, list] = {}  # other globs by first character
        path_alts: dict[str | None, list] = {}
        by_name: dict[str, list] = {}
        for code, pat in pats:  # ascending codes: later lines overwrite
            body = pat.body
            if pat.basename:
                if body.strip("*") == "":
                    self.any = code
                elif pat.literals is not None:
                    self.names.update(dict.fromkeys(pat.literals, code))
                elif pat.suffixes is not None:
                    for sfx in pat.suffixes:
                        if _ext(sfx):
                            self.exts.setdefault(_ext(sfx), []).append((sfx, code))
                        else:
                            self.suffixes.setdefault(len(sfx), {})[sfx] = code
                else:
                    name_alts.setdefault(_first_char(body), []).append((code, pat.regex))
            elif pat.literals is not None:
                self.paths.update(dict.fromkeys(pat.literals, code))
            else:
                key = last_segment_key(body)
                if key is None:
                    path_alts.setdefault(_first_char(body), []).append((code, pat.regex))
                elif key[0] == "names":
                    for lit in key[1]:
                        by_name.setdefault(lit, []).append((code, pat.regex))
                else:
                    fm = re.compile(pat.regex, re.DOTALL).fullmatch
                    for sfx in key[1]:
                        self.path_by_ext.setdefault(_ext(sfx), []).append((sfx, code, fm))
        self.name_re = _alternation(name_alts.pop(None, []))
        self.name_first = {c: _alternation(v) for c, v in name_alts.items()}
        self.path_re = _alternation(path_alts.pop(None, []))
        self.path_first = {c: _alternation(v) for c, v in path_alts.items()}
        self.path_by_name = {n: _alternation(v) for n, v in by_name.items()}


def _alternation(alts: list[tuple[int, str]]):
    if not alts:
        return None
    alts = sorted(alts, reverse=True)
    rx = re.compile("|".join(f"({r})" for _, r in alts), re.DOTALL)
    return rx.fullmatch, (None,) + tuple(c for c, _ in alts)


def _shift(alt, add: int):
    return alt[0], (None,) + tuple(c + add for c in alt[1][1:])


class _Side:
    """One kind of entry for a whole chain (command line plus ignore files),
    merged from the lists' :class:`_Local` without compiling anything again:
    codes get the source's rank added (so the largest code is the strongest
    source's last matching line), literal paths get the list's directory
    prepended, and path regexes carry the offset of that directory.  Tuples
    of candidates are in descending code order: the first hit wins."""

    __slots__ = ("any", "names", "exts", "suffixes", "name_first", "name_re", "paths",
                 "path_by_name", "path_by_ext", "path_first", "path_re", "code")

    def __init__(self, parts: list[tuple[_Local, int, str, int]]):
        self.any = -1
        names: dict[str, int] = {}
        exts: dict[str, list] = {}
        by_len: dict[int, dict[str, int]] = {}
        name_first: dict[str, list] = {}
        name_re: list = []
        paths: dict[str, int] = {}
        by_name: dict[str, list] = {}
        by_ext: dict[str, list] = {}
        path_first: list = []
        path_re: list = []
        for loc, add, prefix, off in parts:  # weakest source first
            if loc.any >= 0:
                self.any = loc.any + add
            names.update({k: c + add for k, c in loc.names.items()})
            for e, lst in loc.exts.items():
                exts.setdefault(e, []).extend((sfx, c + add) for sfx, c in lst)
            for n, d in loc.suffixes.items():
                by_len.setdefault(n, {}).update({k: c + add for k, c in d.items()})
            for ch, alt in loc.name_first.items():
                name_first.setdefault(ch, []).append(_shift(alt, add))
            if loc.name_re is not None:
                name_re.append(_shift(loc.name_re, add))
            paths.update({prefix + k: c + add for k, c in loc.paths.items()})
            for n, alt in loc.path_by_name.items():
                by_name.setdefault(n, []).append((off, *_shift(alt, add)))
            for e, lst in loc.path_by_ext.items():
                by_ext.setdefault(e, []).extend((sfx, off, fm, c + add) for sfx, c, fm in lst)
            if loc.path_first:
                path_first.append((off, {ch: _shift(a, add) for ch, a in loc.path_first.items()}))
            if loc.path_re is not None:
                path_re.append((off, *_shift(loc.path_re, add)))
        self.names = names
        self.exts = {e: tuple(sorted(v, key=lambda t: -t[-1])) for e, v in exts.items()}
        self.suffixes = tuple(sorted(by_len.items()))
        self.name_first = {ch: tuple(v) for ch, v in name_first.items()}
        self.name_re = tuple(name_re)
        self.paths = paths
        self.path_by_name = {n: tuple(v) for n, v in by_name.items()}
        self.path_by_ext = {e: tuple(sorted(v, key=lambda t: -t[-1])) for e, v in by_ext.items()}
        self.path_first = tuple(path_first)
        self.path_re = tuple(path_re)
        self.code = self._make_code()

    def _make_code(self):
        """``code(path, name)``: the largest code of a line matching (-1:
        none); ``path`` is below SRC in the bytes domain, ``name`` its last
        component.  A closure over this side's tables: locals are cheaper
        than attribute loads on this hot path."""
        any_, names, exts, suffixes = self.any, self.names, self.exts, self.suffixes
        name_first, name_re, paths = self.name_first, self.name_re, self.paths
        by_ext, by_name = self.path_by_ext, self.path_by_name
        path_first, path_re = self.path_first, self.path_re
        exts_get, by_ext_get = exts.get, by_ext.get
        has_ext = bool(exts or by_ext)

        def code(path: str, name: str) -> int:
            best = any_
            c = names.get(name, -1)
            if c > best:
                best = c
            ext = None
            if has_ext:
                dot = name.rfind(".")
                if dot >= 0:
                    ext = name[dot:]
                    for sfx, c in exts_get(ext, ()):
                        if c <= best:
                            break
                        if name.endswith(sfx):
                            best = c
                            break
            for n, d in suffixes:
                c = d.get(name[-n:], -1)
                if c > best:
                    best = c
            if name_first:
                for fm, codes in name_first.get(name[0], ()):
                    m = fm(name)
                    if m is not None and codes[m.lastindex] > best:
                        best = codes[m.lastindex]
            for fm, codes in name_re:
                m = fm(name)
                if m is not None and codes[m.lastindex] > best:
                    best = codes[m.lastindex]
            if paths:
                c = paths.get(path, -1)
                if c > best:
                    best = c
            if ext is not None:
                for sfx, off, fm, c in by_ext_get(ext, ()):
                    if c <= best:
                        break
                    if name.endswith(sfx) and fm(path, off) is not None:
                        best = c
                        break
            if by_name:
                for off, fm, codes in by_name.get(name, ()):
                    m = fm(path, off)
                    if m is not None and codes[m.lastindex] > best:
                        best = codes[m.lastindex]
            for off, first in path_first:
                alt = first.get(path[off])
                if alt is not None:
                    m = alt[0](path, off)
                    if m is not None and alt[1][m.lastindex] > best:
                        best = alt[1][m.lastindex]
            for off, fm, codes in path_re:
                m = fm(path, off)
                if m is not None and codes[m.lastindex] > best:
                    best = codes[m.lastindex]
            return best

        return code


class _Flat:
    """A whole chain, merged: one lookup per path whatever the chain's depth."""

    __slots__ = ("file", "dir")

    def __init__(self, parts: list[tuple[Matcher, int, str]]):
        spec = []
        for matcher, add, base in parts:
            b = to_bytes_domain(base)
            spec.append((matcher, add, b + "/" if b else "", len(b) + 1 if b else 0))
        self.file = _Side([(m.file, add, pre, off) for m, add, pre, off in spec])
        self.dir = _Side([(m.dir, add, pre, off) for m, add, pre, off in spec])


class Matcher:
    """One list of patterns (one file or the command line), compiled."""

    __slots__ = ("patterns", "file", "dir", "_flat")

    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns
        coded = [(2 * i + (not p.negative), p) for i, p in enumerate(patterns)]
        self.file = _Local([cp for cp in coded if not cp[1].dir_only])
        self.dir = _Local(coded)
        self._flat: _Flat | None = None

    def code(self, relpath: str, is_dir: bool) -> int:
        """``2 * index + excluded`` of the last line matching ``relpath``
        (relative to the list's directory), -1 when none does."""
        if self._flat is None:
            self._flat = _Flat([(self, 0, "")])
        path = to_bytes_domain(relpath)
        side = self._flat.dir if is_dir else self._flat.file
        return side.code(path, path[path.rfind("/") + 1:])

    def verdict(self, relpath: str, is_dir: bool) -> bool | None:
        """True: excluded, False: re-included, None: no line matches."""
        c = self.code(relpath, is_dir)
        return None if c < 0 else bool(c & 1)


def compile_lines(lines: list[PatternLine]) -> Matcher | None:
    """Compile one list; None when it holds no pattern.  PatternError names
    the file and line of the first malformed pattern."""
    pats = [p for p in map(parse, lines) if p is not None]
    return Matcher(pats) if pats else None


# --- the chain ------------------------------------------------------------------

_RANK = 1 << 24  # codes of a stronger source are above any code of a weaker one
_CLI_RANK = _RANK << 20


class RuleNode:
    """One directory's ignore rules plus a link to the parent's chain.
    ``flat`` is the whole chain (with the command line) merged for matching."""

    __slots__ = ("parent", "base", "matcher", "key", "parts", "flat")

    def __init__(self, parent: RuleNode | None, base: str, matcher: Matcher | None,
                 key: tuple[str, ...], cli: Matcher | None = None):
        self.parent = parent
        self.base = base  # relpath of the directory holding the ignore file
        self.matcher = matcher  # None only for the root sentinel
        self.key = key
        if parent is None:
            self.parts = [(cli, _CLI_RANK, "")] if cli is not None else []
        else:
            self.parts = parent.parts + [(matcher, _RANK * len(key), base)]
        self.flat = _Flat(sorted(self.parts, key=lambda p: p[1])) if self.parts else None


class Rules:
    """Process-wide exclusion configuration and a cache of rule nodes."""

    def __init__(self, cli: list[PatternLine], ignore_files: tuple[str, ...] = ()):
        self.cli_lines = list(cli)
        self.cli = compile_lines(self.cli_lines)
        self.ignore_files = tuple(dict.fromkeys(ignore_files))
        self.active = bool(self.cli_lines) or bool(self.ignore_files)
        self.root = RuleNode(None, "", None, (), self.cli)
        self._cache: dict[tuple[str, ...], RuleNode] = {(): self.root}
        self._compiled: dict[tuple[str, ...], Matcher | None] = {}

    def applies(self, node: RuleNode) -> bool:
        """Whether any rule is in force for ``node``'s entries: lets the walk
        skip matching entirely in trees with nothing to exclude."""
        return node.flat is not None

    def excluded(self, node: RuleNode, relpath: str, is_dir: bool) -> bool:
        flat = node.flat
        if flat is None:
            return False
        if not relpath.isascii():
            relpath = relpath.encode("utf-8", "surrogateescape").decode("latin-1")
        side = flat.dir if is_dir else flat.file
        c = side.code(relpath, relpath[relpath.rfind("/") + 1:])
        return c & 1 == 1 and c > 0  # -1: nothing matched

    def deciding(self, node: RuleNode, relpath: str, is_dir: bool
                 ) -> tuple[Matcher, str, int] | None:
        """Which line decides for ``relpath``: ``(list, its directory, index
        into list.patterns)``, or None when no line matches."""
        if node.flat is None:
            return None
        path = to_bytes_domain(relpath)
        side = node.flat.dir if is_dir else node.flat.file
        c = side.code(path, path[path.rfind("/") + 1:])
        if c < 0:
            return None
        for matcher, add, base in node.parts:
            if add == c - c % _RANK:
                return matcher, base, (c - add) >> 1
        raise AssertionError("a code from no source")

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
            lines.extend(split_lines(read_ignore_file(dir_fd, fname, src), src))
        matcher = self._compile(lines)
        child = node if matcher is None else RuleNode(node, relpath, matcher, key)
        self._cache[key] = child
        return child

    def _compile(self, lines: list[PatternLine]) -> Matcher | None:
        """Compiled matchers are cached by content: monorepos repeat files."""
        k = tuple(p.pattern for p in lines)
        if k not in self._compiled:
            self._compiled[k] = compile_lines(lines)
        return self._compiled[k]

    def node_for(self, key: tuple[str, ...], src_root: int) -> RuleNode:
        """Rebuild a chain handed over from another process (by its key).
        Raises RuleFileError (or PatternError) when a directory or ignore file
        on the way cannot be read any more."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        from .walk import open_dir

        parent = self.node_for(key[:-1], src_root)
        relpath = key[-1]
        try:  # the directory changed since another process read it: its error
            fd = open_dir(src_root, relpath)
        except OSError as e:
            raise RuleFileError(relpath, e) from e
        try:
            node = self.enter(parent, relpath, fd, set(os.listdir(fd)))
        except OSError as e:
            raise RuleFileError(relpath, e) from e
        finally:
            os.close(fd)
        self._cache[key] = node
        return node
