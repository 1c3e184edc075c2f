"""The run report (--report / ``report`` in --json), resource sampling,
--profile merging and --log-file: real runs of the CLI on generated trees,
plus the pure report builder on plain data."""

from __future__ import annotations

import json
import os
import pstats
import re
import subprocess
import sys
import time

import pytest
from conftest import ok, run_sync
from mktree import make_tree
from treecmp import compare

from engine.profiling import merge
from engine.report import SECTIONS, build_report, to_markdown
from engine.resources import ResourceSampler

TITLES = [t for _, t in SECTIONS]


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("STEALSYNC_STATE_DIR", str(d))  # the CLI subprocesses inherit it
    return d


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep") / "src"
    make_tree(str(root), "small", 800, seed=7)
    return root


def headings(md: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"^## (\d)\. (.+)$", md, re.M)]


def row(md: str, name: str) -> str:
    m = re.search(rf"^\| {re.escape(name)} \| (.*) \|$", md, re.M)
    assert m, name
    return m.group(1)


# --- real runs -----------------------------------------------------------------------

def test_report_sections_numbers_and_baseline(tree, tmp_path, state):
    dst, rep, log = tmp_path / "dst", tmp_path / "r.md", tmp_path / "runs.jsonl"
    args = ("--json", "--report", rep, "--log-file", log, "--workers", "2", "--pool-threshold", "50")
    d = ok(run_sync(tree, dst, *args)).json
    md = rep.read_text()
    r = d["report"]
    assert headings(md) == TITLES == r["sections"]
    assert list(r)[-5:] == [k for k, _ in SECTIONS]

    # 1. the analysis walk agrees with the sync's own counts
    a = r["directory_analysis"]
    assert (a["files"], a["total_bytes"]) == (d["files_total"], d["bytes_total"]) == (800, a["total_bytes"])
    assert row(md, "Total files") == f"{d['files_total']:,}"
    assert row(md, "Total size").startswith(f"{d['bytes_total']:,} B")
    assert a["largest_file"]["path"] in row(md, "Largest file")
    # 2. performance: the counters of this run, verbatim
    c = d["counters"]
    assert row(md, "Copy path") == (f"copy_file_range {c['copy_range']:,} · sendfile {c['copy_sendfile']:,} "
                                    f"· buffered {c['copy_buffered']:,}")
    assert row(md, "Steals").startswith(f"{c['steals']:,} ")
    assert row(md, "Mode").startswith(d["mode"] + ":")
    assert row(md, "Pool size").startswith(f"{d['workers']} worker(s); sizing said {d['sizing']['workers']}")
    assert "No baseline" in md
    # 4. resources
    res = d["resources"]
    assert row(md, "Peak memory, all processes (PSS)").startswith(f"{res['peak_pss_bytes']:,} B")
    assert row(md, "CPU average / peak") == f"{res['cpu_avg_pct']}% / {res['cpu_peak_pct']}%"
    assert res["samples"] >= 1 and res["sampler_cpu_s"] < d["elapsed_s"]
    assert row(md, "Workers") == str(d["workers"])
    for w in d["per_worker"]:
        assert re.search(rf"^\| {w['worker']} \| {w['busy_s']} \|", md, re.M)
    # 5. recommendations, each with its figure
    assert r["recommendations"] and all(set(x) == {"kind", "message", "figure"} for x in r["recommendations"])
    assert len(re.findall(r"^\d+\. ", md.split("## 5.")[1], re.M)) == len(r["recommendations"])

    # the baseline is kept outside DST; the next run compares against it
    assert [p.name.startswith("pair-") for p in state.iterdir()] == [True]
    d2 = ok(run_sync(tree, dst, *args)).json
    b = d2["report"]["performance"]["baseline"]
    assert b["metrics"]["files_copied"] == {"previous": 800, "current": 0, "change_pct": -100.0}
    assert b["metrics"]["elapsed_s"]["previous"] == d["elapsed_s"]
    assert "Previous run:" in rep.read_text()
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["files_copied"] for x in lines] == [800, 0]
    assert lines[0]["peak_rss_bytes"] == res["peak_rss_bytes"] and lines[0]["exit_code"] == 0


