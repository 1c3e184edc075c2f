"""``stealsync analyze PATH``: what a tree holds and what will bound its sync.

The walk is the sync's walk: directory tasks on the same work-stealing
:class:`~engine.scheduler.Pool` (in-process below ``pool_threshold`` files,
like sync), each listing one directory by descriptor with the same
:class:`~engine.rules.Rules` filtering.  A task sends one small
:class:`DirSummary` per directory through ``ctx.sink.record`` (batched by the
worker's sink) and returns its subdirectories as child tasks.

The coordinator folds summaries into an :class:`Aggregate` whose memory is
bounded whatever the tree's size: two 10-entry heaps (largest files, fullest
directories), extension counters (capped at :data:`MAX_EXTS` keys), a log2
size histogram and a depth histogram (the median depth comes from it).

Definitions (the tests compute the same numbers with ``os.walk``):

* *depth* of an entry: the number of components of its path below PATH
  (``a.txt`` is 1, ``a/b.txt`` is 2); ``max_depth`` is over every entry,
  ``median_depth`` over regular files;
* *extension*: ``os.path.splitext(name)[1].lower()``, ``(none)`` when empty;
* *size bucket* k (``size.bit_length()``): 0 for empty files, else
  ``2**(k-1) <= size < 2**k``;
* ``disk_bytes``: ``st_blocks * 512``, shared fairly among a file's hard
  links (``/ st_nlink``) so a link group inside the tree is counted once;
* ``dirs``: directories below PATH (PATH itself not counted);
* ties in the top-10 lists go to the greater path (a total order, so the
  result does not depend on which worker finished first).

Entries pruned by exclusions: when :mod:`engine.patterns` is importable its
``optimize()`` reports them; otherwise excluded directories are still walked,
counting entries only (no stat), to measure the traversal reduction.  Such
tasks carry :data:`PRUNED` in the ``src`` slot of their :class:`Task`.
"""

from __future__ import annotations

import heapq
import os
import secrets
import time
from typing import NamedTuple

from .counters import C, SharedCounters
from .dirsync import Task, rule_chain, run_depth_first
from .errors import Exit, UsageError, from_oserror
from .names import join
from .rules import PatternError, PatternLine, Rules
from .walk import KIND_DIR, KIND_FILE, KIND_LINK, O_DIR, kind_of, open_dir, scan

TOP_N = 10  # largest files and fullest directories kept
TYPES_SHOWN = 15  # extensions listed before "other"
MAX_EXTS = 4096  # distinct extensions counted; the rest go to "other"
MAX_EXT_LEN = 12  # longer "extensions" (hashes, dates) are not file types
PRUNED = "pruned"  # Task.src marker: below an excluded directory, count only

# Hint thresholds (each hint quotes the figure that crossed it).
DEEP_NESTING = 32
TINY_FILE = 4096
TINY_SHARE = 0.5
TINY_MIN_FILES = 1000
HUGE_FILE = 64 << 20
HUGE_SHARE = 0.5


class DirSummary(NamedTuple):
    """One directory, as a worker saw it (plain data, pickled in batches)."""

    relpath: str
    depth: int  # components of relpath ('' is 0)
    entries: int  # entries kept after exclusions
    files: int
    bytes: int
    disk_bytes: int
    dirs: int
    symlinks: int
    specials: int
    hardlinked: int  # regular files with st_nlink > 1
    exts: tuple  # ((ext, count, bytes), ...)
    hist: tuple  # ((bucket, count, bytes), ...)
    top: tuple  # ((size, name), ...) at most TOP_N, this directory's largest
    pruned: int  # entries excluded here (or, for a PRUNED task, all entries)
    is_pruned: bool = False


class FileInfo(NamedTuple):
    name: str
    kind: int
    size: int = 0
    blocks: int = 0
    nlink: int = 1


# --- pure: one listing -> one summary ------------------------------------------

