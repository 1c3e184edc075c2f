#!/usr/bin/env python3
"""stealsync benchmark harness.

    python perf/bench.py --quick            # short set (~3 min): 20k small, 2 GB large, 50-file tree
    python perf/bench.py --full             # 100k corpora, deep, mixed, Linux 6.1 source
    python perf/bench.py --prepare-linux    # install + unpack the Linux 6.1 source tree only
    python perf/bench.py --report perf/results/2024-01-01.json   # re-render md/png only

Corpora are generated with scripts/mktree.py under ROOT/stealsync-bench
(ROOT = /dev/shm by default, --root DIR for a disk filesystem) and cached
there.  Tools are interleaved run by run (A B C A B C ...), DST is prepared
outside the timed part, and the page cache is dropped between runs where the
kernel lets us (otherwise only sync(2)).  For every timed run we record wall
time, user+sys CPU (os.wait4 rusage), the peak of the summed PSS of the tool's
process tree (psutil, sampled every ~50 ms) and the max single-process RSS.
Results go to perf/results/<date>.json, perf/RESULTS.md and
perf/results/<date>.png.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "scripts"))

import mktree  # noqa: E402

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is a dev dependency
    psutil = None

MB = 1_000_000
MiB = 1 << 20

# ---------------------------------------------------------------------------
# catalogue

CORPORA = {
    # name: mktree arguments
    "tiny-50": dict(shape="small", files=50, seed=1),
    "small-20k": dict(shape="small", files=20_000, seed=1),
    "large-2g": dict(shape="large", files=20, seed=1, size_mb=100),
    "small-100k": dict(shape="small", files=100_000, seed=1),
    "skewed-100k": dict(shape="skewed", files=100_000, seed=1),
    "deep-300": dict(shape="deep", files=2_000, seed=1),
    "mixed-20k": dict(shape="mixed", files=20_000, seed=1),
    "linux-6.1": dict(shape="linux"),
}
SETS = {
    "quick": ["small-20k", "large-2g", "tiny-50"],
    "full": ["small-100k", "skewed-100k", "linux-6.1", "large-2g",
             "mixed-20k", "deep-300", "tiny-50"],
    "linux": ["linux-6.1"],
}
SCENARIOS = ["initial", "noop", "checksum", "mutate1"]
SCENARIO_TITLES = {
    "initial": "initial copy", "noop": "no-op re-sync",
    "checksum": "--checksum re-sync", "mutate1": "re-sync after --mutate 1",
}
TOOLS = ["stealsync", "cp", "rsync", "rclone"]
OURS = "stealsync"
# Tools that run in each scenario (cp only copies into an empty DST).
SCENARIO_TOOLS = {
    "initial": ["stealsync", "cp", "rsync", "rclone"],
    "noop": ["stealsync", "rsync", "rclone"],
    "checksum": ["stealsync", "rsync", "rclone"],
    "mutate1": ["stealsync", "rsync", "rclone"],
}
TINY = "tiny-50"          # end-to-end latency corpus: initial copy, ours only
TINY_MIN_RUNS = 10
LINUX_PKG = "linux-source-6.1"
LINUX_TAR = "/usr/src/linux-source-6.1.tar.xz"
APT_PKG = {"rsync": "rsync", "rclone": "rclone", "cp": "coreutils"}

# ---------------------------------------------------------------------------
# small helpers


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_quiet(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def rmtree(path):
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=False)


def copy_tree(src, dst):
    """Exact copy (cp -a), dst must not exist."""
    os.makedirs(dst)
    r = run_quiet(["cp", "-a", src + "/.", dst])
    if r.returncode:
        raise RuntimeError(f"cp -a {src} {dst} failed: {r.stdout}")


def restore_tree(src, dst):
    """Make dst an exact mirror of src again (outside the timed part)."""
    if shutil.which("rsync") and os.path.isdir(dst):
        r = run_quiet(["rsync", "-a", "--delete", src + "/", dst + "/"])
        if r.returncode == 0:
            return
    rmtree(dst)
    copy_tree(src, dst)


_DROP = None


def drop_caches(want=True):
    """sync, then (if want) drop the page cache if /proc/sys/vm/drop_caches
    is writable.  Returns True if caches were dropped."""
    global _DROP
    os.sync()
    if not want or _DROP is False:
        return False
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        _DROP = True
    except OSError:
        _DROP = False
    return _DROP


def prefault(nbytes, where):
    """Touch nbytes of memory right before a timed run, outside the timed part.

    On virtual machines whose balloon reports free pages back to the host,
    memory freed a few seconds ago costs a host fault on first touch; a tool
    that runs after a pause would then pay several times more for writing
    the same tmpfs/page-cache pages than one that runs right after another.
    Writing (and deleting) a scratch file of the size the tool will
    allocate puts hot pages on the free lists for whoever runs next."""
    if psutil is not None:
        nbytes = min(nbytes, psutil.virtual_memory().available - 768 * MiB)
    if nbytes <= 0:
        return 0.0
    t = time.perf_counter()
    path = os.path.join(where, f".prefault-{os.getpid()}")
    buf = bytes(4 * MiB)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        for _ in range(nbytes // len(buf) + 1):
            os.write(fd, buf)
    finally:
        os.close(fd)
        os.unlink(path)
    return time.perf_counter() - t


def tree_stats(root):
    files = dirs = links = nbytes = 0
    stack = [root]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    dirs += 1
                    stack.append(e.path)
                elif e.is_symlink():
                    links += 1
                elif e.is_file(follow_symlinks=False):
                    files += 1
                    nbytes += e.stat(follow_symlinks=False).st_size
    return {"files": files, "dirs": dirs, "symlinks": links, "bytes": nbytes}


def tree_meta(root):
    """rel path -> (kind, size, mtime_ns, mode, link target)."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            for e in it:
                r = os.path.join(rel, e.name) if rel else e.name
                st = e.stat(follow_symlinks=False)
                if e.is_dir(follow_symlinks=False):
                    out[r] = ("d", 0, 0, st.st_mode & 0o7777, None)
                    stack.append(r)
                elif e.is_symlink():
                    out[r] = ("l", 0, 0, 0, os.readlink(e.path))
                else:
                    out[r] = ("f", st.st_size, st.st_mtime_ns,
                              st.st_mode & 0o7777, None)
    return out


