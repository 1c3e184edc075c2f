"""Turning measurements into reports: the terminal text of ``analyze`` and the
run report of ``sync --report FILE`` (Markdown) / ``--json`` (``report``).

Everything here is pure: plain dicts in (the analysis, the run's JSON, the
previous run's snapshot), a dict or text out.  :func:`build_report` makes the
report dict with its five sections, in this order:

1. ``directory_analysis``  2. ``performance``  3. ``exclusions``
4. ``resources``  5. ``recommendations``

and :func:`to_markdown` renders that same dict, so the Markdown and the JSON
can never disagree.  Recommendations are computed from the run's numbers,
each with the figure behind it; when no figure crosses a threshold the single
recommendation says so and quotes the figures that were checked.
"""

from __future__ import annotations

import time

SECTIONS = (
    ("directory_analysis", "Directory Analysis"),
    ("performance", "Performance Optimizations Applied"),
    ("exclusions", "Exclusion Pattern Improvements"),
    ("resources", "Resource Usage"),
    ("recommendations", "Recommendations"),
)

BLOCKS = " ▏▎▍▌▋▊▉█"
BAR_WIDTH = 40

# Recommendation thresholds (each recommendation quotes its figure).
BIG_FILE = 64 << 20
BIG_SHARE = 0.3
IMBALANCE = 2.0
MIN_BUSY_S = 0.5
LOW_CPU = 0.35
HIGH_CPU = 0.85
MIN_ELAPSED_S = 1.0
SLOWER = 1.5
SEQUENTIAL_FILES = 10_000


# --- formatting helpers ----------------------------------------------------------

