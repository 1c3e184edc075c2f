"""``stealsync patterns``: which exclusion patterns are redundant, and what the
exclusions save on a tree.

    stealsync patterns --exclude 'node_modules/' --exclude 'node_modules/**' \\
        --exclude-from ignore.txt [--ignore-file NAME] [--tree SRC] [--json]

:func:`optimize` (also used by the run report) takes one ordered pattern
list, as the command line gives it, and returns an optimized list with every
removal explained.  Two kinds of removals:

* ``scope: "always"`` - provably redundant on any tree (static reasoning,
  conservative: when in doubt, a line stays): exact or semantic duplicates
  (``**/*.log`` next to ``*.log``), lines shadowed by a later line matching a
  superset (it always decides instead), lines already decided the same way by
  an earlier line with nothing in between that could flip it, lines whose
  every match lies inside a directory the list excludes (``node_modules/**``
  under ``node_modules/``; also negations that can never re-include: a file
  cannot be re-included if a parent directory is excluded), negations with
  nothing before them to re-include (only without per-directory ignore files,
  which they would otherwise override), and consolidations of adjacent
  entry-name patterns differing in one character (``*.pyc *.pyo`` ->
  ``*.py[co]``).
* ``scope: "tree"`` - with ``--tree``: lines that never decide anything there
  (most often: match nothing there).  Removing every such line at once
  changes no verdict the walk asks for, so the walk and its verdicts stay the
  same.

With ``--tree`` the command walks the tree exactly as sync does (per-directory
ignore files read as it goes, excluded directories never entered), also
analyses each ignore file found, then checks the optimized set by walking
again with it and comparing every visited entry and its verdict
(``equivalent``); if that ever failed, it would fall back to the static
removals, then to the original set.  It also counts what exclusion saves:
entries never visited (inside excluded directories), and the time of a full
walk against the pruned one, both measured.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import time
from collections.abc import Iterator

from .rules import (
    Matcher,
    Pattern,
    PatternError,
    PatternLine,
    RuleFileError,
    Rules,
    compile_lines,
    expand,
    from_bytes_domain,
    last_segment_key,
    parse,
    translate,
)
from .walk import O_DIR

# --- the walk sync does ------------------------------------------------------------

def walk(root: str, rules: Rules) -> Iterator[tuple[str, bool, bool]]:
    """Every entry the sync would look at, as ``(relpath, is_dir, excluded)``:
    the same walk as sync (ignore files read per directory, excluded
    directories never opened), depth first in name order.  Raises
    RuleFileError / PatternError as the engine meets them."""
    for rel, is_dir, ex, _node in _walk(root, rules):
        yield rel, is_dir, ex


def _walk(root: str, rules: Rules):
    fd = os.open(root, O_DIR & ~os.O_NOFOLLOW)
    yield from _walk_dir(fd, "", rules.root, rules)


def _walk_dir(fd: int, relpath: str, node, rules: Rules):
    try:
        with os.scandir(fd) as it:
            entries = sorted((de.name, de.is_dir(follow_symlinks=False)) for de in it)
        node = rules.enter(node, relpath, fd, {n for n, _ in entries})
        subdirs = []
        for name, is_dir in entries:
            rel = f"{relpath}/{name}" if relpath else name
            ex = rules.active and rules.excluded(node, rel, is_dir)
            yield rel, is_dir, ex, node
            if is_dir and not ex:
                subdirs.append((name, rel))
        for name, rel in subdirs:
            try:
                child = os.open(name, O_DIR, dir_fd=fd)
            except OSError:
                continue  # sync reports it; the analysis just skips it
            yield from _walk_dir(child, rel, node, rules)
    finally:
        os.close(fd)


class _Rules(Rules):
    """Rules for the analysis: ignore files compiled per file (no sharing by
    content, so every line keeps its own file and line number), optionally
    with some files' lines replaced (``overrides``: source -> lines)."""

    def __init__(self, cli, ignore_files, overrides=None):
        super().__init__(cli, ignore_files)
        self.overrides = overrides or {}
        self.lists: dict[str, Matcher] = {}  # ignore file relpath -> its list

    def _compile(self, lines):
        out: list[PatternLine] = []
        for src in dict.fromkeys(p.source for p in lines):
            own = [p for p in lines if p.source == src]
            out.extend(self.overrides.get(src, own))
        matcher = compile_lines(out)
        if matcher is not None:
            for p in matcher.patterns:
                self.lists.setdefault(p.line.source, matcher)
        return matcher


