"""Engine targets of the work-stealing issue, measured side by side:

1. ``--checksum`` re-sync of the skewed corpus (40% of the files in one
   directory) with 1 worker vs 2 workers, interleaved run by run; the speed-up
   and the spread of per-worker busy time (from ``--json``).
2. The machine's own parallel headroom: a CPU-bound Python loop run alone and
   as two concurrent processes (on shared 2-vCPU machines the two vCPUs are
   often not independent, which caps every parallel speed-up).
3. Peak memory summed over all processes (PSS) for an initial copy and a
   no-op re-sync at N files and at 10*N files (``--million`` for 100k -> 1M).

    python perf/scaling.py                 # 100k skewed + memory at 100k and 1M
    python perf/scaling.py --files 20000   # a quicker look
Results: perf/results/scaling-<date>.json and perf/SCALING.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from bench import measure  # noqa: E402
from mktree import make_tree  # noqa: E402

OURS = os.path.join(ROOT, ".venv", "bin", "stealsync")
if not os.path.exists(OURS):
    OURS = shutil.which("stealsync") or "stealsync"

_LOOP = "import time\nt=time.perf_counter()\nx=0\nfor i in range(8_000_000): x+=i\nprint(time.perf_counter()-t)"


def cpu_headroom(runs: int) -> dict:
    """Seconds of a fixed CPU-bound loop alone and with a twin running."""
    alone, paired = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _LOOP], capture_output=True, text=True)
        alone.append(float(out.stdout))
        ps = [subprocess.Popen([sys.executable, "-c", _LOOP], stdout=subprocess.PIPE, text=True)
              for _ in range(2)]
        paired.append(max(float(p.communicate()[0]) for p in ps))
    a, p = statistics.median(alone), statistics.median(paired)
    return {"alone_s": a, "two_at_once_s": p, "max_speedup_2": round(2 * a / p, 3)}


def sync_json(args: list[str]) -> tuple[dict, dict]:
    """Run one sync with --json under the harness's measure(); returns
    (measure figures, the run's JSON)."""
    log = f"/tmp/scaling-{os.getpid()}.out"
    if os.path.exists(log):
        os.unlink(log)
    m = measure([OURS, "sync", *args, "--json", "--no-progress"], log_path=log)
    with open(log, "rb") as f:
        lines = [ln for ln in f.read().decode().splitlines() if ln.startswith("{")]
    os.unlink(log)
    return m, json.loads(lines[-1])


def busy_spread(js: dict) -> float:
    busy = [w["busy_s"] for w in js["per_worker"] if w["worker"] != "coordinator"]
    if len(busy) < 2 or max(busy) == 0:
        return 0.0
    return (max(busy) - min(busy)) / max(busy)


def checksum_scaling(root: str, files: int, runs: int) -> dict:
    src, dst = os.path.join(root, f"skewed-{files}"), os.path.join(root, f"skewed-{files}-dst")
    if not os.path.isdir(src):
        make_tree(src, "skewed", files, 1)
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run([OURS, "sync", src, dst, "--no-progress"], check=True)
    rows = {"1": [], "2": []}
    for _ in range(runs):
        for w in (1, 2):
            m, js = sync_json([src, dst, "-c", "--workers", str(w)])
            assert js["exit_code"] == 0, js
            rows[str(w)].append({"wall_s": m["wall_s"], "cpu_s": m["cpu_s"], "elapsed_s": js["elapsed_s"],
                            "mode": js["mode"], "busy_spread": busy_spread(js),
                            "busy_s": [x["busy_s"] for x in js["per_worker"]],
                            "steals": sum(x["steals"] for x in js["per_worker"]),
                            "mem_mb": m["peak_mem_sum_mb"]})
    w1 = statistics.median(r["wall_s"] for r in rows["1"])
    w2 = statistics.median(r["wall_s"] for r in rows["2"])
    pairs = [a["wall_s"] / b["wall_s"] for a, b in zip(rows["1"], rows["2"], strict=True)]
    shutil.rmtree(dst, ignore_errors=True)
    return {"files": files, "runs": rows, "wall_1_s": w1, "wall_2_s": w2,
            "speedup_median": round(w1 / w2, 3), "speedup_pairs": [round(p, 3) for p in pairs],
            "busy_spread_median": round(statistics.median(r["busy_spread"] for r in rows["2"]), 4)}


def memory_at(root: str, files: int) -> dict:
    src, dst = os.path.join(root, f"small-{files}"), os.path.join(root, f"small-{files}-dst")
    if not os.path.isdir(src):
        make_tree(src, "small", files, 1)
    shutil.rmtree(dst, ignore_errors=True)
    out = {"files": files}
    for scen in ("initial", "noop"):
        m, js = sync_json([src, dst, "--delete"])
        assert js["exit_code"] == 0, js
        out[scen] = {"wall_s": round(m["wall_s"], 3), "peak_pss_sum_mb": m["peak_mem_sum_mb"],
                     "max_rss_mb": m["max_rss_mb"], "mode": js["mode"], "workers": js["workers"]}
    shutil.rmtree(dst, ignore_errors=True)
    return out


def write_markdown(data: dict, path: str) -> None:
    lines = ["# Engine memory at N and 10N files", "",
             f"Regenerated by `python perf/scaling.py --memory-only --root {data['where']} "
             f"--memory-files N 10N` on {data['date']} (a disk filesystem: 1M files do not fit "
             "in this machine's tmpfs twice).", ""]
    if "checksum" in data:
        lines = _scaling_lines(data)
    _memory_lines(data, lines)
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _scaling_lines(data: dict) -> list[str]:
    c, h = data["checksum"], data["cpu"]
    return [
        "# Engine scaling and memory",
        "",
        f"Regenerated by `python perf/scaling.py` on {data['date']} ({data['where']}; "
        f"{data['runs']} runs per setting, interleaved, medians).",
        "",
        "## The machine's parallel headroom",
        "",
        f"A CPU-bound Python loop: {h['alone_s']:.2f} s alone, {h['two_at_once_s']:.2f} s when two "
        f"run at once: no program can run more than **{h['max_speedup_2']:.2f}x** faster on two "
        "processes here than on one.",
        "",
        f"## `--checksum` re-sync, skewed corpus ({c['files']:,} files, 40% in one directory)",
        "",
        "| workers | wall s (median) | busy-time spread | steals |",
        "|---:|---:|---:|---:|",
        f"| 1 | {c['wall_1_s']:.2f} | – | – |",
        f"| 2 | {c['wall_2_s']:.2f} | {100 * c['busy_spread_median']:.1f}% | "
        f"{statistics.median(r['steals'] for r in c['runs']['2']):.0f} |",
        "",
        f"Speed-up 1 -> 2 workers: **{c['speedup_median']:.2f}x** (run pairs: "
        f"{', '.join(f'{p:.2f}' for p in c['speedup_pairs'])}); target 1.7x, busy times within 10%.",
        "",
    ]


def _memory_lines(data: dict, lines: list[str]) -> None:
    if data.get("memory"):
        lines += ["## Peak memory summed over all processes (PSS)", "",
                  "| files | scenario | wall s | PSS sum MB | largest process RSS MB | mode |",
                  "|---:|---|---:|---:|---:|---|"]
        for m in data["memory"]:
            for scen in ("initial", "noop"):
                r = m[scen]
                lines.append(f"| {m['files']:,} | {scen} | {r['wall_s']:.2f} | "
                             f"{r['peak_pss_sum_mb']:.1f} | {r['max_rss_mb']:.1f} | {r['mode']} |")
        lines.append("")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/dev/shm/stealsync-scaling")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory-files", type=int, nargs="*", default=None,
                    help="tree sizes for the memory rows (default: FILES and 10*FILES)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true",
                    help="only the memory rows (e.g. on a disk root for 1M files)")
    ap.add_argument("--keep", action="store_true", help="keep the generated corpora")
    a = ap.parse_args(argv)
    os.makedirs(a.root, exist_ok=True)
    date = dt.date.today().isoformat()
    data = {"date": date, "where": f"{a.root} (tmpfs)" if a.root.startswith("/dev/shm") else a.root,
            "runs": a.runs, "time": time.time()}
    if not a.memory_only:
        data["cpu"] = cpu_headroom(a.runs)
        print(f"cpu headroom: {data['cpu']}", flush=True)
        data["checksum"] = checksum_scaling(a.root, a.files, a.runs)
        print(f"checksum 1 vs 2 workers: {data['checksum']['speedup_median']}x, busy spread "
              f"{data['checksum']['busy_spread_median']}", flush=True)
    if not a.no_memory:
        sizes = a.memory_files or [a.files, 10 * a.files]
        data["memory"] = []
        for n in sizes:
            data["memory"].append(memory_at(a.root, n))
            print(f"memory at {n}: {data['memory'][-1]}", flush=True)
            if not a.keep:
                shutil.rmtree(os.path.join(a.root, f"small-{n}"), ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    tag = "memory" if a.memory_only else "scaling"
    with open(os.path.join(HERE, "results", f"{tag}-{date}.json"), "w") as f:
        json.dump(data, f, indent=1)
    write_markdown(data, os.path.join(HERE, "MEMORY.md" if a.memory_only else "SCALING.md"))
    if not a.keep:
        shutil.rmtree(a.root, ignore_errors=True)
    print(open(os.path.join(HERE, "MEMORY.md" if a.memory_only else "SCALING.md")).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