def human(n: float) -> str:
    """Bytes with a binary unit: 0 B, 512 B, 1.5 KiB, 25.9 MiB."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of block characters, eighth-of-a-cell resolution."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (BLOCKS[part] if part else "")


def bucket_label(lo: int, hi: int) -> str:
    return "0 B" if hi <= 1 else f"{human(lo)} – {human(hi)}"


def short_path(p: str, width: int = 72) -> str:
    """A path cut in the middle to fit a terminal column (JSON keeps it whole)."""
    if len(p) <= width:
        return p
    keep = width - 1
    return p[:keep // 3] + "…" + p[-(keep - keep // 3):]


def pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _table(rows: list[list[str]], right: set[int] = frozenset(), indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append(indent + "  ".join(cells).rstrip())
    return out


# --- analyze: terminal text -------------------------------------------------------

def analysis_text(d: dict) -> str:
    """The readable terminal report of ``stealsync analyze``."""
    out = [f"stealsync analyze {d['path']}  ({d['elapsed_s']:.2f} s, {d['mode']}, "
           f"{d['workers']} worker{'s' if d['workers'] != 1 else ''})", ""]
    out += _table([
        ["Files", f"{d['files']:,}", "Total size", f"{human(d['total_bytes'])} ({d['total_bytes']:,} B)"],
        ["Directories", f"{d['dirs']:,}", "On disk", f"{human(d['disk_bytes'])} ({d['disk_bytes']:,} B)"],
        ["Symlinks", f"{d['symlinks']:,}", "Max depth", str(d["max_depth"])],
        ["Hard-linked files", f"{d['hardlinked']:,}", "Median file depth", str(d["median_depth"])],
        ["Special files", f"{d['specials']:,}", "Errors", f"{d['error_count']:,}"],
    ], right={1})
    out += _section("Largest files", _largest_rows(d))
    out += _section("File types (by extension)", _type_rows(d))
    out += _section("Size histogram (files per log2 size bucket)", _histogram_lines(d))
    out += _section("Directories with the most entries",
                    _table([["Entries", "Path"]] + [[f"{x['entries']:,}", short_path(x["path"])]
                                                     for x in d["busiest_dirs"]], right={0})
                    if d["busiest_dirs"] else [])
    out += _section("Exclusions", _exclusion_lines(d.get("exclusion")))
    hints = [f"  * {h['message']}  [{h['kind']}: {h['figure']}]" for h in d["hints"]]
    out += _section("Bottleneck hints", hints or ["  none: no figure crossed a hint threshold"])
    return "\n".join(out) + "\n"


def _section(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    return ["", title] + lines


def _largest_rows(d: dict) -> list[str]:
    if not d["largest"]:
        return []
    return _table([["Size", "Bytes", "Path"]] + [[human(f["size"]), f"{f['size']:,}", short_path(f["path"])]
                                                 for f in d["largest"]], right={0, 1})


def _type_rows(d: dict) -> list[str]:
    if not d["types"]:
        return []
    rows = [["Type", "Files", "% files", "Bytes", "% bytes"]]
    for ext, t in d["types"].items():
        rows.append([ext, f"{t['count']:,}", f"{pct(t['count'], d['files']):.1f}",
                     human(t["bytes"]), f"{pct(t['bytes'], d['total_bytes']):.1f}"])
    return _table(rows, right={1, 2, 3, 4})


def _histogram_lines(d: dict) -> list[str]:
    hist = d["size_histogram"]
    if not hist:
        return []
    top = max(b["count"] for b in hist)
    rows = [[bucket_label(b["lo"], b["hi"]), f"{b['count']:,}", bar(b["count"] / top)] for b in hist]
    return _table(rows, right={1})


def _exclusion_lines(x: dict | None) -> list[str]:
    if not x:
        return []
    lines = [f"  patterns: {', '.join(x['patterns']) or '(ignore files only)'}"]
    if "entries_total" in x:
        lines.append(f"  entries pruned: {x.get('entries_pruned', 0):,} of {x['entries_total']:,} "
                     f"(traversal reduced by {x.get('traversal_reduction_pct', 0)}%)")
    if x.get("optimized") is not None:
        lines.append(f"  optimized patterns: {', '.join(map(str, x['optimized']))}")
    if x.get("redundant"):
        lines.append(f"  redundant patterns: {', '.join(_pattern_names(x['redundant']))}")
    return lines


# --- the run report: data ----------------------------------------------------------

def build_report(run: dict, analysis: dict | None, baseline: dict | None,
                 analysis_error: str = "") -> dict:
    """The report dict (sections in order) from the run's ``to_json()``, the
    analysis of SRC and the previous run's snapshot for the same pair."""
    rep = {
        "src": run.get("run", {}).get("src"),
        "dst": run.get("run", {}).get("dst"),
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "exit_code": run.get("exit_code", 0),
        "message": run.get("message", ""),
        "sections": [title for _, title in SECTIONS],
        "directory_analysis": _analysis_section(analysis, analysis_error),
        "performance": _performance(run, baseline),
        "exclusions": _exclusions(analysis),
        "resources": _resources(run),
    }
    rep["recommendations"] = recommend(run, analysis, rep)
    return rep


def snapshot(run: dict) -> dict:
    """What the next run compares itself with (kept in the state file)."""
    el = run.get("elapsed_s", 0) or 0
    res = run.get("resources") or {}
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_s": el,
        "files_total": run.get("files_total", 0),
        "files_copied": run.get("files_copied", 0),
        "files_updated": run.get("files_updated", 0),
        "bytes_copied": run.get("bytes_copied", 0),
        "bytes_total": run.get("bytes_total", 0),
        "files_per_s": round(run.get("files_total", 0) / el, 1) if el else 0.0,
        "mb_per_s": round(run.get("bytes_copied", 0) / el / 1e6, 2) if el else 0.0,
        "workers": run.get("workers", 1),
        "mode": run.get("mode"),
        "peak_rss_bytes": res.get("peak_rss_bytes"),
        "cpu_avg_pct": res.get("cpu_avg_pct"),
    }


def _analysis_section(a: dict | None, error: str) -> dict:
    if a is None:
        return {"available": False, "error": error or "no analysis"}
    keep = ("files", "dirs", "symlinks", "specials", "hardlinked", "total_bytes", "disk_bytes",
            "max_depth", "median_depth", "largest", "types", "size_histogram", "busiest_dirs",
            "hints", "elapsed_s", "mode", "workers")
    out = {k: a[k] for k in keep}
    out["available"] = True
    out["largest_file"] = a["largest"][0] if a["largest"] else None
    return out