# --- static reasoning on one list ---------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _rx(regex: str):
    return re.compile(regex, re.DOTALL).fullmatch


def _fm(p: Pattern, s: str) -> bool:
    return _rx(p.regex)(s) is not None


def _where(p: Pattern) -> str:
    return f"{p.line.source}:{p.line.line}"


def _text(p: Pattern) -> str:
    return p.line.pattern.rstrip(" ") if not p.line.pattern.endswith("\\ ") else p.line.pattern


def _universal(p: Pattern) -> bool:
    return p.basename and p.body.strip("*") == ""


def _same(a: Pattern, b: Pattern) -> bool:
    return (a.negative, a.dir_only, a.basename, a.regex) == (b.negative, b.dir_only, b.basename,
                                                             b.regex)


def _segments(body: str) -> list[str] | None:
    """Path segments, when '/' certainly separates them ('**' whole only)."""
    if "[" in body or "\\" in body:
        return None
    segs = body.split("/")
    if any("**" in s and s != "**" for s in segs):
        return None
    return segs


def _seg_covers(x: str, y: str) -> bool:
    """Segment glob x matches every name segment glob y matches."""
    if x == y or x == "*":
        return True
    lits = expand(y)
    if lits is None:
        return False
    fm = _rx(translate(x, pathname=True))
    return all(fm(lit) for lit in lits)


def _prefixes(p: Pattern) -> tuple[str, ...] | None:
    """Entry-name ``X*`` patterns: all X can be."""
    if p.basename and p.body.endswith("*") and not p.body.endswith("**"):
        return expand(p.body[:-1])
    return None


def _covers(b: Pattern, a: Pattern) -> bool:
    """Every entry ``a`` matches, ``b`` matches too (conservative)."""
    if b.dir_only and not a.dir_only:
        return False
    if (a.basename, a.regex) == (b.basename, b.regex) or _universal(b):
        return True
    if a.basename and b.basename:
        if a.literals is not None:
            return all(_fm(b, x) for x in a.literals)
        if a.suffixes is not None and b.suffixes is not None:
            return all(any(x.endswith(y) for y in b.suffixes) for x in a.suffixes)
        pa, pb = _prefixes(a), _prefixes(b)
        return bool(pa and pb) and all(any(x.startswith(y) for y in pb) for x in pa)
    if a.basename:
        return False  # b is anchored: a matches at any depth
    if a.literals is not None and not b.basename:
        return all(_fm(b, x) for x in a.literals)
    if b.basename:  # every match of a must have a name b matches
        if a.literals is not None:
            return all(_fm(b, x.rsplit("/", 1)[-1]) for x in a.literals)
        key = last_segment_key(a.body)
        if key is None:
            return False
        if key[0] == "names":
            return all(_fm(b, x) for x in key[1])
        return b.suffixes is not None and all(
            any(x.endswith(y) for y in b.suffixes) for x in key[1])
    sa, sb = _segments(a.body), _segments(b.body)
    if sa is None or sb is None:
        return False
    if "**" not in sa and "**" not in sb and len(sa) == len(sb):
        return all(_seg_covers(x, y) for x, y in zip(sb, sa, strict=True))
    head = sb[:-1]
    if sb[-1] == "**" and "**" not in head and len(sa) > len(head) and "**" not in sa[:len(head)]:
        return all(_seg_covers(x, y) for x, y in zip(head, sa, strict=False))  # b: 'P/**'
    return False