def verify(src_meta, dst, check_modes=True):
    """Compare DST against SRC metadata: names, types, sizes, file mtimes,
    symlink targets (and permission bits unless check_modes is False).
    Returns (ok, message)."""
    dm = tree_meta(dst)
    missing = [k for k in src_meta if k not in dm]
    extra = [k for k in dm if k not in src_meta]
    diff = []
    for k, s in src_meta.items():
        d = dm.get(k)
        if d is None:
            continue
        if s[0] != d[0] or s[4] != d[4]:
            diff.append(k)
        elif s[0] == "f" and (s[1] != d[1] or s[2] != d[2]):
            diff.append(k)
        elif check_modes and s[0] == "f" and s[3] != d[3]:
            diff.append(k)
    ok = not missing and not diff
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {sorted(missing)[0]})")
    if diff:
        parts.append(f"{len(diff)} differ (e.g. {sorted(diff)[0]})")
    if extra:
        parts.append(f"{len(extra)} extra (e.g. {sorted(extra)[0]})")
    return ok, "; ".join(parts) or "identical"


# ---------------------------------------------------------------------------
# measurement


TIME_BIN = "/usr/bin/time"


def _vm_hwm(pid):
    """Peak RSS (VmHWM) of the current address space of pid, in bytes."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_mem(proc, skip_root):
    """(summed PSS or RSS, kind, largest VmHWM) of proc's process tree."""
    try:
        procs = proc.children(recursive=True)
        if not skip_root:
            procs.insert(0, proc)
    except psutil.Error:
        return 0, "pss", 0
    total, kind, hwm = 0, "pss", 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.AccessDenied, AttributeError):
            try:
                total += p.memory_info().rss
                kind = "rss"
            except psutil.Error:
                pass
        except psutil.Error:
            pass
        hwm = max(hwm, _vm_hwm(p.pid))
    return total, kind, hwm


def measure(cmd, env=None, log_path=None, interval=0.05, tmpdir="/tmp"):
    """Run cmd; return wall/cpu/memory figures.

    Wall time ends when os.wait4 returns (in a helper thread), so sampling
    does not skew it.  The tool is started under /usr/bin/time when present:
    the max RSS that wait4 reports for a direct child of this process would
    include this (large) Python process, because the kernel carries the
    pre-exec peak over; /usr/bin/time is tiny, so its %M is the tool's own
    peak single-process RSS.  CPU (user+sys) comes from our wait4, which
    covers the whole tree the tool waited for."""
    use_time = os.access(TIME_BIN, os.X_OK)
    timef = os.path.join(tmpdir, f"bench-time-{os.getpid()}.txt")
    full = [TIME_BIN, "-f", "%M", "-o", timef] + list(cmd) if use_time else cmd
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    done = threading.Event()
    res = {}
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=env,
                             stdin=subprocess.DEVNULL)

        def waiter():
            _pid, status, ru = os.wait4(p.pid, 0)
            res["t1"] = time.perf_counter()
            res["status"] = status
            res["ru"] = ru
            done.set()

        th = threading.Thread(target=waiter, daemon=True)
        th.start()
        peak, kind, samples, hwm = 0, "pss", 0, 0
        proc = None
        if psutil is not None:
            try:
                proc = psutil.Process(p.pid)
            except psutil.Error:
                proc = None
        while not done.is_set():
            if proc is not None:
                m, k, h = _tree_mem(proc, skip_root=use_time)
                if not done.is_set() and m:
                    samples += 1
                    if k == "rss":
                        kind = "rss"
                    peak = max(peak, m)
                    hwm = max(hwm, h)
            done.wait(interval)
        th.join()
        p.returncode = os.waitstatus_to_exitcode(res["status"])
    finally:
        if log_path:
            out.close()
    ru = res["ru"]
    maxrss_kb, rss_src = ru.ru_maxrss, "wait4 (includes the spawning Python process)"
    if use_time:
        try:
            with open(timef) as f:
                maxrss_kb = int(f.read().split()[-1])
            rss_src = "wait4 via /usr/bin/time"
        except (OSError, ValueError, IndexError):
            pass
        try:
            os.unlink(timef)
        except OSError:
            pass
    rc = p.returncode
    return {
        "wall_s": res["t1"] - t0,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_mem_sum_mb": peak / MB if samples else None,
        "mem_kind": kind,
        "mem_samples": samples,
        "max_rss_mb": maxrss_kb * 1024 / MB,
        "max_rss_source": rss_src,
        "sampled_hwm_mb": hwm / MB if samples else None,
        "rc": rc,
    }


# ---------------------------------------------------------------------------
# tools


def stealsync_path(opt):
    if opt:
        return opt
    cand = os.path.join(REPO, ".venv", "bin", "stealsync")
    if os.access(cand, os.X_OK):
        return cand
    return shutil.which("stealsync")


def tool_cmd(tool, scenario, src, dst, ours):
    checksum = scenario == "checksum"
    if tool == "stealsync":
        return [ours, "sync", src, dst, "--delete"] + (["--checksum"] if checksum else [])
    if tool == "cp":
        return ["cp", "-a", src + "/.", dst]
    if tool == "rsync":
        return ["rsync", "-a", "--delete"] + (["-c"] if checksum else []) + \
            [src + "/", dst + "/"]
    if tool == "rclone":
        # --create-empty-src-dirs: mirror empty directories like the others
        return ["rclone", "sync", src, dst, "--links", "--create-empty-src-dirs"] + \
            (["--checksum"] if checksum else [])
    raise ValueError(tool)