def _performance(run: dict, baseline: dict | None) -> dict:
    c = run.get("counters") or {}
    sizing = run.get("sizing") or {}
    cur = snapshot(run)
    return {
        "mode": run.get("mode"),
        "mode_reason": _mode_reason(run),
        "workers": run.get("workers", 1),
        "sizing": sizing,
        "copy_paths": {"copy_file_range": c.get("copy_range", 0), "sendfile": c.get("copy_sendfile", 0),
                       "buffered": c.get("copy_buffered", 0)},
        "files_streamed": c.get("files_streamed", 0),
        "dirs_split": c.get("dirs_split", 0),
        "slices": c.get("slices", 0),
        "steals": c.get("steals", 0),
        "stolen_tasks": c.get("stolen_tasks", 0),
        "tasks": c.get("tasks", 0),
        "files_total": run.get("files_total", 0),
        "files_copied": run.get("files_copied", 0),
        "files_updated": run.get("files_updated", 0),
        "files_deleted": run.get("files_deleted", 0),
        "bytes_copied": run.get("bytes_copied", 0),
        "elapsed_s": run.get("elapsed_s", 0),
        "baseline": _compare(baseline, cur) if baseline else None,
    }


def _mode_reason(run: dict) -> str:
    mode, files = run.get("mode"), run.get("files_total", 0)
    reason = (run.get("sizing") or {}).get("reason", "")
    if mode == "sequential":
        return reason or "in-process"
    scale = "over" if mode == "stealing" else "up to"
    return (f"{files:,} files: the first directories ran in-process until the pool threshold, "
            f"the rest on the work-stealing pool ('{mode}' names runs of {scale} 10,000 files)")


def _compare(prev: dict, cur: dict) -> dict:
    rows = {}
    for k in ("elapsed_s", "files_total", "files_copied", "bytes_copied", "files_per_s", "mb_per_s",
              "workers", "peak_rss_bytes", "cpu_avg_pct"):
        a, b = prev.get(k), cur.get(k)
        change = round(100.0 * (b - a) / a, 1) if isinstance(a, int | float) and isinstance(b, int | float) and a else None
        rows[k] = {"previous": a, "current": b, "change_pct": change}
    return {"previous_timestamp": prev.get("timestamp"), "previous_mode": prev.get("mode"),
            "metrics": rows}


def _exclusions(a: dict | None) -> dict:
    x = (a or {}).get("exclusion")
    if not x:
        return {"patterns": [], "active": False}
    out = dict(x)
    out["active"] = True
    return out


def _resources(run: dict) -> dict:
    res = run.get("resources") or {}
    el = run.get("elapsed_s", 0) or 0
    workers = []
    for w in run.get("per_worker") or []:
        workers.append(dict(w, busy_pct=pct(w.get("busy_s", 0), el)))
    return {
        "available": bool(res),
        "peak_rss_bytes": res.get("peak_rss_bytes"),
        "peak_pss_bytes": res.get("peak_pss_bytes"),
        "cpu_avg_pct": res.get("cpu_avg_pct"),
        "cpu_peak_pct": res.get("cpu_peak_pct"),
        "samples": res.get("samples"),
        "sampler_cpu_s": res.get("sampler_cpu_s"),
        "sampler_overhead_pct": res.get("sampler_overhead_pct"),
        "workers": run.get("workers", 1),
        "elapsed_s": el,
        "files_per_s": round(run.get("files_total", 0) / el, 1) if el else 0.0,
        "mb_per_s": round(run.get("bytes_copied", 0) / el / 1e6, 2) if el else 0.0,
        "per_worker": workers,
    }


# --- recommendations: numbers of this run -> advice ------------------------------

def recommend(run: dict, a: dict | None, rep: dict) -> list[dict]:
    """Each rule fires only on this run's figures and quotes them."""
    out = []
    for rule in (_rec_failed, _rec_errors, _rec_big_files, _rec_imbalance, _rec_cpu, _rec_sequential,
                 _rec_copy_path, _rec_exclusions, _rec_baseline, _rec_noop):
        out.extend(rule(run, a, rep))
    if not out:
        r = rep["resources"]
        out.append(_rec("none", r["files_per_s"],
                        f"no figure crossed a threshold: {run.get('files_total', 0):,} files in "
                        f"{run.get('elapsed_s', 0):.2f} s ({r['files_per_s']:,} files/s, "
                        f"{r['mb_per_s']} MB/s, average CPU {r['cpu_avg_pct']}% with "
                        f"{run.get('workers', 1)} worker(s))"))
    return out