def _name_hits(n: Pattern, p: Pattern) -> bool | None:
    """Could basename pattern n match the name of something path pattern p
    matches?  False only when certainly not."""
    if p.literals is not None:
        return any(_fm(n, x.rsplit("/", 1)[-1]) for x in p.literals)
    key = last_segment_key(p.body)
    if key is None:
        return None
    if n.literals is not None:
        if key[0] == "names":
            return bool(set(key[1]) & set(n.literals))
        return any(x.endswith(v) for x in n.literals for v in key[1])
    if key[0] == "names":
        return any(_fm(n, v) for v in key[1])
    return None


def _disjoint(x: Pattern, y: Pattern) -> bool:
    """No entry matches both (conservative: False when unsure)."""
    if _universal(x) or _universal(y):
        return False
    if x.basename == y.basename:
        if x.literals is not None and y.literals is not None:
            return not set(x.literals) & set(y.literals)
        if x.literals is not None:
            return not any(_fm(y, s) for s in x.literals)
        if y.literals is not None:
            return not any(_fm(x, s) for s in y.literals)
        if x.basename and x.suffixes is not None and y.suffixes is not None:
            return not any(a.endswith(b) or b.endswith(a) for a in x.suffixes for b in y.suffixes)
        return False
    n, p = (x, y) if x.basename else (y, x)
    return _name_hits(n, p) is False


def _list_matcher(pats: list[Pattern]) -> Matcher | None:
    return compile_lines([p.line for p in pats])


def _decider(pats: list[Pattern], relpath_bd: str, is_dir: bool) -> Pattern | None:
    m = _list_matcher(pats)
    if m is None:
        return None
    c = m.code(from_bytes_domain(relpath_bd), is_dir)
    return None if c < 0 else m.patterns[c >> 1]


def _name_always_excluded(name: str, pats: list[Pattern]) -> Pattern | None:
    """The line excluding every directory called ``name``, at any depth,
    whatever its path; None when that is not certain."""
    for p in reversed(pats):
        if p.basename:
            if _fm(p, name):
                return None if p.negative else p
            continue
        key = last_segment_key(p.body)
        if key is not None and (
                (key[0] == "names" and name not in key[1])
                or (key[0] == "suffixes" and not any(name.endswith(v) for v in key[1]))):
            continue
        if p.negative:
            return None  # might re-include some of them
    return None


def _under_excluded_dir(pats: list[Pattern], i: int) -> str | None:
    a = pats[i]
    segs = None if a.basename else _segments(a.body)
    if not segs or len(segs) < 2:
        return None
    others = pats[:i] + pats[i + 1:]
    verb = "can never re-include anything" if a.negative else "is never reached"
    prefix = []
    for seg in segs[:-1]:  # a concrete directory above every match
        lits = None if seg == "**" else expand(seg)
        if lits is None or len(lits) != 1:
            break
        prefix.append(lits[0])
        d = "/".join(prefix)
        b = _decider(others, d, True)
        if b is not None and not b.negative:
            return (f"{verb}: everything it matches is inside '{from_bytes_domain(d)}/', which "
                    f"{_where(b)} '{_text(b)}' excludes (that directory is never entered)")
    for seg in segs[:-1]:  # a directory name above every match
        lits = None if seg == "**" else expand(seg)
        if lits is None or len(lits) != 1:
            continue
        b = _name_always_excluded(lits[0], others)
        if b is not None:
            return (f"{verb}: everything it matches is inside a directory named "
                    f"'{from_bytes_domain(lits[0])}', which {_where(b)} '{_text(b)}' excludes "
                    f"everywhere (never entered)")
    return None


