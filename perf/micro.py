#!/usr/bin/env python3
"""pyperf micro-benchmarks for stealsync's hot paths.

    python perf/micro.py --fast                 # all, quick
    python perf/micro.py --only rules,plan -o perf/results/micro.json
    python -m pyperf compare_to old.json new.json

Benchmarks (each reports time per item; see the summary printed at the end):
  rules.excluded      ns per path: engine.rules.Rules with ~50 typical
                      gitignore patterns, over a mix of ~2000 paths
  pathspec.check_file ns per path: the same patterns straight through
                      pathspec.GitIgnoreSpec (the floor for engine.rules)
  plan.noop           ns per entry: engine.plan.plan_directory on a
                      1000-entry directory identical on both sides
  plan.initial        ns per entry: the same directory against an empty DST
  plan.mutated        ns per entry: 1% of files changed, a few added/deleted
  hash.xxh3_128       time per MiB: engine.hashing.hash_fd over a 64 MiB file
                      (tmpfs when available); MB/s printed in the summary
  hash.xxh3_128.mem   time per MiB: xxhash.xxh3_128 on an in-memory buffer

The engine is imported defensively: a benchmark whose engine API is missing
or changed is skipped with a message instead of failing the whole run.
"""

from __future__ import annotations

import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

import pyperf  # noqa: E402

MiB = 1 << 20
HASH_SIZE = 64 * MiB

PATTERNS = """\
# build output
build/
dist/
out/
*.o
*.a
*.so
*.so.*
*.obj
*.pyc
__pycache__/
*.class
*.egg-info/
.eggs/
target/
bin/
!bin/keep-me.sh
*.tmp
*.swp
*~
.#*
.DS_Store
Thumbs.db
node_modules/
.venv/
venv/
.tox/
.mypy_cache/
.pytest_cache/
coverage/
*.log
logs/**/*.txt
/vendor/
third_party/**/test/
**/generated/
*.min.js
*.map
.idea/
.vscode/
*.iml
cmake-build-*/
CMakeFiles/
CMakeCache.txt
*.lock
!poetry.lock
docs/_build/
*.[oa]
**/tmp/**
secrets/*.key
/config/local.*
*.pem
"""

WORDS = ("src lib core util net io fs api cmd internal pkg test docs build tools "
         "scripts server client proto model view cache store db http log "
         "vendor generated tmp node_modules bin target dist").split()
EXTS = (".c", ".h", ".py", ".go", ".md", ".txt", ".json", ".js", ".o", ".pyc",
        ".log", ".min.js", ".map", ".so", ".lock", ".tmp", "")


def pattern_lines():
    return [ln for ln in PATTERNS.splitlines() if ln.strip() and not ln.startswith("#")]


def sample_paths(n=2000, seed=1):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        depth = rng.randint(0, 6)
        parts = [rng.choice(WORDS) for _ in range(depth)]
        is_dir = rng.random() < 0.15
        name = rng.choice(WORDS) + ("" if is_dir else rng.choice(EXTS))
        out.append(("/".join(parts + [name]), is_dir))
    return out


# --- benchmarks -------------------------------------------------------------


def setup_rules():
    from engine.rules import PatternLine, Rules  # noqa: F401

    lines = [PatternLine(p, "--exclude", i + 1) for i, p in enumerate(pattern_lines())]
    rules = Rules(lines)
    node = rules.root
    paths = sample_paths()
    excluded = rules.excluded

    def bench(loops):
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            for rel, is_dir in paths:
                excluded(node, rel, is_dir)
        return pyperf.perf_counter() - t0
    return bench, len(paths)


def setup_pathspec():
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(pattern_lines())
    paths = [(rel + "/" if d else rel) for rel, d in sample_paths()]
    check = spec.check_file

    def bench(loops):
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            for p in paths:
                check(p)
        return pyperf.perf_counter() - t0
    return bench, len(paths)


def _entries(n, seed):
    from engine.walk import KIND_DIR, KIND_FILE, KIND_LINK, Entry

    rng = random.Random(seed)
    names = sorted({f"{rng.choice(WORDS)}_{i}{rng.choice(EXTS)}" for i in range(n)})
    out = []
    for name in names:
        r = rng.random()
        if r < 0.05:
            out.append(Entry(name, KIND_DIR, 0o40755, 4096, 1_700_000_000_000_000_000))
        elif r < 0.06:
            out.append(Entry(name, KIND_LINK, 0o120777, 0, 1_700_000_000_000_000_000,
                             target="../" + name))
        else:
            out.append(Entry(name, KIND_FILE, 0o100644, rng.randint(0, 50_000),
                             1_700_000_000_000_000_000 + rng.randrange(10**15)))
    return out