def test_log_and_report_when_the_run_fails(tmp_path, state):
    log, rep = tmp_path / "runs.jsonl", tmp_path / "r.md"
    for _ in range(2):
        run = run_sync(tmp_path / "missing", tmp_path / "dst", "--log-file", log, "--report", rep)
        assert run.code == 3, run
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 2
    x = lines[0]
    assert (x["exit_code"], x["files_total"], x["bytes_copied"]) == (3, 0, 0)
    assert "missing" in x["message"] and x["peak_rss_bytes"] > 0 and x["ts"].endswith("Z")
    md = rep.read_text()
    assert headings(md) == TITLES and "Not available" in md and "did_not_start" in md
    assert not state.exists()  # failed runs never become baselines


def test_state_dir_inside_dst_is_refused(tree, tmp_path, monkeypatch):
    dst = tmp_path / "dst"
    monkeypatch.setenv("STEALSYNC_STATE_DIR", str(dst / "state"))
    run = ok(run_sync(tree, dst, "--report", tmp_path / "r.md"))
    assert "baseline not kept" in run.err
    assert not (dst / "state").exists()


def test_report_exclusions_agree_with_the_sync(tree, tmp_path):
    rep = tmp_path / "r.md"
    d = ok(run_sync(tree, tmp_path / "dst", "--json", "--report", rep, "--exclude", "*.c",
                    "--exclude", "core/")).json
    a, x = d["report"]["directory_analysis"], d["report"]["exclusions"]
    assert (a["files"], a["total_bytes"]) == (d["files_total"], d["bytes_total"])
    assert x["active"] and x["patterns"] == ["*.c", "core/"]
    # entries_pruned counts entries never visited (inside excluded dirs);
    # excluded files are listed but never stat'ed or copied.
    assert x["entries_pruned"] + x["files_excluded"] > 0 and x["equivalent"] is True
    assert row(rep.read_text(), "Traversal reduction") == f"{x['traversal_reduction_pct']}%"