def _redundancy(pats: list[Pattern], i: int, top: bool, has_lower: bool) -> str | None:
    """Why pats[i] can go without changing any verdict, or None."""
    a = pats[i]
    for b in pats[i + 1:]:  # a later line matching all it matches decides instead
        if _covers(b, a):
            if _text(a) == _text(b):
                return f"duplicate of {_where(b)} '{_text(b)}'"
            if _same(a, b):
                return (f"matches exactly what {_where(b)} '{_text(b)}' matches, and that "
                        f"line comes later (without '/' a pattern matches at any depth; "
                        f"'**/' adds nothing)")
            return (f"shadowed by {_where(b)} '{_text(b)}': that later line matches everything "
                    f"this one does, so it always decides")
    for k in range(i - 1, -1, -1):  # an earlier line already decided the same way
        b = pats[k]
        if b.negative == a.negative and _covers(b, a):
            if all(_disjoint(m, a) for m in pats[k + 1:i] if m.negative != a.negative):
                how = "re-included" if a.negative else "excluded"
                return f"already {how} by {_where(b)} '{_text(b)}'"
            break
    if top:
        why = _under_excluded_dir(pats, i)
        if why:
            return why
    if a.negative and not has_lower and all(_disjoint(b, a) for b in pats[:i] if not b.negative):
        return "nothing before it excludes what it re-includes"
    return None


def static_removals(pats: list[Pattern], top: bool, has_lower: bool):
    """Remove redundant lines one at a time (each removal keeps the list
    equivalent to the previous one, so to the original).  Returns the kept
    lines and ``(line, reason)`` for each removed one."""
    kept = list(pats)
    removed: list[tuple[Pattern, str]] = []
    changed = True
    while changed:
        changed = False
        i = 0
        while i < len(kept):
            why = _redundancy(kept, i, top, has_lower)
            if why is None:
                i += 1
                continue
            removed.append((kept.pop(i), why))
            changed = True
    return kept, removed


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")


def _shape(p: Pattern) -> tuple | None:
    """(flags, body) for entry-name patterns simple enough to merge."""
    body = p.body
    core = body[1:] if body.startswith("*") else body
    if not p.basename or not core or not set(core) <= _PLAIN:
        return None
    return (p.negative, p.dir_only, body.startswith("*"), len(body)), body


def consolidate(pats: list[Pattern]):
    """Merge runs of adjacent entry-name patterns that differ in one plain
    character (same polarity and kind) into one line with a bracket class.
    Adjacent lines of one polarity can merge: no line between can flip."""
    out: list[PatternLine] = []
    merges = []
    i = 0
    while i < len(pats):
        sh = _shape(pats[i])
        j = i + 1
        pos = None
        while sh is not None and j < len(pats):
            sj = _shape(pats[j])
            if sj is None or sj[0] != sh[0]:
                break
            diff = [k for k, (x, y) in enumerate(zip(sh[1], sj[1], strict=True)) if x != y]
            if len(diff) != 1 or (pos is not None and diff[0] != pos) or \
                    (sh[0][2] and diff[0] == 0):
                break
            pos = diff[0]
            j += 1
        if j - i >= 2:
            group = pats[i:j]
            chars = "".join(sorted({p.body[pos] for p in group}))
            body = group[0].body
            text = ("!" if group[0].negative else "") + body[:pos] + f"[{chars}]" + \
                body[pos + 1:] + ("/" if group[0].dir_only else "")
            line = PatternLine(text, group[-1].line.source, group[-1].line.line)
            out.append(line)
            merges.append((group, text))
            i = j
        else:
            out.append(pats[i].line)
            i += 1
    return out, merges


# --- one list, with or without a tree ---------------------------------------------------

