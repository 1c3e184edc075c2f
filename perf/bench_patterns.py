#!/usr/bin/env python3
"""Micro-benchmark of exclusion matching: ns per path for ``Rules.excluded``.

    .venv/bin/python perf/bench_patterns.py -o /tmp/patterns.json   # pyperf, all cases
    .venv/bin/python perf/bench_patterns.py --fast                   # quicker, noisier
    .venv/bin/python -m pyperf stats /tmp/patterns.json

One benchmark value is the time of one ``excluded(node, relpath, is_dir)``
call (pyperf ``inner_loops`` = number of paths), averaged over a fixed,
deterministic corpus of 5000 repository-like paths (mostly kept, a few
percent excluded; paths under excluded directories are not in the corpus
because the walk never asks about them).  Cases:

* ``cli-N``: N typical patterns on the command line (N = 10, 50, 200);
* ``file-50``: the same 50 patterns in the root ignore file (one chain node);
* ``chain-50``: 50 patterns spread over the command line and a chain of three
  ignore files (root, ``src``, ``src/app``), as a monorepo would have them;
* ``pathspec-50``: pathspec's ``GitIgnoreSpec.check_file`` on the same 50
  patterns, the baseline we replaced (one regex per pattern).
"""

from __future__ import annotations

import os
import random
import sys

import pyperf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.rules import PatternLine, RuleNode, Rules, compile_lines  # noqa: E402

# 50 patterns as real projects write them (Python, Node, Go, editors, OS, logs).
TYPICAL = """\
__pycache__/
*.py[cod]
*$py.class
*.so
build/
develop-eggs/
dist/
eggs/
.eggs/
*.egg-info/
*.egg
.tox/
.nox/
.coverage
.coverage.*
.cache
coverage.xml
*.cover
.hypothesis/
.pytest_cache/
node_modules/
npm-debug.log*
yarn-error.log*
/coverage
.next/
out/
.DS_Store
Thumbs.db
*.swp
*~
.idea/
.vscode/*
!.vscode/settings.json
*.log
logs/
.env
.env.*
!.env.example
*.tmp
docs/_build/
/target
**/generated/**/*.pb.go
vendor/
*.orig
*.bak
tmp/
.terraform/
*.tfstate
/bin/
src/**/*.gen.ts
""".splitlines()
assert len(TYPICAL) == 50

EXTRA = [f"*.ext{i}" for i in range(60)] + [f"name{i}/" for i in range(60)] + \
    [f"/top{i}/**/x{i}" for i in range(30)]

DIRS = ["src", "lib", "app", "core", "utils", "api", "models", "views", "components", "internal",
        "cmd", "pkg", "web", "tests", "docs", "scripts", "assets", "styles", "config", "handlers"]
EXTS = [".py", ".js", ".ts", ".tsx", ".md", ".json", ".css", ".html", ".go", ".txt", ".yml",
        ".rs", ".c", ".h"]
NOISE = [".pyc", ".log", ".swp", "~", ".tmp", ".bak"]


def corpus(n: int = 5000, seed: int = 7) -> list[tuple[str, bool]]:
    rnd = random.Random(seed)
    out: list[tuple[str, bool]] = []
    while len(out) < n:
        depth = rnd.randint(0, 5)
        parts = [rnd.choice(DIRS) for _ in range(depth)]
        if rnd.random() < 0.15:
            parts.append(rnd.choice(DIRS + ["build", "node_modules", "__pycache__", "dist"]))
            out.append(("/".join(parts), True))
            continue
        stem = rnd.choice(["main", "index", "util", "test_core", "README", "handler", "model",
                           "view", "api", "config", "setup", "app"]) + str(rnd.randint(0, 99))
        ext = rnd.choice(NOISE) if rnd.random() < 0.05 else rnd.choice(EXTS)
        out.append(("/".join(parts + [stem + ext]), False))
    return out


def _lines(pats, source="--exclude"):
    return [PatternLine(p, source, i) for i, p in enumerate(pats, 1)]


def cli_case(pats):
    rules = Rules(_lines(pats), ())
    return rules.excluded, rules.root


def file_case(pats):
    rules = Rules([], (".syncignore",))
    node = RuleNode(rules.root, "", compile_lines(_lines(pats, ".syncignore")), ("",))
    return rules.excluded, node


def chain_case(pats):
    """10 on the command line, then 20 / 10 / 10 in root, src, src/app (the
    corpus is moved below src/app so that all three files apply)."""
    rules = Rules(_lines(pats[:10]), (".syncignore",))
    node = rules.root
    for base, chunk in (("", pats[10:30]), ("src", pats[30:40]), ("src/app", pats[40:50])):
        node = RuleNode(node, base, compile_lines(_lines(chunk, f"{base}/.syncignore")),
                        node.key + (base,))
    return rules.excluded, node


def pathspec_case(pats):
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(pats)

    def excluded(_node, relpath, is_dir, check=spec.check_file):
        return check(relpath + "/" if is_dir else relpath).include

    return excluded, None


def bench(loops: int, excluded, node, paths) -> float:
    t0 = pyperf.perf_counter()
    for _ in range(loops):
        for relpath, is_dir in paths:
            excluded(node, relpath, is_dir)
    return pyperf.perf_counter() - t0


def main() -> None:
    runner = pyperf.Runner()
    paths = corpus()
    cases = {
        "cli-10": cli_case(TYPICAL[:10]),
        "cli-50": cli_case(TYPICAL),
        "cli-200": cli_case(TYPICAL + EXTRA),
        "file-50": file_case(TYPICAL),
        "chain-50": chain_case(TYPICAL),
        "pathspec-50": pathspec_case(TYPICAL),
    }
    below = [(f"src/app/{p}", d) for p, d in paths]
    for name, (excluded, node) in cases.items():
        corpus_ = below if name.startswith("chain") else paths
        runner.bench_time_func(f"excluded-{name}", bench, excluded, node, corpus_,
                               inner_loops=len(paths))


if __name__ == "__main__":
    main()