def test_profile_merges_and_changes_nothing(tree, tmp_path):
    prof = tmp_path / "prof"
    a = ok(run_sync(tree, tmp_path / "a", "--profile", prof, "--workers", "2", "--pool-threshold", "50"))
    ok(run_sync(tree, tmp_path / "b", "--workers", "2", "--pool-threshold", "50"))
    assert not compare(tmp_path / "a", tmp_path / "b")
    assert not compare(tree, tmp_path / "a")
    names = sorted(p.name for p in prof.iterdir())
    assert "merged.prof" in names and "coordinator.prof" in names and "worker-0.prof" in names
    s = pstats.Stats(str(prof / "merged.prof"))
    assert s.total_calls > 0
    assert any(func == "run_task" and file.endswith("dirsync.py") for file, _l, func in s.stats)
    assert "top 15 by cumulative time" in a.err and "cumtime" in a.err
    p = subprocess.run([sys.executable, "-m", "pstats", str(prof / "merged.prof")], input="stats 3\nquit\n",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "function calls" in p.stdout


def test_merge_skips_profiles_of_earlier_runs(tmp_path):
    import cProfile

    def this_run():
        return sum(range(10))

    def earlier_run():
        return sum(range(10))

    for name, fn in (("coordinator", this_run), ("worker-0", this_run), ("worker-7", earlier_run)):
        pr = cProfile.Profile()
        pr.runcall(fn)
        pr.dump_stats(str(tmp_path / f"{name}.prof"))
    old = time.time() - 3600
    os.utime(tmp_path / "worker-7.prof", (old, old))  # left over by a bigger run
    path, text = merge(str(tmp_path), 5, since=time.time() - 60)
    funcs = {f for _file, _line, f in pstats.Stats(path).stats}
    assert "this_run" in funcs and "earlier_run" not in funcs
    assert pstats.Stats(path).stats[next(k for k in pstats.Stats(path).stats if k[2] == "this_run")][1] == 2
    assert "function calls" in text
    assert merge(str(tmp_path / "none"))[0] == ""


# --- resources --------------------------------------------------------------------------

def test_sampler_sums_processes_and_measures_itself():
    child = subprocess.Popen([sys.executable, "-c",
                              "import time\nb = bytearray(64 << 20)\nt = time.time()\n"
                              "while time.time() - t < 0.8: pass\n"])
    try:
        s = ResourceSampler(interval_s=0.05)
        s.start(lambda: [os.getpid(), child.pid])
        time.sleep(0.6)
        got = s.stop()
    finally:
        child.kill()
        child.wait()
    assert got["samples"] >= 4
    assert got["peak_rss_bytes"] >= 64 << 20 and got["peak_processes"] == 2
    assert got["cpu_peak_pct"] >= 50  # the child spins
    assert 0 < got["sampler_cpu_s"] < got["wall_s"] and got["sampler_overhead_pct"] < 100
    assert set(got) >= {"peak_rss_bytes", "peak_pss_bytes", "cpu_avg_pct", "cpu_peak_pct",
                        "samples", "sampler_cpu_s"}


# --- the pure builder -------------------------------------------------------------------

def _run(**kw) -> dict:
    run = {"run": {"src": "/s", "dst": "/d"}, "exit_code": 0, "elapsed_s": 10.0, "mode": "pool",
           "workers": 4, "files_total": 1000, "files_copied": 1000, "files_updated": 0,
           "files_deleted": 0, "bytes_copied": 4 << 30, "bytes_total": 4 << 30, "errors": [],
           "sizing": {"workers": 4, "reason": "4 usable CPUs", "cpus": 4, "rotational": False},
           "counters": {"copy_range": 1000, "steals": 3},
           "per_worker": [{"worker": "coordinator", "busy_s": 0.1, "tasks": 1, "steals": 0, "files": 0, "bytes": 0}]
           + [{"worker": f"worker-{i}", "busy_s": b, "tasks": 5, "steals": 1, "files": 250, "bytes": 1}
              for i, b in enumerate((9.0, 1.0, 1.2, 0.9))],
           "resources": {"peak_rss_bytes": 1 << 28, "peak_pss_bytes": 1 << 27, "cpu_avg_pct": 40.0,
                         "cpu_peak_pct": 90.0, "samples": 20, "sampler_cpu_s": 0.03,
                         "sampler_overhead_pct": 0.3}}
    run.update(kw)
    return run


def _analysis() -> dict:
    return {"files": 1000, "dirs": 10, "symlinks": 0, "specials": 0, "hardlinked": 0,
            "total_bytes": 4 << 30, "disk_bytes": 4 << 30, "max_depth": 3, "median_depth": 2,
            "largest": [{"path": "big.iso", "size": 3 << 30}, {"path": "a.c", "size": 100}],
            "types": {".iso": {"count": 1, "bytes": 3 << 30}}, "size_histogram": [],
            "busiest_dirs": [{"path": ".", "entries": 900}], "hints": [], "elapsed_s": 0.1,
            "mode": "pool", "workers": 4, "exclusion": None}


def test_recommendations_come_from_the_numbers():
    errs = [{"path": "x", "op": "copy", "errno": 13, "message": "Permission denied"}] * 3
    rep = build_report(_run(errors=errs), _analysis(), None)
    recs = {r["kind"]: r for r in rep["recommendations"]}
    assert set(recs) == {"errors", "big_files", "imbalance", "io_bound"}
    assert recs["errors"]["figure"] == 3 and "copy: Permission denied x3" in recs["errors"]["message"]
    # 3 GiB of 4 GiB copied at 429.5 MB/s -> 7.5 s of the 10 s run
    assert recs["big_files"]["figure"] == 75.0 and "big.iso" in recs["big_files"]["message"]
    assert recs["imbalance"]["figure"] == 10.0 and "worker-0 was busy 9.00 s" in recs["imbalance"]["message"]
    assert recs["io_bound"]["figure"] == 40.0 and "5 process(es)" in recs["io_bound"]["message"]
    md = to_markdown(rep)
    assert headings(md) == TITLES
    assert md.index("## 5.") < md.index(recs["imbalance"]["message"])


def test_quiet_run_still_quotes_its_figures():
    run = _run(per_worker=[], errors=[], elapsed_s=0.5, bytes_copied=0, files_copied=0)
    rep = build_report(run, None, None, "skipped")
    assert [r["kind"] for r in rep["recommendations"]] == ["none"]
    assert "2,000.0 files/s" in rep["recommendations"][0]["message"]
    assert rep["directory_analysis"] == {"available": False, "error": "skipped"}


def test_baseline_comparison():
    prev = {"timestamp": "t0", "mode": "pool", "elapsed_s": 2.0, "files_total": 1000, "files_copied": 10}
    rep = build_report(_run(elapsed_s=5.0), _analysis(), prev)
    m = rep["performance"]["baseline"]["metrics"]
    assert m["elapsed_s"] == {"previous": 2.0, "current": 5.0, "change_pct": 150.0}
    slow = [r for r in rep["recommendations"] if r["kind"] == "slower_than_before"]
    assert slow and slow[0]["figure"] == 2.5
    assert "| elapsed_s | 2.0 | 5.0 | +150.0% |" in to_markdown(rep)