class _ListReport:
    """Analysis of one pattern list (the command line, or one ignore file)."""

    def __init__(self, name: str, lines: list[PatternLine], top: bool, has_lower: bool):
        self.name = name
        self.pats = [p for p in map(parse, lines) if p is not None]
        kept, removed = static_removals(self.pats, top, has_lower)
        merged_out, merges = consolidate(kept)
        self.static_lines = merged_out
        self.redundant = [(p.line, why, "always") for p, why in removed]
        for group, text in merges:
            for p in group:
                others = ", ".join(f"'{_text(q)}'" for q in group if q is not p)
                self.redundant.append((p.line, f"merged with {others} into '{text}'", "always"))
        self.merges = merges
        self.final_lines = list(self.static_lines)
        self.tree_removed: list[PatternLine] = []

    def to_json(self) -> dict:
        order = {(p.line.source, p.line.line): k for k, p in enumerate(self.pats)}
        red = sorted(self.redundant, key=lambda r: order.get((r[0].source, r[0].line), 0))
        return {
            "source": self.name,
            "original_count": len(self.pats),
            "optimized_count": len(self.final_lines),
            "optimized": [p.pattern for p in self.final_lines],
            "redundant": [{"pattern": ln.pattern, "source": ln.source, "line": ln.line,
                           "reason": why, "scope": scope} for ln, why, scope in red],
            "consolidated": [{"patterns": [p.line.pattern for p in g], "into": t}
                             for g, t in self.merges],
        }


def _tree_pass(tree: str, cli: _ListReport, ignore_files, overrides) -> dict:
    """Walk with the statically optimized lists: who decides what, what is
    pruned.  Returns the per-list statistics and the visited entries."""
    rules = _Rules(cli.static_lines, ignore_files, overrides)
    decided: set[tuple[bool, str, int]] = set()  # (command line?, source, line)
    visited: list[tuple[str, bool]] = []
    stats = {"entries_visited": 0, "dirs_pruned": 0, "files_excluded": 0}
    for rel, is_dir, ex, node in _walk(tree, rules):
        stats["entries_visited"] += 1
        if ex:
            stats["dirs_pruned" if is_dir else "files_excluded"] += 1
        d = rules.deciding(node, rel, is_dir)
        if d is not None:
            m, _base, idx = d
            ln = m.patterns[idx].line
            decided.add((m is rules.cli, ln.source, ln.line))
        visited.append((rel, is_dir))
    return {"stats": stats, "decided": decided, "visited": visited}


def _matches_anything(lines: list[PatternLine], base: str, visited) -> set[tuple[str, int]]:
    """Which of ``lines`` match at least one visited entry below ``base``:
    one combined matcher over the lines not yet seen matching, rebuilt when
    one is found (so the cost is one lookup per entry, not one per line)."""
    pending = list(lines)
    found: set[tuple[str, int]] = set()
    m = compile_lines(pending)
    cut = len(base) + 1 if base else 0
    for rel, is_dir in visited:
        if m is None:
            break
        if base and not rel.startswith(base + "/"):
            continue
        r = rel[cut:]
        while m is not None:
            c = m.code(r, is_dir)
            if c < 0:
                break
            hit = m.patterns[c >> 1].line
            found.add((hit.source, hit.line))
            pending = [p for p in pending if (p.source, p.line) != (hit.source, hit.line)]
            m = compile_lines(pending)
    return found


def _same_walk(tree: str, a: Rules, b: Rules) -> bool:
    sentinel = object()
    from itertools import zip_longest

    return all(x == y for x, y in zip_longest(walk(tree, a), walk(tree, b), fillvalue=sentinel))


def _count(tree: str, rules: Rules) -> int:
    return sum(1 for _ in walk(tree, rules))


def _timed(fn, *args) -> tuple[float, object]:
    best, out = None, None
    for _ in range(3):
        t0 = time.perf_counter()
        out = fn(*args)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        if dt > 1.0:
            break
    return best, out