def tool_version(tool, ours):
    try:
        if tool == "stealsync":
            r = run_quiet([ours, "--version"], timeout=30)
            if r.returncode == 0 and r.stdout.strip():
                return r.stdout.strip().splitlines()[0]
            r = run_quiet([os.path.join(os.path.dirname(ours), "python"), "-c",
                           "import importlib.metadata as m;"
                           "print(m.version('stealsync'))"], timeout=30)
            v = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "?"
            return f"stealsync {v} (git {git_rev()})"
        if tool == "rclone":
            r = run_quiet(["rclone", "version"], timeout=30)
        else:
            r = run_quiet([tool, "--version"], timeout=30)
        return r.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def git_rev():
    r = run_quiet(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    rev = r.stdout.strip() if r.returncode == 0 else "none"
    d = run_quiet(["git", "-C", REPO, "status", "--porcelain", "--", "engine"])
    return rev + ("+dirty" if d.returncode == 0 and d.stdout.strip() else "")


def apt_install(pkg):
    log(f"bench: apt-get install -y {pkg}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", pkg], env=env)
    if r.returncode:
        subprocess.run(["apt-get", "update"], env=env)
        r = subprocess.run(["apt-get", "install", "-y", pkg], env=env)
    return r.returncode == 0


def available_tools(wanted, ours, notes):
    have = []
    for t in wanted:
        if t == "stealsync":
            ok = False
            if ours:
                try:
                    ok = run_quiet([ours, "sync", "--help"], timeout=60).returncode == 0
                except (OSError, subprocess.SubprocessError):
                    ok = False
            if not ok:
                notes.append("stealsync not runnable (`stealsync sync --help` "
                             "failed or not installed): skipped")
                continue
        elif not shutil.which(t):
            if is_root() and apt_install(APT_PKG[t]) and shutil.which(t):
                pass
            else:
                notes.append(f"{t} not installed (and not root): skipped")
                continue
        have.append(t)
    return have


# ---------------------------------------------------------------------------
# corpora


def _mktree_version():
    with open(os.path.join(REPO, "scripts", "mktree.py"), "rb") as f:
        return f"{zlib.crc32(f.read()):08x}"


def ensure_linux(corpdir):
    """Install linux-source-6.1 if needed (root only) and unpack it once."""
    src = os.path.join(corpdir, "src")
    meta = os.path.join(corpdir, "meta.json")
    if os.path.exists(meta) and os.path.isdir(src):
        with open(meta) as f:
            return json.load(f)["stats"]
    if not os.path.exists(LINUX_TAR):
        if not is_root():
            raise RuntimeError(f"{LINUX_TAR} missing; run as root or "
                               f"`apt-get install {LINUX_PKG}`")
        if not apt_install(LINUX_PKG) or not os.path.exists(LINUX_TAR):
            raise RuntimeError(f"could not install {LINUX_PKG}")
    rmtree(corpdir)
    os.makedirs(src)
    log(f"bench: unpacking {LINUX_TAR} -> {src} (once)")
    r = subprocess.run(["tar", "-xJf", LINUX_TAR, "-C", src,
                        "--strip-components=1"])
    if r.returncode:
        raise RuntimeError("tar failed")
    stats = tree_stats(src)
    with open(meta, "w") as f:
        json.dump({"spec": {"shape": "linux", "tar": LINUX_TAR},
                   "stats": stats}, f)
    return stats


def ensure_corpus(bench_root, name):
    spec = dict(CORPORA[name])
    corpdir = os.path.join(bench_root, "corpora", name)
    if spec["shape"] == "linux":
        return os.path.join(corpdir, "src"), ensure_linux(corpdir)
    src = os.path.join(corpdir, "src")
    meta = os.path.join(corpdir, "meta.json")
    want = dict(spec, mktree=_mktree_version())
    if os.path.exists(meta):
        with open(meta) as f:
            m = json.load(f)
        if m.get("spec") == want and os.path.isdir(src):
            return src, m["stats"]
    rmtree(corpdir)
    t = time.perf_counter()
    kw = {k: v for k, v in spec.items() if k not in ("shape", "files", "seed")}
    mktree.make_tree(src, spec["shape"], spec["files"], spec["seed"], **kw)
    stats = tree_stats(src)
    log(f"bench: generated {name}: {stats['files']} files, "
        f"{stats['bytes'] / MB:.0f} MB in {time.perf_counter() - t:.1f}s")
    with open(meta, "w") as f:
        json.dump({"spec": want, "stats": stats}, f)
    return src, stats


# ---------------------------------------------------------------------------
# scenarios