def _rec(kind: str, figure, message: str) -> dict:
    return {"kind": kind, "message": message, "figure": figure}


def _rec_failed(run, a, rep):
    code = run.get("exit_code", 0)
    if not code or run.get("counters"):
        return []
    return [_rec("did_not_start", code,
                 f"the run stopped before the first directory with exit {code}: "
                 f"{run.get('message') or 'no message'}; nothing was measured")]


def _rec_errors(run, a, rep):
    errs = run.get("errors") or []
    if not errs:
        return []
    by: dict[tuple, int] = {}
    for e in errs:
        key = (e.get("op"), e.get("message"))
        by[key] = by.get(key, 0) + 1
    top = sorted(by.items(), key=lambda kv: -kv[1])[:3]
    what = "; ".join(f"{op}: {msg} x{n}" for (op, msg), n in top)
    skipped = (run.get("counters") or {}).get("deletes_skipped", 0)
    tail = f"; {skipped:,} deletions were withheld because of them" if skipped else ""
    return [_rec("errors", len(errs), f"{len(errs):,} entries failed ({what}){tail}: fix these "
                 f"first, every later figure is for a partial run")]


def _rec_big_files(run, a, rep):
    if not a or not a.get("total_bytes"):
        return []
    big = [f for f in a["largest"] if f["size"] >= BIG_FILE]
    big_bytes = sum(f["size"] for f in big)
    share = big_bytes / a["total_bytes"]
    el, copied = run.get("elapsed_s", 0), run.get("bytes_copied", 0)
    if not big or share < BIG_SHARE or not copied or not el:
        return []
    est = min(el, big_bytes / (copied / el))
    return [_rec("big_files", round(100 * est / el, 1),
                 f"{len(big)} file(s) of {human(min(f['size'] for f in big))} or more hold "
                 f"{pct(big_bytes, a['total_bytes'])}% of SRC's bytes; at this run's "
                 f"{copied / el / 1e6:.1f} MB/s copying them takes about {est:.2f} s, "
                 f"{100 * est / el:.0f}% of the {el:.2f} s run (largest: {big[0]['path']}, "
                 f"{human(big[0]['size'])}): exclude them if they are build outputs, or keep "
                 f"DST on a filesystem where copy_file_range can share extents")]


def _rec_imbalance(run, a, rep):
    ws = [w for w in run.get("per_worker") or [] if w.get("worker") != "coordinator"]
    if len(ws) < 2:
        return []
    hi = max(ws, key=lambda w: w["busy_s"])
    lo = min(ws, key=lambda w: w["busy_s"])
    if hi["busy_s"] < MIN_BUSY_S or hi["busy_s"] < IMBALANCE * max(lo["busy_s"], 1e-3):
        return []
    steals = sum(w.get("steals", 0) for w in ws)
    full = (a or {}).get("busiest_dirs") or []
    where = f"; the fullest directory, {full[0]['path']}, holds {full[0]['entries']:,} entries" if full else ""
    return [_rec("imbalance", round(hi["busy_s"] / max(lo["busy_s"], 1e-3), 1),
                 f"{hi['worker']} was busy {hi['busy_s']:.2f} s but {lo['worker']} only "
                 f"{lo['busy_s']:.2f} s ({steals} steals in all){where}: one task (a huge file "
                 f"or directory) dominated; more workers will not shorten it")]


def _rec_cpu(run, a, rep):
    r = rep["resources"]
    el, cpu, workers = run.get("elapsed_s", 0), r.get("cpu_avg_pct"), run.get("workers", 1)
    if cpu is None or el < MIN_ELAPSED_S:
        return []
    procs = workers + (1 if workers > 1 else 0)
    use = cpu / (100.0 * procs)
    cpus = (run.get("sizing") or {}).get("cpus")
    if use < LOW_CPU:
        rot = " on a rotational disk" if (run.get("sizing") or {}).get("rotational") else ""
        return [_rec("io_bound", cpu,
                     f"average CPU was {cpu}% for {procs} process(es) ({100 * use:.0f}% of what "
                     f"they could use){rot}: the run waited on storage, so more workers will "
                     f"not make it faster")]
    if use > HIGH_CPU and cpus and workers < cpus:
        return [_rec("cpu_bound", cpu,
                     f"average CPU was {cpu}% for {procs} process(es) ({100 * use:.0f}% busy) "
                     f"while {cpus} CPUs are usable: try --workers {cpus}")]
    return []