def ext_of(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    if not ext:
        return "(none)"
    return ext if len(ext) <= MAX_EXT_LEN else "(long)"


def summarize(relpath: str, infos: list[FileInfo], pruned: int) -> DirSummary:
    """Fold one directory's kept entries into a :class:`DirSummary`."""
    files = nbytes = disk = dirs = links = specials = hard = 0
    exts: dict[str, list[int]] = {}
    hist: dict[int, list[int]] = {}
    sizes = []
    for e in infos:
        if e.kind == KIND_DIR:
            dirs += 1
        elif e.kind == KIND_LINK:
            links += 1
        elif e.kind != KIND_FILE:
            specials += 1
        else:
            files += 1
            nbytes += e.size
            disk += e.blocks * 512 // max(1, e.nlink)
            hard += e.nlink > 1
            _bump(exts, ext_of(e.name), e.size)
            _bump(hist, e.size.bit_length(), e.size)
            sizes.append((e.size, e.name))
    return DirSummary(
        relpath, _depth(relpath), len(infos), files, nbytes, disk, dirs, links, specials, hard,
        tuple((k, c, b) for k, (c, b) in exts.items()),
        tuple((k, c, b) for k, (c, b) in hist.items()),
        tuple(heapq.nlargest(TOP_N, sizes)),
        pruned,
    )


def _bump(d: dict, key, size: int) -> None:
    slot = d.get(key)
    if slot is None:
        d[key] = [1, size]
    else:
        slot[0] += 1
        slot[1] += size


def _depth(relpath: str) -> int:
    return relpath.count("/") + 1 if relpath else 0


# --- the task (runs in a worker or in-process) ---------------------------------

def analyze_task(ctx, task: Task) -> list[Task]:
    """List one directory; record its summary; return its subdirectories."""
    ctx.row.add(C.TASKS)
    try:
        fd = open_dir(ctx.src_root, task.relpath)
    except OSError as e:
        ctx.report(from_oserror(task.relpath, "list-src", e))
        return []
    try:
        try:
            des = scan(fd)
        except OSError as e:
            ctx.report(from_oserror(task.relpath, "list-src", e))
            return []
        if task.src == PRUNED:
            return _count_pruned(ctx, task, des)
        return _summarize_dir(ctx, task, fd, des)
    finally:
        os.close(fd)


def _count_pruned(ctx, task: Task, des) -> list[Task]:
    ctx.sink.record(DirSummary(task.relpath, _depth(task.relpath), 0, 0, 0, 0, 0, 0, 0, 0,
                               (), (), (), len(des), True))
    return [Task(join(task.relpath, de.name), PRUNED, None, ())
            for de in des if kind_of(de) == KIND_DIR]


def _summarize_dir(ctx, task: Task, fd: int, des) -> list[Task]:
    rules = ctx.rules
    relpath = task.relpath
    node = rule_chain(ctx, task, fd, {de.name for de in des})
    if node is None:  # an ignore file we cannot read or parse: reported
        return []
    infos, children, pruned = [], [], 0
    walk_pruned = ctx.count_pruned
    for de in des:
        kind = kind_of(de)
        path = join(relpath, de.name)
        if rules.active and rules.excluded(node, path, kind == KIND_DIR):
            pruned += 1  # filtered by name, before any stat
            if kind == KIND_DIR and walk_pruned:
                children.append(Task(path, PRUNED, None, ()))
            continue
        info = _info(ctx, de, kind, path)
        if info is None:
            continue
        infos.append(info)
        if kind == KIND_DIR:
            children.append(Task(path, None, None, node.key))
    s = summarize(relpath, infos, pruned)
    _count(ctx.row, s)
    ctx.sink.record(s)
    return children


def _info(ctx, de, kind: int, path: str) -> FileInfo | None:
    if kind != KIND_FILE:
        return FileInfo(de.name, kind)
    try:
        s = de.stat(follow_symlinks=False)
    except OSError as e:
        ctx.report(from_oserror(path, "stat-src", e))
        return None
    return FileInfo(de.name, kind, s.st_size, s.st_blocks, s.st_nlink)


def _count(row, s: DirSummary) -> None:
    row.add(C.FILES_SEEN, s.files)
    row.add(C.BYTES_SEEN, s.bytes)
    row.add(C.FILES_DONE, s.files)
    row.add(C.BYTES_DONE, s.bytes)
    row.add(C.DIRS_SEEN, s.dirs)
    row.add(C.SYMLINKS, s.symlinks)
    row.add(C.SPECIALS, s.specials)


# --- the coordinator's fold (bounded memory) -------------------------------------

class Aggregate:
    """Folds :class:`DirSummary` records; memory does not grow with the tree."""

    def __init__(self):
        self.files = self.bytes = self.disk_bytes = 0
        self.dirs = self.symlinks = self.specials = self.hardlinked = 0
        self.entries = self.pruned = 0
        self.max_depth = 0
        self.depth_hist: dict[int, int] = {}  # file depth -> files
        self.exts: dict[str, list[int]] = {}
        self.other_ext = [0, 0]
        self.size_hist: dict[int, list[int]] = {}
        # Min-heaps of (size, path) and (entries, path): the top N by that
        # total order, so ties go to the greater path whatever the arrival order.
        self._largest: list = []
        self._fullest: list = []

    def add(self, s: DirSummary) -> None:
        self.pruned += s.pruned
        if s.is_pruned:
            return
        self.entries += s.entries
        self.files += s.files
        self.bytes += s.bytes
        self.disk_bytes += s.disk_bytes
        self.dirs += s.dirs
        self.symlinks += s.symlinks
        self.specials += s.specials
        self.hardlinked += s.hardlinked
        self.max_depth = max(self.max_depth, s.depth + (1 if s.entries else 0))
        if s.files:
            self.depth_hist[s.depth + 1] = self.depth_hist.get(s.depth + 1, 0) + s.files
        for ext, n, b in s.exts:
            self._add_ext(ext, n, b)
        for k, n, b in s.hist:
            slot = self.size_hist.setdefault(k, [0, 0])
            slot[0] += n
            slot[1] += b
        for size, name in s.top:
            _push(self._largest, (size, join(s.relpath, name)))
        if s.entries:
            _push(self._fullest, (s.entries, s.relpath))

    def _add_ext(self, ext: str, n: int, b: int) -> None:
        slot = self.exts.get(ext)
        if slot is None and len(self.exts) >= MAX_EXTS:
            slot = self.other_ext
        elif slot is None:
            slot = self.exts[ext] = [0, 0]
        slot[0] += n
        slot[1] += b

    def median_depth(self) -> float:
        return histogram_median(self.depth_hist)

    def largest(self) -> list[dict]:
        return [{"path": p, "size": s} for s, p in sorted(self._largest, reverse=True)]

    def fullest(self) -> list[dict]:
        return [{"path": p or ".", "entries": n} for n, p in sorted(self._fullest, reverse=True)]

    def types(self, shown: int = TYPES_SHOWN) -> dict:
        ranked = sorted(self.exts.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        out = {k: {"count": c, "bytes": b} for k, (c, b) in ranked[:shown]}
        rest_c = self.other_ext[0] + sum(c for _, (c, _b) in ranked[shown:])
        rest_b = self.other_ext[1] + sum(b for _, (_c, b) in ranked[shown:])
        if rest_c:
            out["other"] = {"count": rest_c, "bytes": rest_b}
        return out

    def histogram(self) -> list[dict]:
        return [{"bucket": k, "lo": 0 if k == 0 else 1 << (k - 1), "hi": 1 if k == 0 else 1 << k,
                 "count": c, "bytes": b} for k, (c, b) in sorted(self.size_hist.items())]


def _push(heap: list, item) -> None:
    if len(heap) < TOP_N:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


def histogram_median(hist: dict[int, int]) -> float:
    """The median of a multiset given as value -> count (as statistics.median)."""
    n = sum(hist.values())
    if n == 0:
        return 0
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    lo = hi = None
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if lo is None and seen > lo_rank:
            lo = value
        if seen > hi_rank:
            hi = value
            break
    return lo if lo == hi else (lo + hi) / 2


# --- hints: numbers -> advice, each with its figure ------------------------------

def bottleneck_hints(data: dict, facts: dict) -> list[dict]:
    """Pure: the analysis dict and machine facts -> ``[{kind, message, figure}]``."""
    from .dirsync import SLICE_SIZE, SLICE_THRESHOLD

    out = []
    files = data["files"]
    if data["max_depth"] > DEEP_NESTING:
        out.append(_hint("deep_nesting", data["max_depth"],
                         f"entries nest {data['max_depth']} levels deep (median file depth "
                         f"{data['median_depth']}): every directory is opened component by "
                         f"component from the root (O_NOFOLLOW at each level), so the deepest "
                         f"ones cost about {data['max_depth']} open() calls each"))
    full = data["busiest_dirs"][0] if data["busiest_dirs"] else None
    if full and full["entries"] > SLICE_THRESHOLD:
        out.append(_hint("huge_directory", full["entries"],
                         f"{full['path']} holds {full['entries']:,} entries: directories over "
                         f"{SLICE_THRESHOLD:,} files are split into slices of {SLICE_SIZE:,} so "
                         f"several workers share one directory (work-splitting matters here)"))
    tiny = sum(b["count"] for b in data["size_histogram"] if b["hi"] <= TINY_FILE)
    if files >= TINY_MIN_FILES and tiny / files >= TINY_SHARE:
        pct = round(100 * tiny / files, 1)
        out.append(_hint("tiny_files", pct,
                         f"{pct}% of files ({tiny:,} of {files:,}) are under {TINY_FILE // 1024} KiB: "
                         f"the sync is syscall-bound (open, stat, copy per file), so more workers "
                         f"help; this machine has {facts.get('cpus', '?')} usable CPUs"))
    out.extend(_huge_file_hint(data))
    out.extend(_machine_hints(data, facts))
    return out


def _huge_file_hint(data: dict) -> list[dict]:
    huge = [f for f in data["largest"] if f["size"] >= HUGE_FILE]
    total = data["total_bytes"]
    if not huge or not total:
        return []
    share = sum(f["size"] for f in huge) / total
    if share < HUGE_SHARE:
        return []
    pct = round(100 * share, 1)
    smallest = min(f["size"] for f in huge)
    from .report import human

    return [_hint("huge_files", pct,
                  f"{len(huge)} file(s) of {human(smallest)} or more hold {pct}% of all bytes: "
                  f"the sync is bandwidth-bound on them; each is streamed (copy_file_range, "
                  f"in-kernel, when the filesystems allow) and extra workers cannot split one file")]


def _machine_hints(data: dict, facts: dict) -> list[dict]:
    out = []
    if facts.get("network"):
        fs = facts.get("src_fs") or facts.get("dst_fs")
        out.append(_hint("network_fs", fs,
                         f"a network filesystem ({fs}) is involved: each metadata call pays a "
                         f"round trip, so many workers hide the latency (auto sizing uses up to "
                         f"4 per CPU)"))
    if facts.get("dst") and facts.get("same_device"):
        rot = " rotational" if facts.get("rotational") else ""
        out.append(_hint("same_device", facts.get("device"),
                         f"SRC and DST are on the same{rot} device ({facts.get('device')}, "
                         f"{facts.get('src_fs') or '?'}): reads and writes compete for it"
                         + (", so auto sizing caps the pool at 2 workers" if rot else "")))
    if data["hardlinked"]:
        out.append(_hint("hard_links", data["hardlinked"],
                         f"{data['hardlinked']:,} files have more than one link: sync with "
                         f"--hard-links (-H) to keep them linked, else each link is a full copy"))
    return out


def _hint(kind: str, figure, message: str) -> dict:
    return {"kind": kind, "message": message, "figure": figure}


# --- the API ----------------------------------------------------------------------

def analyze(path: str, excludes=(), ignore_files=(".syncignore",), workers: int | str = "auto",
            dst: str | None = None, pool_threshold: int = 100, echo=None,
            count_pruned: bool | None = None) -> dict:
    """Analyze the tree at ``path``; returns the JSON-ready dict of the report.

    ``excludes``: gitignore-style patterns (str or :class:`PatternLine`);
    ``ignore_files``: per-directory ignore file names (as sync);
    ``dst``: the sync's destination, for the same-device hint;
    ``echo``: where error lines go (default stderr; ``lambda s: None`` mutes).
    Raises :class:`UsageError` (code 3 when PATH is not a directory).
    """
    t0 = time.monotonic()
    lines = [p if isinstance(p, PatternLine) else PatternLine(p, "--exclude", i)
             for i, p in enumerate(excludes, 1)]
    try:
        rules = Rules(lines, tuple(ignore_files))
    except PatternError as e:
        raise UsageError(str(e)) from e
    try:
        root_fd = os.open(path, O_DIR & ~os.O_NOFOLLOW)
    except OSError as e:
        raise UsageError(f"PATH {path!r}: {e.strerror}", Exit.SRC_MISSING) from e
    try:
        facts = _facts(path, dst, workers)
        exclusion = _optimize(lines, path, tuple(ignore_files)) if lines else None
        if count_pruned is None:
            count_pruned = not (exclusion and "entries_pruned" in exclusion)
        agg, walk = _walk(root_fd, rules, facts, pool_threshold, echo, count_pruned)
    finally:
        os.close(root_fd)
    data = _to_dict(agg, path)
    data.update(walk)
    data["exclusion"] = _exclusion(lines, agg, exclusion, count_pruned, rules.active)
    data["facts"] = facts
    data["hints"] = bottleneck_hints(data, facts)
    data["elapsed_s"] = round(time.monotonic() - t0, 6)
    return data


def _facts(path: str, dst: str | None, workers) -> dict:
    from .sizing import decide

    try:
        s = decide(path, dst or path, workers)
        facts = s.to_json()
    except (OSError, ImportError) as e:
        facts = {"workers": 1, "reason": f"no machine facts: {e}", "cpus": os.cpu_count() or 1}
    dev = os.stat(path).st_dev
    facts["device"] = f"{os.major(dev)}:{os.minor(dev)}"
    facts["dst"] = dst
    if not dst:
        facts["same_device"] = None
    return facts


def _optimize(lines: list[PatternLine], path: str, ignore_files: tuple[str, ...]) -> dict | None:
    try:
        from .patterns import optimize
    except ImportError:
        return None
    try:
        got = optimize(lines, path, ignore_files)
    except Exception as e:  # their contract may change; our walk still counts
        return {"optimize_error": f"{type(e).__name__}: {e}"}
    return dict(got) if isinstance(got, dict) else None


def _exclusion(lines, agg: Aggregate, opt: dict | None, counted: bool, active: bool) -> dict | None:
    if not lines and not agg.pruned:
        return None
    out = {"patterns": [p.pattern for p in lines], "source": "walk" if counted else "patterns.optimize"}
    if counted:
        total = agg.entries + agg.pruned
        out.update(entries_total=total, entries_pruned=agg.pruned,
                   traversal_reduction_pct=round(100 * agg.pruned / total, 2) if total else 0.0)
    else:
        out["entries_pruned_here"] = agg.pruned  # excluded entries seen (not their contents)
    if opt:
        out.update({k: v for k, v in opt.items() if not (counted and k in out)})
        out["optimize"] = "optimize_error" not in opt
    return out


def _walk(root_fd, rules, facts, pool_threshold, echo, count_pruned) -> tuple[Aggregate, dict]:
    from .context import WorkerContext
    from .options import SyncOptions
    from .sink import CoordinatorSink

    n = max(1, int(facts.get("workers", 1)))
    shared = SharedCounters(rows=1 + n)
    sink = CoordinatorSink(False, echo)
    agg = Aggregate()
    sink.on_record = agg.add
    ctx = WorkerContext(SyncOptions(), root_fd, None, shared, 0, sink, rules, secrets.token_hex(4))
    ctx.count_pruned = count_pruned
    stack = [Task("", None, None, ())]
    run_depth_first(ctx, stack, analyze_task,
                    lambda: n >= 2 and shared.total(C.FILES_SEEN) >= pool_threshold)
    mode, died = "sequential", []
    if stack:
        mode, died = "pool", _run_pool(ctx, n, stack, sink)
    sink.flush()
    errors = [e.to_json() for e in sink.errors]
    return agg, {"mode": mode, "workers": n if mode == "pool" else 1, "errors": errors,
                 "error_count": shared.total(C.ERRORS) + len(died), "complete": not died}


def _run_pool(ctx, n: int, stack: list, sink) -> list[str]:
    from .scheduler import Pool

    pool = Pool(ctx, n, task_fn=analyze_task)
    try:
        out = pool.run(stack, sink)
    finally:
        pool.kill()
    return list(out.died) + [c.strip().splitlines()[-1] for c in out.crashed]


def _to_dict(agg: Aggregate, path: str) -> dict:
    return {
        "path": os.path.abspath(path),
        "files": agg.files,
        "dirs": agg.dirs,
        "symlinks": agg.symlinks,
        "specials": agg.specials,
        "hardlinked": agg.hardlinked,
        "entries": agg.entries,
        "total_bytes": agg.bytes,
        "disk_bytes": agg.disk_bytes,
        "max_depth": agg.max_depth,
        "median_depth": agg.median_depth(),
        "depth_histogram": {str(k): v for k, v in sorted(agg.depth_hist.items())},
        "largest": agg.largest(),
        "types": agg.types(),
        "size_histogram": agg.histogram(),
        "busiest_dirs": agg.fullest(),
    }


# --- the command line -------------------------------------------------------------

def add_parser(subparsers) -> None:
    from .options import _ExcludeAction

    p = subparsers.add_parser(
        "analyze", help="report what a tree holds and what will bound its sync",
        description="Walk PATH with the sync's parallel walker and report counts, sizes, depth, "
                    "largest files, file types, a size histogram and bottleneck hints.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--exclude", dest="excludes", action=_ExcludeAction, metavar="PATTERN",
                   help="gitignore-style pattern relative to PATH (repeatable), as for sync")
    p.add_argument("--exclude-from", dest="excludes", action=_ExcludeAction, metavar="FILE",
                   help="read exclude patterns from FILE")
    p.add_argument("--ignore-file", dest="ignore_files", action="append", metavar="NAME",
                   help="per-directory ignore file name (repeatable; default .syncignore)")
    p.add_argument("--no-ignore-files", action="store_true", help="do not read per-directory ignore files")
    p.add_argument("--dst", metavar="DST", help="the sync's destination (adds same-device facts)")
    p.add_argument("--workers", default="auto", metavar="N|auto", help="worker processes (default auto)")
    p.add_argument("--json", action="store_true", help="print the analysis as one JSON object")
    p.set_defaults(run=run_cli)


def run_cli(args) -> int:
    import json
    import sys

    from .report import analysis_text

    try:
        workers = _parse_workers(args.workers)
        ignore = () if args.no_ignore_files else tuple(args.ignore_files or (".syncignore",))
        data = analyze(args.path, args.excludes or (), ignore, workers, args.dst)
    except UsageError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return e.code
    except KeyboardInterrupt:  # the pool is already torn down (analyze's finally)
        sys.stderr.write("stealsync: interrupted\n")
        return int(Exit.SIGNALLED)
    if args.json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        sys.stdout.write(analysis_text(data))
    sys.stdout.flush()
    if not data["complete"]:
        return int(Exit.WORKER_DIED)
    return int(Exit.PARTIAL) if data["error_count"] else 0


def _parse_workers(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError("--workers takes a number >= 1 or 'auto'")
    return n