class Runner:
    def __init__(self, args, bench_root, tools, ours):
        self.args = args
        self.bench_root = bench_root
        self.work = os.path.join(bench_root, "work")
        self.tools = tools
        self.ours = ours
        self.results = []
        self.logdir = os.path.join(bench_root, "logs")
        rmtree(self.work)
        rmtree(self.logdir)
        os.makedirs(self.work)
        os.makedirs(self.logdir)
        self.scratch = "/dev/shm" if os.path.isdir("/dev/shm") else self.work
        # auto: drop caches on disk filesystems only; on tmpfs the data cannot
        # be dropped and dropping only evicts the tools' own binaries.
        self.drop = args.drop_caches == "always" or (
            args.drop_caches == "auto" and fs_info(bench_root)["fstype"] != "tmpfs")
        self.env = dict(os.environ, LC_ALL="C")
        conf = os.path.join(self.work, "rclone.conf")
        open(conf, "w").close()
        self.env["RCLONE_CONFIG"] = conf

    def timed(self, tool, scenario, src, dst, src_meta, corpus, run,
              alloc_bytes=0):
        cmd = tool_cmd(tool, scenario, src, dst, self.ours)
        dropped = drop_caches(self.drop)
        if dropped:
            self.warm_binary(tool)
        if alloc_bytes and not self.args.no_prefault:
            prefault(alloc_bytes + 64 * MiB, self.scratch)
        logp = os.path.join(self.logdir, f"{corpus}.{scenario}.{tool}.log")
        with open(logp, "a") as f:
            f.write(f"\n### run {run}: {' '.join(cmd)}\n")
        m = measure(cmd, env=self.env, log_path=logp, tmpdir=self.work)
        m["caches_dropped"] = dropped
        if m["rc"] != 0:
            m["verified"] = False
            m["verify"] = f"exit code {m['rc']} (see {logp})"
        elif self.args.no_verify:
            m["verified"] = None
        else:
            ok, msg = verify(src_meta, dst, check_modes=(tool != "rclone"))
            m["verified"] = ok
            m["verify"] = msg
        flag = "" if m["verified"] in (True, None) else f"  !! {m['verify']}"
        mem = m["peak_mem_sum_mb"]
        log(f"  {corpus:12s} {scenario:9s} {tool:9s} run {run}: "
            f"{m['wall_s']:7.3f}s cpu {m['cpu_s']:6.2f}s "
            f"mem {mem if mem is None else round(mem, 1)} MB{flag}")
        return m

    def warm_binary(self, tool):
        """After a cache drop: run the tool once on a 3-file tree (untimed)
        so that its executable and libraries (for stealsync: the Python
        interpreter and modules) are read back from disk before the timed
        run; the data being synced stays cold."""
        d = os.path.join(self.work, "warm")
        src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
        if not os.path.isdir(src):
            os.makedirs(os.path.join(src, "sub"))
            for name in ("a.txt", "b.py", "sub/c.c"):
                with open(os.path.join(src, name), "w") as f:
                    f.write(name * 10)
        rmtree(dst)
        os.makedirs(dst)
        run_quiet(tool_cmd(tool, "initial", src, dst, self.ours), env=self.env)

    def warm(self, tool, src, dst):
        """Untimed no-op sync so that the tool's own state (if any) exists."""
        cmd = tool_cmd(tool, "noop", src, dst, self.ours)
        run_quiet(cmd, env=self.env)

    def run_corpus(self, corpus, src, stats, scenarios):
        runs = self.args.runs
        tools = self.tools
        if corpus == TINY:
            scenarios = [s for s in scenarios if s == "initial"]
            tools = [t for t in tools if t == OURS]
            runs = max(runs, TINY_MIN_RUNS)
        if not tools or not scenarios:
            return
        src_meta = tree_meta(src)
        dsts = {}  # persistent per-tool DSTs for noop/checksum

        def persistent_dst(tool):
            if tool not in dsts:
                d = os.path.join(self.work, f"dst-{tool}")
                rmtree(d)
                copy_tree(src, d)
                self.warm(tool, src, d)
                dsts[tool] = d
            return dsts[tool]

        for scen in [s for s in SCENARIOS if s in scenarios]:
            stools = [t for t in tools if t in SCENARIO_TOOLS[scen]]
            if not stools:
                continue
            per_tool = {t: [] for t in stools}
            if scen == "mutate1":
                for d in list(dsts.values()):
                    rmtree(d)
                dsts.clear()
                srcw = os.path.join(self.work, "src-mut")
                dst = os.path.join(self.work, "dst-mut")
                rmtree(srcw)
                rmtree(dst)
                copy_tree(src, srcw)
                copy_tree(src, dst)
                # metadata of the mutated state, computed once
                mutated = os.path.join(self.work, "src-mut-ref")
                rmtree(mutated)
                copy_tree(src, mutated)
                mktree.mutate_tree(mutated, 1, seed=1)
                mut_meta = tree_meta(mutated)
                rmtree(mutated)
            for run in range(1, runs + 1):
                # interleave A B C, B C A, C A B ...: no tool always goes first
                k = (run - 1) % len(stools)
                for tool in stools[k:] + stools[:k]:
                    if scen == "initial":
                        dst = os.path.join(self.work, "dst-initial")
                        rmtree(dst)
                        os.makedirs(dst)
                        m = self.timed(tool, scen, src, dst, src_meta, corpus, run,
                                       alloc_bytes=int(stats["bytes"] * 1.1))
                        rmtree(dst)
                    elif scen in ("noop", "checksum"):
                        dst = persistent_dst(tool)
                        m = self.timed(tool, scen, src, dst, src_meta, corpus, run)
                    else:  # mutate1: same starting state for every run
                        restore_tree(src, srcw)
                        restore_tree(src, dst)
                        self.warm(tool, srcw, dst)
                        mktree.mutate_tree(srcw, 1, seed=1)
                        m = self.timed(tool, scen, srcw, dst, mut_meta, corpus, run)
                    per_tool[tool].append(m)
            if scen == "mutate1":
                rmtree(srcw)
                rmtree(dst)
            for tool in stools:
                self.results.append(summarise(corpus, scen, tool, per_tool[tool],
                                              stats))
        for d in dsts.values():
            rmtree(d)


def _median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarise(corpus, scen, tool, runs, stats):
    good = [r for r in runs if r["rc"] == 0]
    use = good or runs
    wall = _median([r["wall_s"] for r in use])
    s = {
        "corpus": corpus, "scenario": scen, "tool": tool,
        "runs": runs,
        "ok": bool(good) and len(good) == len(runs),
        "verified": all(r.get("verified") in (True, None) for r in runs),
        "wall_s": wall,
        "cpu_s": _median([r["cpu_s"] for r in use]),
        "user_s": _median([r["user_s"] for r in use]),
        "sys_s": _median([r["sys_s"] for r in use]),
        "peak_mem_sum_mb": _median([r["peak_mem_sum_mb"] for r in use]),
        "max_rss_mb": _median([r["max_rss_mb"] for r in use]),
    }
    s["files_per_s"] = stats["files"] / wall if wall else None
    s["mb_per_s"] = stats["bytes"] / MB / wall if wall else None
    return s


# ---------------------------------------------------------------------------
# ratios and targets


def find(results, corpus, scen, tool):
    for r in results:
        if r["corpus"] == corpus and r["scenario"] == scen and r["tool"] == tool:
            return r
    return None