def optimize(lines: list[PatternLine], tree: str | None = None,
             ignore_files: tuple[str, ...] = (".syncignore",)) -> dict:
    """Analyse one ordered pattern list (command-line semantics: the
    strongest source).  ``ignore_files`` are the per-directory file names the
    sync would read (they matter to negations and to the tree walk).  With
    ``tree``, also analyse every ignore file found there and measure the
    walk.  Raises PatternError / RuleFileError / OSError."""
    ignore_files = tuple(ignore_files)
    cli = _ListReport("command line", list(lines), top=True, has_lower=bool(ignore_files))
    if tree is None:
        return cli.to_json()
    found = _Rules(cli.static_lines, ignore_files)
    for _ in _walk(tree, found):  # which ignore files the walk meets
        pass
    files: dict[str, _ListReport] = {}
    for src, m in sorted(found.lists.items()):
        own = [p.line for p in m.patterns if p.line.source == src]
        files[src] = _ListReport(src, own, top=False, has_lower=bool(_base(src)))
    tp = _tree_pass(tree, cli, ignore_files, {s: r.static_lines for s, r in files.items()})
    _tree_removals(tree, cli, files, tp)
    original = _Rules(list(lines), ignore_files)
    fallback = _verify(tree, original, cli, files, ignore_files)
    # The same walker twice: every directory listed, then with the exclusions
    # (their matching cost included, so the saving is net).
    t_full, total = _timed(_count, tree, Rules([], ()))
    t_pruned, _ = _timed(_count, tree, original)
    st = tp["stats"]
    pruned = total - st["entries_visited"]
    out = cli.to_json()
    out.update({
        "tree": tree,
        "entries_total": total,
        "entries_visited": st["entries_visited"],
        "entries_pruned": pruned,
        "dirs_pruned": st["dirs_pruned"],
        "files_excluded": st["files_excluded"],
        "traversal_reduction_pct": round(100.0 * pruned / total, 2) if total else 0.0,
        "walk_full_s": round(t_full, 6),
        "walk_pruned_s": round(t_pruned, 6),
        "walk_saved_s": round(t_full - t_pruned, 6),
        "equivalent": True,  # checked by _verify (else it fell back)
        "fallback": fallback,  # None: every removal above held on the tree
        "ignore_files": [r.to_json() for r in files.values()],
    })
    return out


def _base(src: str) -> str:
    return src.rsplit("/", 1)[0] if "/" in src else ""


def _tree_removals(tree: str, cli: _ListReport, files: dict[str, _ListReport], tp) -> None:
    """Drop the lines that decide nothing on the tree (all at once: no
    verdict the walk asks for changes, so neither does the walk)."""
    for rep, base in [(cli, "")] + [(r, _base(src)) for src, r in files.items()]:
        top = rep is cli
        idle = [p for p in rep.static_lines if (top, p.source, p.line) not in tp["decided"]]
        if not idle:
            continue
        hit = _matches_anything(idle, base, tp["visited"])
        where = f"'{tree}'" + (f" below '{base}/'" if base else "")
        for ln in idle:
            if (ln.source, ln.line) in hit:
                why = f"never decides in {where}: a later line decides every path it matches"
            else:
                why = f"matches nothing in {where}"
            rep.redundant.append((ln, why, "tree"))
            rep.tree_removed.append(ln)
        rep.final_lines = [p for p in rep.static_lines if p not in rep.tree_removed]


def _verify(tree, original: Rules, cli: _ListReport, files: dict[str, _ListReport],
            ignore_files) -> str | None:
    """Walk with the optimized sets and compare with the original walk.  If
    that ever failed (it cannot if the reasoning above is right), fall back
    to the static removals, then to the original lists; say which."""
    reps = [cli, *files.values()]

    def same() -> bool:
        opt = _Rules(cli.final_lines, ignore_files, {s: r.final_lines for s, r in files.items()})
        return _same_walk(tree, original, opt)

    if same():
        return None
    for rep in reps:
        rep.final_lines = list(rep.static_lines)
        rep.redundant = [r for r in rep.redundant if r[2] != "tree"]
    if same():
        return "static"
    for rep in reps:
        rep.final_lines = [p.line for p in rep.pats]
        rep.redundant, rep.merges = [], []
    return "original"