def _rec_sequential(run, a, rep):
    files, sizing = run.get("files_total", 0), run.get("sizing") or {}
    cpus = sizing.get("cpus") or 0
    if run.get("mode") != "sequential" or files < SEQUENTIAL_FILES or cpus < 2:
        return []
    return [_rec("sequential", files,
                 f"{files:,} files were synced in-process ({sizing.get('reason', '')}) although "
                 f"{cpus} CPUs are usable: --workers {cpus} would start the pool")]


def _rec_copy_path(run, a, rep):
    cp = rep["performance"]["copy_paths"]
    fallback = cp["buffered"] + cp["sendfile"]
    done = fallback + cp["copy_file_range"]
    if not done or fallback / done < 0.5:
        return []
    s = run.get("sizing") or {}
    return [_rec("copy_fallback", fallback,
                 f"{fallback:,} of {done:,} copies ran without copy_file_range (sendfile "
                 f"{cp['sendfile']:,}, buffered {cp['buffered']:,}) between "
                 f"{s.get('src_fs') or '?'} and {s.get('dst_fs') or '?'}: every byte crossed "
                 f"user space; a DST on the same filesystem type lets the kernel copy")]


def _rec_exclusions(run, a, rep):
    x = rep["exclusions"]
    out = []
    if x.get("redundant"):
        n, m = len(x["redundant"]), x.get("original_count", len(x.get("patterns", [])))
        out.append(_rec("redundant_patterns", n,
                        f"{n} of {m} exclusion patterns are redundant "
                        f"({', '.join(_pattern_names(x['redundant'][:5]))}): the optimized list has "
                        f"{x.get('optimized_count', m - n)} and excludes the same paths"))
    if x.get("active") and x.get("entries_total") and not x.get("entries_pruned"):
        out.append(_rec("patterns_unused", 0,
                        f"the exclusion patterns pruned 0 of {x['entries_total']:,} entries: "
                        f"check them against the tree ({', '.join(x.get('patterns', [])[:5])})"))
    return out


def _rec_baseline(run, a, rep):
    b = rep["performance"].get("baseline")
    if not b:
        return []
    m = b["metrics"]
    prev, cur = m["elapsed_s"]["previous"], m["elapsed_s"]["current"]
    if not prev or not cur or cur < MIN_ELAPSED_S or cur < SLOWER * prev:
        return []
    fc = m["files_copied"]
    return [_rec("slower_than_before", round(cur / prev, 2),
                 f"this run took {cur:.2f} s against {prev:.2f} s last time "
                 f"({b['previous_timestamp']}) for {m['files_total']['current']:,} files "
                 f"(was {m['files_total']['previous']:,}); files copied {fc['current']:,} "
                 f"(was {fc['previous']:,})")]


def _rec_noop(run, a, rep):
    files, el = run.get("files_total", 0), run.get("elapsed_s", 0)
    changed = run.get("files_copied", 0) + run.get("files_updated", 0) + run.get("files_deleted", 0)
    if changed or not files or el < MIN_ELAPSED_S:
        return []
    return [_rec("metadata_only", round(files / el, 1),
                 f"all {files:,} files were already up to date: the {el:.2f} s run was the "
                 f"metadata walk at {files / el:,.0f} files/s; schedule it less often or "
                 f"narrow it with exclusions")]


# --- the run report: Markdown -------------------------------------------------------

def to_markdown(rep: dict) -> str:
    out = ["# stealsync run report", "",
           f"`{rep['src']}` → `{rep['dst']}` · {rep['generated']} · exit {rep['exit_code']}"
           + (f" ({rep['message']})" if rep.get("message") else ""), ""]
    renderers = (_md_analysis, _md_performance, _md_exclusions, _md_resources, _md_recommendations)
    for i, ((key, title), render) in enumerate(zip(SECTIONS, renderers, strict=True), 1):
        out += [f"## {i}. {title}", ""] + render(rep[key]) + [""]
    return "\n".join(out)