def ratios(results):
    out = []
    for r in results:
        if r["tool"] != OURS:
            continue
        for p in results:
            if p["corpus"] != r["corpus"] or p["scenario"] != r["scenario"] \
                    or p["tool"] == OURS:
                continue
            out.append({
                "corpus": r["corpus"], "scenario": r["scenario"],
                "peer": p["tool"],
                "wall_ratio": _div(r["wall_s"], p["wall_s"]),
                "cpu_ratio": _div(r["cpu_s"], p["cpu_s"]),
                "mem_ratio": _div(r["peak_mem_sum_mb"], p["peak_mem_sum_mb"]),
            })
    return out


def _div(a, b):
    return a / b if a is not None and b else None


def check_targets(results, stats_by_corpus, fstype):
    tmpfs = fstype == "tmpfs"
    out = []

    def ratio_target(name, corpus, scen, peer, limit):
        ours, p = find(results, corpus, scen, OURS), find(results, corpus, scen, peer)
        if not ours or not p:
            return
        r = _div(ours["wall_s"], p["wall_s"])
        ok = ours["ok"] and ours["verified"] and r is not None and r <= limit
        out.append({"target": name, "corpus": corpus, "limit": f"<= {limit}x",
                    "actual": f"{r:.2f}x" if r is not None else "n/a", "met": ok,
                    "missed_by": None if ok or r is None else f"{r - limit:.2f}x",
                    "note": "" if ours["ok"] and ours["verified"] else
                    "our tool failed or produced a wrong tree"})

    for corpus in stats_by_corpus:
        shape = CORPORA.get(corpus, {}).get("shape")
        if corpus == TINY:
            continue
        if shape in ("small", "skewed", "linux"):
            lim = 0.6 if tmpfs else 0.8
            ratio_target(f"initial copy, small files, vs cp -a "
                         f"({'tmpfs' if tmpfs else 'disk'})",
                         corpus, "initial", "cp", lim)
        ratio_target("no-op re-sync vs rsync", corpus, "noop", "rsync", 0.7)
        ratio_target("1%-mutated re-sync vs rsync", corpus, "mutate1", "rsync", 0.7)
        if shape == "large":
            ours = find(results, corpus, "initial", OURS)
            peers = [find(results, corpus, "initial", t) for t in ("cp", "rsync")]
            peers = [p for p in peers if p and p["ok"]]
            if ours and peers:
                best = min(peers, key=lambda p: p["wall_s"])
                r = best["wall_s"] / ours["wall_s"]
                ok = ours["ok"] and ours["verified"] and r >= 0.95
                out.append({"target": f"large-file throughput vs faster of cp/rsync "
                                      f"({best['tool']})", "corpus": corpus,
                            "limit": ">= 0.95x", "actual": f"{r:.2f}x", "met": ok,
                            "missed_by": None if ok else f"{0.95 - r:.2f}x",
                            "note": ""})
    # memory at 100k files
    big = [c for c, s in stats_by_corpus.items() if s["files"] >= 100_000]
    mems = [(r["peak_mem_sum_mb"], r["corpus"], r["scenario"]) for r in results
            if r["tool"] == OURS and r["corpus"] in big and r["peak_mem_sum_mb"]]
    if mems:
        mx = max(mems)
        ok = mx[0] <= 80
        out.append({"target": "peak memory (summed PSS) at 100k files",
                    "corpus": mx[1], "limit": "<= 80 MB",
                    "actual": f"{mx[0]:.1f} MB ({mx[2]})", "met": ok,
                    "missed_by": None if ok else f"{mx[0] - 80:.1f} MB", "note": ""})
    else:
        seen = [(r["peak_mem_sum_mb"], r["corpus"]) for r in results
                if r["tool"] == OURS and r["peak_mem_sum_mb"]]
        note = ""
        if seen:
            mx = max(seen)
            note = f"largest seen: {mx[0]:.1f} MB on {mx[1]} ({stats_by_corpus[mx[1]]['files']} files)"
        out.append({"target": "peak memory (summed PSS) at 100k files",
                    "corpus": "-", "limit": "<= 80 MB", "actual": "not measured",
                    "met": None, "missed_by": None,
                    "note": "needs a 100k corpus (--full). " + note})
    tiny = find(results, TINY, "initial", OURS)
    if tiny:
        ok = tiny["ok"] and tiny["verified"] and tiny["wall_s"] <= 0.15
        out.append({"target": "50-file tree end to end", "corpus": TINY,
                    "limit": "<= 0.15 s", "actual": f"{tiny['wall_s']:.3f} s",
                    "met": ok,
                    "missed_by": None if ok else f"{tiny['wall_s'] - 0.15:.3f} s",
                    "note": ""})
    return out


# ---------------------------------------------------------------------------
# machine facts


def fs_info(path):
    r = run_quiet(["findmnt", "-no", "FSTYPE,SOURCE,TARGET", "-T", path])
    if r.returncode == 0 and r.stdout.split():
        fstype, source, target = (r.stdout.split() + ["?", "?"])[:3]
        return {"path": path, "fstype": fstype, "source": source, "mount": target}
    best = ("", "?", "?")
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            if (path + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best[0]):
                best = (mnt, typ, dev)
    return {"path": path, "fstype": best[1], "source": best[2], "mount": best[0]}