def setup_plan(kind):
    from engine.plan import PlanOptions, plan_directory

    src = _entries(1000, 1)
    if kind == "noop":
        dst = list(src)
    elif kind == "initial":
        dst = []
    else:  # mutated: 1% changed, a few added/deleted
        rng = random.Random(2)
        dst = list(src)
        for i in rng.sample(range(len(dst)), 10):
            e = dst[i]
            dst[i] = e._replace(size=e.size + 1, mtime_ns=e.mtime_ns + 1)
        for i in sorted(rng.sample(range(len(dst)), 3), reverse=True):
            del dst[i]
    opts = PlanOptions(delete=True)

    def bench(loops):
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            plan_directory(src, dst, opts)
        return pyperf.perf_counter() - t0
    return bench, len(src)


def _hash_file():
    base = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    path = os.path.join(base, "stealsync-micro-hash.bin")
    try:
        if os.path.getsize(path) == HASH_SIZE:
            return path
    except OSError:
        pass
    block = random.Random(7).randbytes(MiB)
    tmp = path + f".{os.getpid()}"
    with open(tmp, "wb") as f:
        for _ in range(HASH_SIZE // MiB):
            f.write(block)
    os.replace(tmp, path)
    return path


def setup_hash_fd():
    from engine.hashing import hash_fd

    path = _hash_file()

    def bench(loops):
        fd = os.open(path, os.O_RDONLY)
        try:
            t0 = pyperf.perf_counter()
            for _ in range(loops):
                hash_fd(fd)
            return pyperf.perf_counter() - t0
        finally:
            os.close(fd)
    return bench, HASH_SIZE // MiB


def setup_hash_mem():
    import xxhash

    buf = random.Random(7).randbytes(HASH_SIZE)

    def bench(loops):
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            xxhash.xxh3_128(buf).digest()
        return pyperf.perf_counter() - t0
    return bench, HASH_SIZE // MiB


BENCHES = [
    # name, group, setup, unit of one inner loop
    ("rules.excluded", "rules", setup_rules, "path"),
    ("pathspec.check_file", "rules", setup_pathspec, "path"),
    ("plan.noop", "plan", lambda: setup_plan("noop"), "entry"),
    ("plan.initial", "plan", lambda: setup_plan("initial"), "entry"),
    ("plan.mutated", "plan", lambda: setup_plan("mutated"), "entry"),
    ("hash.xxh3_128", "hash", setup_hash_fd, "MiB"),
    ("hash.xxh3_128.mem", "hash", setup_hash_mem, "MiB"),
]


def add_cmdline_args(cmd, args):
    if args.only:
        cmd.extend(("--only", args.only))


def main():
    runner = pyperf.Runner(add_cmdline_args=add_cmdline_args)
    runner.argparser.add_argument(
        "--only", help="comma list of groups or names: rules, plan, hash, "
                       "or e.g. plan.noop")
    args = runner.parse_args()
    only = set(args.only.split(",")) if args.only else None
    ready = []
    for name, group, setup, unit in BENCHES:
        if only and group not in only and name not in only:
            continue
        try:
            func, inner = setup()
        except Exception as e:  # the engine API may not exist (yet)
            if args.worker:
                # pyperf picks a worker's benchmark by index: never shift it
                raise RuntimeError(f"{name}: setup failed in a worker "
                                   f"(engine changed during the run?): {e}") from e
            print(f"skip {name}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        ready.append((name, unit, func, inner))
    if not args.worker:
        if not ready:
            print("nothing to run", file=sys.stderr)
            return
        # workers register exactly the benchmarks that set up here
        args.only = ",".join(name for name, *_ in ready)
    done = []
    for name, unit, func, inner in ready:
        bench = runner.bench_time_func(name, func, inner_loops=inner)
        if bench is not None:
            done.append((name, unit, bench))
    if done and not args.worker:
        print("\nsummary (median):")
        for name, unit, bench in done:
            t = bench.median()
            if unit == "MiB":
                print(f"  {name:22s} {MiB / t / 1e6:10.0f} MB/s")
            else:
                print(f"  {name:22s} {t * 1e9:10.0f} ns/{unit}")


if __name__ == "__main__":
    main()