def _md_table(header: list[str], rows: list[list], align: str = "") -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return lines


def _md_analysis(d: dict) -> list[str]:
    if not d.get("available"):
        return [f"Not available: {d.get('error', '')}"]
    lf = d["largest_file"]
    out = _md_table(["Metric", "Value"], [
        ["Total files", f"{d['files']:,}"],
        ["Total size", f"{d['total_bytes']:,} B ({human(d['total_bytes'])})"],
        ["Size on disk", f"{d['disk_bytes']:,} B ({human(d['disk_bytes'])})"],
        ["Directories", f"{d['dirs']:,}"],
        ["Max depth", str(d["max_depth"])],
        ["Median file depth", str(d["median_depth"])],
        ["Largest file", f"`{lf['path']}` ({lf['size']:,} B, {human(lf['size'])})" if lf else "none"],
        ["Symlinks / hard-linked / special", f"{d['symlinks']:,} / {d['hardlinked']:,} / {d['specials']:,}"],
        ["Analysis walk", f"{d['elapsed_s']:.3f} s ({d['mode']}, {d['workers']} worker(s))"],
    ])
    if d["types"]:
        out += ["", "### File type distribution", ""]
        out += _md_table(["Type", "Files", "% files", "Bytes", "% bytes"], [
            [f"`{k}`", f"{t['count']:,}", f"{pct(t['count'], d['files']):.1f}", f"{t['bytes']:,}",
             f"{pct(t['bytes'], d['total_bytes']):.1f}"] for k, t in d["types"].items()])
    if d["largest"]:
        out += ["", "### Largest files", ""]
        out += _md_table(["#", "Bytes", "Size", "Path"], [
            [i, f"{f['size']:,}", human(f["size"]), f"`{f['path']}`"] for i, f in enumerate(d["largest"], 1)],
            "rrrl")
    if d["size_histogram"]:
        top = max(b["count"] for b in d["size_histogram"])
        out += ["", "### Size histogram", "", "```"]
        out += _table([[bucket_label(b["lo"], b["hi"]), f"{b['count']:,}", bar(b["count"] / top)]
                       for b in d["size_histogram"]], right={1}, indent="")
        out += ["```"]
    if d["hints"]:
        out += ["", "### Bottleneck hints", ""]
        out += [f"- **{h['kind']}** ({h['figure']}): {h['message']}" for h in d["hints"]]
    return out


def _md_performance(p: dict) -> list[str]:
    s = p["sizing"] or {}
    cp = p["copy_paths"]
    facts = ", ".join(f"{k}: {_fmt_fact(k, s[k])}" for k in
                      ("cpus", "mem_available", "src_fs", "dst_fs", "same_device", "rotational", "network")
                      if k in s)
    out = _md_table(["", "Value"], [
        ["Mode", f"{p['mode']}: {p['mode_reason']}"],
        ["Pool size", f"{p['workers']} worker(s)" + (f"; sizing said {s['workers']}: {s.get('reason', '')}"
                                                     if s else "")],
        ["Machine facts (psutil)", facts or "not collected (the run stayed in-process)"],
        ["Copy path", f"copy_file_range {cp['copy_file_range']:,} · sendfile {cp['sendfile']:,} · "
                      f"buffered {cp['buffered']:,}"],
        ["Files streamed", f"{p['files_streamed']:,}"],
        ["Directories split", f"{p['dirs_split']:,} into {p['slices']:,} slices"],
        ["Steals", f"{p['steals']:,} ({p['stolen_tasks']:,} tasks stolen of {p['tasks']:,})"],
        ["Files", f"{p['files_total']:,} seen, {p['files_copied']:,} copied, "
                  f"{p['files_updated']:,} updated, {p['files_deleted']:,} deleted"],
        ["Bytes copied", f"{p['bytes_copied']:,} ({human(p['bytes_copied'])})"],
        ["Elapsed", f"{p['elapsed_s']:.3f} s"],
    ], "ll")
    b = p.get("baseline")
    out += ["", "### Before vs after", ""]
    if not b:
        return out + ["No baseline: this is the first report for this SRC/DST pair."]
    out += [f"Previous run: {b['previous_timestamp']} ({b['previous_mode']}).", ""]
    out += _md_table(["Metric", "Previous", "This run", "Change"], [
        [k, _fmt_num(v["previous"]), _fmt_num(v["current"]),
         "" if v["change_pct"] is None else f"{v['change_pct']:+.1f}%"] for k, v in b["metrics"].items()])
    return out