def machine_info():
    info = {
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if psutil is not None:
        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
        try:
            info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        except OSError:
            pass
    return info


# ---------------------------------------------------------------------------
# output: table, markdown, png


def _fmt(v, spec):
    return format(v, spec) if v is not None else "-"


def table_rows(data):
    rat = {(r["corpus"], r["scenario"], r["peer"]): r["wall_ratio"]
           for r in data["ratios"]}
    rows = []
    for r in data["results"]:
        rr = rat.get((r["corpus"], r["scenario"], r["tool"]))
        status = "" if r["ok"] and r["verified"] else (
            " FAIL" if not r["ok"] else " WRONG")
        rows.append([
            r["corpus"], r["scenario"], r["tool"] + status,
            _fmt(r["wall_s"], ".3f"), _fmt(r["files_per_s"], ",.0f"),
            _fmt(r["mb_per_s"], ",.0f"), _fmt(r["cpu_s"], ".2f"),
            _fmt(r["peak_mem_sum_mb"], ".1f"), _fmt(r["max_rss_mb"], ".1f"),
            (f"{rr:.2f}x" if rr is not None else "-") if r["tool"] != OURS else "(ours)",
        ])
    return rows


HEADER = ["corpus", "scenario", "tool", "wall s", "files/s", "MB/s", "cpu s",
          "mem MB (sum)", "max RSS MB", "ours/peer"]


def text_table(data):
    rows = table_rows(data)
    w = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w[i]) if i < 3 else h.rjust(w[i])
                       for i, h in enumerate(HEADER))]
    lines.append("  ".join("-" * x for x in w))
    prev = None
    for row in rows:
        if prev and row[:2] != prev[:2]:
            lines.append("")
        lines.append("  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i])
                               for i, c in enumerate(row)))
        prev = row
    return "\n".join(lines)


def targets_text(targets, md=False):
    lines = []
    for t in targets:
        if t["met"] is None:
            verdict = "not measured"
        elif t["met"]:
            verdict = "met"
        else:
            verdict = f"missed by {t['missed_by']}" if t["missed_by"] else "missed"
        line = (f"{t['target']} [{t['corpus']}]: {t['actual']} "
                f"(target {t['limit']}) -> {verdict}")
        if t.get("note"):
            line += f" ({t['note']})"
        lines.append(("- " if md else "  ") + line)
    return "\n".join(lines)


def write_markdown(data, path, png_rel):
    fs = data["filesystem"]
    m = data["machine"]
    out = [
        "# stealsync benchmark results",
        "",
        f"Regenerated by `python perf/bench.py` on {data['date']} "
        f"(set: `{data['set']}`, {data['runs']} runs per tool, medians; "
        f"tools interleaved run by run).",
        "",
        f"**Filesystem: {fs['fstype']}** (`{fs['path']}` on `{fs['source']}`, "
        f"mounted at `{fs['mount']}`). Page cache between runs: "
        f"{'dropped (sync; drop_caches=3; tool binaries re-warmed untimed)' if data['caches_dropped'] else 'sync only' + (' (tmpfs: data cannot be dropped)' if fs['fstype'] == 'tmpfs' else '')}.",
        "",
        f"Machine: {m.get('cores')} cores ({m.get('cpu', '?')}), "
        f"{m.get('memory_gb', '?')} GiB memory, kernel {m.get('kernel')}, "
        f"Python {m.get('python')}; load average at start {m.get('loadavg', '?')}. "
        "Shared, noisy machine: treat small differences as noise.",
        "",
        "Tools: " + "; ".join(f"{k}: `{v}`" for k, v in data["tool_versions"].items()),
        "",
        "Corpora: " + "; ".join(
            f"{c}: {s['files']:,} files, {s['dirs']:,} dirs, "
            f"{s['bytes'] / MB:,.0f} MB" for c, s in data["corpora"].items()),
        "",
        "files/s and MB/s are the whole tree's files and bytes divided by the "
        "wall time (also for re-syncs). cpu = user+sys (wait4 rusage). "
        "mem = peak of the summed PSS of the tool's process tree, sampled every "
        "50 ms; max RSS = largest single process (rusage). "
        "ours/peer = our wall time / the peer's (below 1 is faster).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" if i < 3 else "---:" for i in range(len(HEADER))) + "|",
    ]
    for row in table_rows(data):
        out.append("| " + " | ".join(row) + " |")
    out += ["", "## Targets", "", targets_text(data["targets"], md=True), ""]
    if data.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in data["notes"]] + [""]
    if png_rel:
        out += [f"![chart]({png_rel})", ""]
    with open(path, "w") as f:
        f.write("\n".join(out))


# --- a PNG bar chart without third-party modules ---------------------------

_FONT = {  # 5x7 glyphs, column bytes, bit 0 = top row
    "0": (0x3E, 0x51, 0x49, 0x45, 0x3E), "1": (0x00, 0x42, 0x7F, 0x40, 0x00),
    "2": (0x42, 0x61, 0x51, 0x49, 0x46), "3": (0x21, 0x41, 0x45, 0x4B, 0x31),
    "4": (0x18, 0x14, 0x12, 0x7F, 0x10), "5": (0x27, 0x45, 0x45, 0x45, 0x39),
    "6": (0x3C, 0x4A, 0x49, 0x49, 0x30), "7": (0x01, 0x71, 0x09, 0x05, 0x03),
    "8": (0x36, 0x49, 0x49, 0x49, 0x36), "9": (0x06, 0x49, 0x49, 0x29, 0x1E),
    "A": (0x7E, 0x11, 0x11, 0x11, 0x7E), "B": (0x7F, 0x49, 0x49, 0x49, 0x36),
    "C": (0x3E, 0x41, 0x41, 0x41, 0x22), "D": (0x7F, 0x41, 0x41, 0x22, 0x1C),
    "E": (0x7F, 0x49, 0x49, 0x49, 0x41), "F": (0x7F, 0x09, 0x09, 0x09, 0x01),
    "G": (0x3E, 0x41, 0x49, 0x49, 0x7A), "H": (0x7F, 0x08, 0x08, 0x08, 0x7F),
    "I": (0x00, 0x41, 0x7F, 0x41, 0x00), "J": (0x20, 0x40, 0x41, 0x3F, 0x01),
    "K": (0x7F, 0x08, 0x14, 0x22, 0x41), "L": (0x7F, 0x40, 0x40, 0x40, 0x40),
    "M": (0x7F, 0x02, 0x0C, 0x02, 0x7F), "N": (0x7F, 0x04, 0x08, 0x10, 0x7F),
    "O": (0x3E, 0x41, 0x41, 0x41, 0x3E), "P": (0x7F, 0x09, 0x09, 0x09, 0x06),
    "Q": (0x3E, 0x41, 0x51, 0x21, 0x5E), "R": (0x7F, 0x09, 0x19, 0x29, 0x46),
    "S": (0x46, 0x49, 0x49, 0x49, 0x31), "T": (0x01, 0x01, 0x7F, 0x01, 0x01),
    "U": (0x3F, 0x40, 0x40, 0x40, 0x3F), "V": (0x1F, 0x20, 0x40, 0x20, 0x1F),
    "W": (0x3F, 0x40, 0x38, 0x40, 0x3F), "X": (0x63, 0x14, 0x08, 0x14, 0x63),
    "Y": (0x07, 0x08, 0x70, 0x08, 0x07), "Z": (0x61, 0x51, 0x49, 0x45, 0x43),
    ".": (0x00, 0x60, 0x60, 0x00, 0x00), "-": (0x08, 0x08, 0x08, 0x08, 0x08),
    ":": (0x00, 0x36, 0x36, 0x00, 0x00), "/": (0x20, 0x10, 0x08, 0x04, 0x02),
    "%": (0x23, 0x13, 0x08, 0x64, 0x62), "(": (0x00, 0x1C, 0x22, 0x41, 0x00),
    ")": (0x00, 0x41, 0x22, 0x1C, 0x00), "=": (0x14, 0x14, 0x14, 0x14, 0x14),
    "_": (0x40, 0x40, 0x40, 0x40, 0x40), "<": (0x08, 0x14, 0x22, 0x41, 0x00),
    ">": (0x00, 0x41, 0x22, 0x14, 0x08), ",": (0x00, 0x50, 0x30, 0x00, 0x00),
    "+": (0x08, 0x08, 0x3E, 0x08, 0x08), " ": (0, 0, 0, 0, 0),
}
COLORS = {"stealsync": (46, 160, 67), "cp": (130, 130, 130),
          "rsync": (52, 101, 164), "rclone": (230, 126, 34)}