# --- the command ---------------------------------------------------------------------------

def add_parser(subparsers) -> None:
    from .options import SYNC_OPTIONS, add_to_parser

    p = subparsers.add_parser(
        "patterns", help="find redundant exclusion patterns; measure what they prune",
        description="Report redundant exclusion patterns (duplicates, shadowed lines, lines "
                    "under an excluded directory, negations that cannot re-include, "
                    "consolidations) and an optimized, equivalent set.  With --tree, also "
                    "patterns that match nothing there, the ignore files found there, the "
                    "traversal reduction and the walk time saved.")
    table = [o for o in SYNC_OPTIONS
             if o.dest in ("excludes", "ignore_files", "no_ignore_files")]
    add_to_parser(p, table)
    p.add_argument("--tree", metavar="PATH", help="walk PATH as sync would (as SRC)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lines = list(getattr(args, "excludes", None) or [])
    ignore = tuple(getattr(args, "ignore_files", None) or (".syncignore",))
    if getattr(args, "no_ignore_files", False):
        ignore = ()
    for name in ignore:
        if not name or "/" in name or name in (".", ".."):
            sys.stderr.write(f"stealsync: error: --ignore-file takes a plain file name, "
                             f"not {name!r}\n")
            return 1
    if args.tree is not None and not os.path.isdir(args.tree):
        sys.stderr.write(f"stealsync: error: --tree {args.tree}: not a directory\n")
        return 3
    try:
        result = optimize(lines, args.tree, ignore)
    except PatternError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return 1
    except RuleFileError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return 23
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(render(result))
    return 0


def render(r: dict) -> str:
    """The terminal report."""
    out = []
    _render_list(out, r, "Command-line patterns (--exclude / --exclude-from)")
    for f in r.get("ignore_files", []):
        _render_list(out, f, f"Ignore file {f['source']}")
    if "tree" in r:
        total = r["entries_total"]
        out.append(f"Tree {r['tree']}: {total} entries, {r['entries_visited']} visited, "
                   f"{r['entries_pruned']} never visited "
                   f"({r['traversal_reduction_pct']:.1f}% traversal reduction)")
        out.append(f"  excluded: {r['dirs_pruned']} directories (pruned whole), "
                   f"{r['files_excluded']} other entries")
        saved = r["walk_saved_s"]
        pct = 100.0 * saved / r["walk_full_s"] if r["walk_full_s"] else 0.0
        how = (f"saves {saved * 1e3:.1f} ms ({pct:.0f}%)" if saved >= 0 else
               f"costs {-saved * 1e3:.1f} ms more: matching outweighs what is pruned")
        out.append(f"  walk time (listing only): every directory {r['walk_full_s'] * 1e3:.1f} ms, "
                   f"with exclusions {r['walk_pruned_s'] * 1e3:.1f} ms: {how}")
        verdict = "yes (same entries visited, same verdicts)" if r["equivalent"] else "NO"
        out.append(f"  optimized sets equivalent on this tree: {verdict}")
    return "\n".join(out) + "\n"


def _render_list(out: list[str], r: dict, title: str) -> None:
    n0, n1 = r["original_count"], r["optimized_count"]
    out.append(f"{title}: {n0} pattern{'s' if n0 != 1 else ''} -> {n1}")
    if r["redundant"]:
        out.append("  redundant:")
        for x in r["redundant"]:
            scope = "" if x["scope"] == "always" else "  [this tree only]"
            out.append(f"    {x['source']}:{x['line']}  {x['pattern']}")
            out.append(f"        {x['reason']}{scope}")
    if r["optimized"]:
        out.append("  optimized set:" if r["redundant"] else "  nothing to remove:")
        out.extend(f"    {p}" for p in r["optimized"])
    out.append("")