def _fmt_fact(k: str, v) -> str:
    if k == "mem_available" and isinstance(v, int):
        return human(v)
    return "yes" if v is True else "no" if v is False else str(v)


def _fmt_num(v) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "" if v is None else str(v)


def _md_exclusions(x: dict) -> list[str]:
    if not x.get("active"):
        return ["No exclusion patterns were given and no ignore file excluded anything."]
    rows = [["Original patterns", ", ".join(f"`{p}`" for p in x.get("patterns", [])) or "(ignore files only)"]]
    if x.get("optimized") is not None:
        rows.append(["Optimized patterns", ", ".join(f"`{p}`" for p in x["optimized"])])
        rows.append(["Pattern count", f"{x.get('original_count', '?')} → {x.get('optimized_count', '?')}"])
    if x.get("redundant"):
        rows.append(["Redundant", "<br>".join(
            f"`{r['pattern']}` ({r.get('source', '')}:{r.get('line', '')}): {r.get('reason', '')}"
            if isinstance(r, dict) else f"`{r}`" for r in x["redundant"])])
    if "equivalent" in x:
        rows.append(["Equivalent on this tree", "yes" if x["equivalent"] else "no"])
    if "entries_total" in x:
        rows.append(["Entries pruned", f"{x.get('entries_pruned', 0):,} of {x['entries_total']:,}"])
        rows.append(["Traversal reduction", f"{x.get('traversal_reduction_pct', 0)}%"])
    if x.get("optimize_error"):
        rows.append(["Pattern optimizer", f"failed: {x['optimize_error']}"])
    elif not x.get("optimize"):
        rows.append(["Pattern optimizer", "not available (engine.patterns); figures from the walk"])
    return _md_table(["", "Value"], rows, "ll")


def _md_resources(r: dict) -> list[str]:
    if not r["available"]:
        out = ["Resource sampling was not available for this run.", ""]
    else:
        out = _md_table(["", "Value"], [
            ["Peak memory, all processes (PSS)", f"{r['peak_pss_bytes']:,} B ({human(r['peak_pss_bytes'])})"],
            ["Peak memory, all processes (RSS sum)", f"{r['peak_rss_bytes']:,} B ({human(r['peak_rss_bytes'])})"],
            ["CPU average / peak", f"{r['cpu_avg_pct']}% / {r['cpu_peak_pct']}%"],
            ["Sampler cost", f"{r['samples']} samples, {r['sampler_cpu_s']} s CPU "
                             f"({r['sampler_overhead_pct']}% of the run)"],
        ], "ll") + [""]
    out += _md_table(["", "Value"], [
        ["Workers", str(r["workers"])],
        ["Files/s", f"{r['files_per_s']:,}"],
        ["MB/s (copied)", str(r["mb_per_s"])],
    ], "ll")
    if r["per_worker"]:
        out += ["", "### Per-worker busy time", ""]
        out += _md_table(["Worker", "Busy s", "% of run", "Tasks", "Steals", "Files", "Bytes"], [
            [w["worker"], w["busy_s"], w["busy_pct"], f"{w['tasks']:,}", f"{w['steals']:,}",
             f"{w['files']:,}", f"{w['bytes']:,}"] for w in r["per_worker"]])
    return out


def _md_recommendations(recs: list[dict]) -> list[str]:
    return [f"{i}. {r['message']} (`{r['kind']}`: {r['figure']})" for i, r in enumerate(recs, 1)]


def _pattern_names(redundant) -> list[str]:
    """The patterns of the optimizer's ``redundant`` records."""
    return [r["pattern"] if isinstance(r, dict) else str(r) for r in redundant]