class _Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def rect(self, x, y, w, h, rgb):
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.w, x + w), min(self.h, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        row = bytes(rgb) * (x1 - x0)
        for yy in range(y0, y1):
            o = (yy * self.w + x0) * 3
            self.px[o:o + len(row)] = row

    def text(self, x, y, s, rgb=(0, 0, 0), scale=2):
        for ch in s.upper():
            cols = _FONT.get(ch, _FONT[" "])
            for cx, bits in enumerate(cols):
                for cy in range(7):
                    if bits >> cy & 1:
                        self.rect(x + cx * scale, y + cy * scale, scale, scale, rgb)
            x += 6 * scale
        return x

    def png(self):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3])
                       for y in range(self.h))

        def chunk(t, d):
            c = struct.pack(">I", len(d)) + t + d
            return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
        return (b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _groups(data):
    groups = []
    for r in data["results"]:
        key = (r["corpus"], r["scenario"])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(r)
    return groups


def chart_png_builtin(data, path):
    groups = _groups(data)
    s = 2
    lh = 9 * s + 6          # bar row height
    label_w = 6 * s * 11
    bar_w = 560
    W = 20 + label_w + bar_w + 6 * s * 18
    H = 70 + sum(26 + lh * len(rs) + 10 for _k, rs in groups) + 30
    c = _Canvas(W, H)
    fs = data["filesystem"]["fstype"]
    c.text(10, 10, f"STEALSYNC BENCH {data['date']} ON {fs}", scale=s)
    c.text(10, 34, "MEDIAN WALL TIME, SHORTER IS BETTER; RATIO = OURS/PEER",
           (90, 90, 90), scale=s)
    y = 70
    rat = {(r["corpus"], r["scenario"], r["peer"]): r["wall_ratio"]
           for r in data["ratios"]}
    for (corpus, scen), rs in groups:
        c.text(10, y, f"{corpus} {SCENARIO_TITLES.get(scen, scen)}", (0, 0, 0), scale=s)
        y += 26
        mx = max((r["wall_s"] or 0) for r in rs) or 1
        for r in rs:
            c.text(20, y + 2, r["tool"], (60, 60, 60), scale=s)
            bw = int(bar_w * (r["wall_s"] or 0) / mx)
            x0 = 20 + label_w
            c.rect(x0, y, max(bw, 1), lh - 4, COLORS.get(r["tool"], (0, 0, 0)))
            lab = f"{r['wall_s']:.3f}S" if r["wall_s"] is not None else "-"
            rr = rat.get((corpus, scen, r["tool"]))
            if rr is not None:
                lab += f" ({rr:.2f}X)"
            c.text(x0 + bw + 8, y + 2, lab, (0, 0, 0), scale=s)
            y += lh
        c.rect(10, y + 4, W - 20, 1, (200, 200, 200))
        y += 10
    with open(path, "wb") as f:
        f.write(c.png())


def chart_png(data, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return chart_png_builtin(data, path)
    try:
        groups = _groups(data)
        labels, tools = [], []
        for (corpus, scen), rs in groups:
            labels.append(f"{corpus}\n{scen}")
            for r in rs:
                if r["tool"] not in tools:
                    tools.append(r["tool"])
        fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(groups)), 5))
        width = 0.8 / max(1, len(tools))
        for i, t in enumerate(tools):
            xs, ys = [], []
            for g, (_key, rs) in enumerate(groups):
                for r in rs:
                    if r["tool"] == t and r["wall_s"] is not None:
                        xs.append(g + i * width)
                        ys.append(r["wall_s"])
            ax.bar(xs, ys, width, label=t,
                   color=[tuple(v / 255 for v in COLORS.get(t, (0, 0, 0)))])
        ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("median wall time, s (log)")
        ax.set_title(f"stealsync bench {data['date']} on "
                     f"{data['filesystem']['fstype']}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
    except Exception:
        chart_png_builtin(data, path)


def render(data, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    png = os.path.join(results_dir, f"{data['date']}.png")
    chart_png(data, png)
    md = os.path.join(HERE, "RESULTS.md")
    write_markdown(data, md, os.path.relpath(png, HERE))
    return md, png


# ---------------------------------------------------------------------------
# main


def parse_args(argv):
    ap = argparse.ArgumentParser(description="stealsync benchmark harness")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true",
                   help="short set (default): " + ", ".join(SETS["quick"]))
    g.add_argument("--full", action="store_true",
                   help="long set: " + ", ".join(SETS["full"]))
    g.add_argument("--linux", action="store_true",
                   help="the Linux 6.1 source tree only (installs "
                        f"{LINUX_PKG} and unpacks it once, as root)")
    ap.add_argument("--root", default="/dev/shm",
                    help="where corpora and DSTs live (default /dev/shm, tmpfs)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpora", help="comma list from: " + ", ".join(CORPORA))
    ap.add_argument("--scenarios", help="comma list from: " + ", ".join(SCENARIOS))
    ap.add_argument("--tools", help="comma list from: " + ", ".join(TOOLS))
    ap.add_argument("--stealsync", help="path of the stealsync executable")
    ap.add_argument("--drop-caches", choices=("auto", "always", "never"),
                    default="auto",
                    help="drop the page cache before each timed run: auto = "
                         "only when ROOT is not tmpfs (default); sync(2) always")
    ap.add_argument("--no-prefault", action="store_true",
                    help="do not touch memory before initial-copy runs (see prefault())")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip the metadata check of DST after each run")
    ap.add_argument("--out", help="results JSON path (default perf/results/<date>.json)")
    ap.add_argument("--no-render", action="store_true",
                    help="do not regenerate perf/RESULTS.md and the PNG")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (DSTs) at the end; corpora "
                         "are always kept as a cache")
    ap.add_argument("--clean", action="store_true",
                    help="remove ROOT/stealsync-bench (cached corpora) at the end")
    ap.add_argument("--prepare-linux", action="store_true",
                    help="install and unpack the Linux 6.1 source corpus, then exit")
    ap.add_argument("--report", metavar="JSON",
                    help="re-render RESULTS.md and the PNG from a results file")
    a = ap.parse_args(argv)

    def split(v, allowed, what):
        if not v:
            return None
        items = [x.strip() for x in v.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad:
            ap.error(f"unknown {what}: {', '.join(bad)}")
        return items
    a.corpora = split(a.corpora, CORPORA, "corpus")
    a.scenarios = split(a.scenarios, SCENARIOS, "scenario")
    a.tools = split(a.tools, TOOLS, "tool")
    return a


def print_report(data):
    fs = data["filesystem"]
    print(f"\nstealsync bench {data['date']} ({data['set']}), filesystem: "
          f"{fs['fstype']} ({fs['path']}), {data['runs']} runs, medians")
    print(text_table(data))
    print("\ntargets:")
    print(targets_text(data["targets"]))
    for n in data.get("notes", []):
        print("note:", n)


def main(argv=None):
    a = parse_args(argv)
    results_dir = os.path.join(HERE, "results")
    if a.report:
        with open(a.report) as f:
            data = json.load(f)
        print_report(data)
        md, png = render(data, results_dir)
        log(f"bench: wrote {md} and {png}")
        return 0

    root = os.path.abspath(a.root)
    bench_root = os.path.join(root, "stealsync-bench")
    os.makedirs(bench_root, exist_ok=True)
    if a.prepare_linux:
        src, st = ensure_corpus(bench_root, "linux-6.1")
        log(f"bench: Linux corpus ready at {src}: {st['files']} files, "
            f"{st['bytes'] / MB:.0f} MB")
        return 0
    if psutil is None:
        log("bench: psutil is required (pip install psutil)")
        return 2

    setname = "full" if a.full else "linux" if a.linux else "quick"
    corpora = a.corpora or SETS[setname]
    if a.corpora:
        setname = "custom"
    scenarios = a.scenarios or SCENARIOS
    notes = []
    ours = stealsync_path(a.stealsync)
    tools = available_tools(a.tools or TOOLS, ours, notes)
    for n in notes:
        log("bench: " + n)
    if not tools:
        log("bench: no tool to run")
        return 2

    date = _dt.date.today().isoformat()
    data = {
        "date": date, "set": setname, "runs": a.runs,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "filesystem": fs_info(root), "machine": machine_info(),
        "tool_versions": {t: tool_version(t, ours) for t in tools},
        "commands": {t: " ".join(tool_cmd(t, s, "SRC", "DST", "stealsync"))
                     for t in tools for s in ["initial"]},
        "notes": notes,
    }
    data["commands"].update({f"{t} --checksum": " ".join(
        tool_cmd(t, "checksum", "SRC", "DST", "stealsync")) for t in tools if t != "cp"})
    t_start = time.perf_counter()
    runner = Runner(a, bench_root, tools, ours)
    stats_by_corpus = {}
    try:
        for c in corpora:
            try:
                src, st = ensure_corpus(bench_root, c)
            except RuntimeError as e:
                notes.append(f"corpus {c} skipped: {e}")
                log(f"bench: corpus {c} skipped: {e}")
                continue
            stats_by_corpus[c] = st
            log(f"bench: corpus {c}: {st['files']} files, {st['bytes'] / MB:.0f} MB")
            runner.run_corpus(c, src, st, scenarios)
    finally:
        if not a.keep:
            rmtree(runner.work)
        if a.clean:
            rmtree(bench_root)
    data["corpora"] = stats_by_corpus
    data["results"] = runner.results
    data["ratios"] = ratios(runner.results)
    data["caches_dropped"] = bool(_DROP)
    data["targets"] = check_targets(runner.results, stats_by_corpus,
                                    data["filesystem"]["fstype"])
    data["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    if runner.drop and not data["caches_dropped"]:
        notes.append("page cache could not be dropped (no write access to "
                     "/proc/sys/vm/drop_caches): sync only")
    out = a.out or os.path.join(results_dir, f"{date}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
    print_report(data)
    log(f"bench: wrote {out} (total {data['elapsed_s']} s)")
    if not a.no_render:
        md, png = render(data, results_dir)
        log(f"bench: wrote {md} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
