#!/usr/bin/env python3
"""Deterministic test-tree generator for stealsync benchmarks and tests.

    python scripts/mktree.py DIR --shape S --files N --seed K [--mutate PERCENT]

The same arguments always produce byte-identical trees: names, contents,
sizes, modes, symlink targets and mtimes (nanosecond precision, derived from
a fixed epoch).  Only ``random.Random`` seeded from the arguments is used, so
neither the clock nor hash randomization affects the result.

Shapes
  small   source-code-like tree: ~40 files per directory, depth <= 7,
          log-normal sizes (median ~3 KiB, mean ~9 KB), a go.mod every 50
          directories, a few relative symlinks and some empty directories.
  skewed  like small, but 40% of all files sit in a single directory.
  large   N files of --size-mb MiB (default 100).
  deep    a chain of 300 nested directories holding N files along the way.
  mixed   small plus a few (--big-files, default 3) files of 20-200 MiB.

``--mutate PERCENT`` (on a tree already generated, or generated first if DIR
is empty) appends to about PERCENT% of the regular files (changing size and
mtime), adds a few new files and deletes a few, deterministically.

Importable API (tests do ``sys.path.insert(0, 'scripts')``)::

    from mktree import make_tree, mutate_tree
    stats = make_tree(root, "small", 2000, seed=1)
    stats = mutate_tree(root, 1.0, seed=1)
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys

__all__ = ["make_tree", "mutate_tree", "SHAPES", "EPOCH_NS"]

SHAPES = ("small", "skewed", "large", "deep", "mixed")

# Fixed epoch: 2023-01-01T00:00:00Z, in nanoseconds.
EPOCH_NS = 1_672_531_200 * 1_000_000_000
YEAR_NS = 365 * 86_400 * 1_000_000_000
DAY_NS = 86_400 * 1_000_000_000

MiB = 1 << 20
TEXT_BLOCK = 4 * MiB
BIN_BLOCK = 32 * MiB
CHUNK = 1 * MiB

MEDIAN_SIZE = 3072.0
SIGMA = 1.466  # mean = median * exp(sigma^2 / 2) ~ 9 KB
MAX_SMALL_SIZE = 8 * MiB
FILES_PER_DIR = 40
MAX_DEPTH = 7

_WORDS = (
    "core util io net fs api cmd lib internal pkg src test tests docs doc "
    "config build tools scripts server client proto model view ctrl auth "
    "cache store db sql http rpc grpc log logging metrics trace event queue "
    "worker task job sched sync async stream buffer codec parse lexer ast "
    "types common shared base helper helpers mock fake fixtures data assets "
    "static templates ui web cli app main runtime driver device mem arch "
    "kernel boot init crypto hash rand math sort list map set tree graph "
    "vendor third_party ext plugin plugins hooks handler middleware router"
).split()

# (extension, weight, executable-probability)
_EXTS = (
    (".c", 14, 0.0), (".h", 12, 0.0), (".py", 12, 0.08), (".go", 12, 0.0),
    (".md", 5, 0.0), (".txt", 5, 0.0), (".json", 6, 0.0), (".js", 8, 0.0),
    (".ts", 5, 0.0), (".rs", 4, 0.0), (".java", 3, 0.0), (".yaml", 3, 0.0),
    (".html", 2, 0.0), (".css", 2, 0.0), (".sh", 3, 0.9), ("", 2, 0.3),
    (".S", 1, 0.0), (".cc", 2, 0.0),
)
_EXT_NAMES = [e[0] for e in _EXTS]
_EXT_WEIGHTS = [e[1] for e in _EXTS]
_EXT_EXEC = {e[0]: e[2] for e in _EXTS}

_TOKENS = (
    "int char void return if else for while static const struct the a of to "
    "in is and def self import from class func package var let fn pub use "
    "{ } ( ) ; = == != + - * / -> => 0 1 2 NULL nil None true false err "
    "data len size buf ptr i j k n x y value key name result error ctx"
).split()


def _fixed_random(*parts) -> random.Random:
    """A Random seeded from a string: str seeds go through sha512, so the
    stream never depends on PYTHONHASHSEED."""
    return random.Random("mktree:" + ":".join(str(p) for p in parts))


class _Blocks:
    """Pre-generated content blocks; file contents are seeded slices."""

    def __init__(self, seed):
        rng = _fixed_random("blocks", seed)
        toks = rng.choices(_TOKENS, k=(256 << 10) // 3)
        seps = rng.choices((" ", " ", " ", " ", "\n", "\n    "), k=len(toks))
        base = "".join(t + s for t, s in zip(toks, seps, strict=True)).encode()
        parts, have = [], 0
        while have < TEXT_BLOCK:  # rotated copies of a 256 KiB text seed
            cut = rng.randrange(len(base))
            parts.append(base[cut:] + base[:cut])
            have += len(base)
        self.text = memoryview(b"".join(parts)[:TEXT_BLOCK])
        self._bin_seed = seed
        self._bin = None

    @property
    def bin(self):
        if self._bin is None:
            rng = _fixed_random("binblock", self._bin_seed)
            self._bin = memoryview(rng.randbytes(BIN_BLOCK))
        return self._bin


def _write_fd(fd, block, size, rng):
    n = len(block)
    remaining = size
    while remaining > 0:
        chunk = min(remaining, CHUNK, n)
        off = rng.randrange(n - chunk + 1)
        mv = block[off:off + chunk]
        while mv:
            w = os.write(fd, mv)
            mv = mv[w:]
        remaining -= chunk


def _write_file(path, size, mode, mtime_ns, block, rng, append=False):
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_CREAT | os.O_TRUNC)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        _write_fd(fd, block, size, rng)
        if not append:
            os.fchmod(fd, mode)  # independent of the caller's umask
        os.utime(fd, ns=(mtime_ns, mtime_ns))
    finally:
        os.close(fd)


def _small_size(rng):
    s = int(rng.lognormvariate(math.log(MEDIAN_SIZE), SIGMA))
    return max(0, min(s, MAX_SMALL_SIZE))


def _mtime(rng):
    return EPOCH_NS + rng.randrange(YEAR_NS)


def _file_mode(rng, ext):
    return 0o755 if rng.random() < _EXT_EXEC.get(ext, 0.0) else 0o644


class _Builder:
    def __init__(self, root, seed, shape):
        self.root = os.path.abspath(root)
        self.rng = _fixed_random("tree", shape, seed)
        self.blocks = _Blocks(seed)
        self.dirs = []            # (relpath, depth) in creation order
        self.files = []           # relpaths of regular files
        self.names = {}           # relpath -> set of used child names
        self.nbytes = 0
        self.nlinks = 0

    # -- names ---------------------------------------------------------
    def _unique(self, parent, base, ext=""):
        used = self.names.setdefault(parent, set())
        name = base + ext
        i = 1
        while name in used:
            i += 1
            name = f"{base}{i}{ext}"
        used.add(name)
        return name

    def add_dir(self, parent, depth, name=None):
        if name is None:
            name = self.rng.choice(_WORDS)
        name = self._unique(parent, name)
        rel = os.path.join(parent, name) if parent else name
        self.names.setdefault(rel, set())
        os.mkdir(os.path.join(self.root, rel), 0o755)
        self.dirs.append((rel, depth))
        return rel

    def add_file(self, parent, size=None, name=None, ext=None, binary=False,
                 mode=None):
        rng = self.rng
        if ext is None:
            ext = rng.choices(_EXT_NAMES, _EXT_WEIGHTS)[0]
        if name is None:
            base = rng.choice(_WORDS)
            if rng.random() < 0.7:
                base += "_" + rng.choice(_WORDS)
            if ext == "" and rng.random() < 0.5:
                base = rng.choice(("Makefile", "LICENSE", "README", "configure",
                                   "Dockerfile", "run"))
            name = self._unique(parent, base, ext)
        else:
            name = self._unique(parent, name)
        if size is None:
            size = _small_size(rng)
        if mode is None:
            mode = _file_mode(rng, ext)
        rel = os.path.join(parent, name) if parent else name
        block = self.blocks.bin if binary else self.blocks.text
        _write_file(os.path.join(self.root, rel), size, mode, _mtime(rng),
                    block, rng)
        self.files.append(rel)
        self.nbytes += size
        return rel

    # -- structure -----------------------------------------------------
    def dir_tree(self, ndirs, start_depth=0, parent=""):
        """Random recursive tree of ndirs directories below parent (parent
        itself counts as the first one), depth capped at MAX_DEPTH."""
        rng = self.rng
        mine = [(parent, start_depth)]
        eligible = [(parent, start_depth)] if start_depth < MAX_DEPTH else []
        for _ in range(ndirs - 1):
            if not eligible:
                break
            p, d = eligible[rng.randrange(len(eligible))]
            rel = self.add_dir(p, d + 1)
            mine.append((rel, d + 1))
            if d + 1 < MAX_DEPTH:
                eligible.append((rel, d + 1))
        return mine

    def fill_source_tree(self, nfiles, dirs_list):
        """Spread nfiles over dirs_list, one go.mod every 50 dirs."""
        rng = self.rng
        gomods = [i for i in range(len(dirs_list)) if i % 50 == 0]
        gomods = gomods[:nfiles]
        nregular = nfiles - len(gomods)
        counts = [0] * len(dirs_list)
        for _ in range(nregular):
            counts[rng.randrange(len(dirs_list))] += 1
        for i, (rel, _d) in enumerate(dirs_list):
            if i in gomods:
                mod = f"module example.com/{rel or 'root'}\n\ngo 1.21\n"
                self.add_file(rel, size=len(mod) + rng.randrange(200),
                              name="go.mod", ext="", mode=0o644)
            for _ in range(counts[i]):
                self.add_file(rel)

    def empty_dirs(self, n):
        rng = self.rng
        cands = [d for d in self.dirs if d[1] < MAX_DEPTH] or [("", 0)]
        for _ in range(n):
            p, d = cands[rng.randrange(len(cands))]
            self.add_dir(p, d + 1, name=rng.choice(("empty", "tmp", "out",
                                                     "cache", "dist")))

    def symlinks(self, n):
        rng = self.rng
        if not self.files:
            return
        alldirs = [("", 0)] + self.dirs
        for _ in range(n):
            target = self.files[rng.randrange(len(self.files))]
            where, _d = alldirs[rng.randrange(len(alldirs))]
            if rng.random() < 0.15 and self.dirs:
                t = self.dirs[rng.randrange(len(self.dirs))][0]
                # never point at an ancestor: no loops for tools that follow
                if not (where == t or where.startswith(t + os.sep)):
                    target = t
            name = self._unique(where, "link_" + os.path.basename(target))
            rel = os.path.join(where, name) if where else name
            dest = os.path.relpath(target, where or ".")
            full = os.path.join(self.root, rel)
            os.symlink(dest, full)
            t = _mtime(rng)
            os.utime(full, ns=(t, t), follow_symlinks=False)
            self.nlinks += 1

    def finish(self):
        """Deterministic directory mtimes, deepest first."""
        rng = self.rng
        stamps = [_mtime(rng) for _ in self.dirs]
        order = sorted(range(len(self.dirs)),
                       key=lambda i: (-self.dirs[i][1], i))
        for i in order:
            os.utime(os.path.join(self.root, self.dirs[i][0]),
                     ns=(stamps[i], stamps[i]))
        t = EPOCH_NS + YEAR_NS
        os.chmod(self.root, 0o755)
        os.utime(self.root, ns=(t, t))
        return {"files": len(self.files), "dirs": len(self.dirs),
                "symlinks": self.nlinks, "bytes": self.nbytes}


def _build_small(b, nfiles, skew=False):
    big = 0
    if skew:
        big = min(nfiles, int(math.ceil(nfiles * 0.40)) + 1)
    rest = nfiles - big
    ndirs = max(1, round(rest / FILES_PER_DIR))
    dirs_list = b.dir_tree(ndirs)
    if skew:
        # the hot directory: a generated-code dir two levels down
        top = b.add_dir("", 1, name="generated")
        hot = b.add_dir(top, 2, name="objects")
        for _ in range(big):
            b.add_file(hot)
    b.fill_source_tree(rest, dirs_list)
    b.empty_dirs(max(1, len(b.dirs) // 100) if nfiles >= 20 else 0)
    b.symlinks(max(1, nfiles // 1000) if nfiles >= 10 else 0)


def _build_large(b, nfiles, size_mb):
    size = int(size_mb * MiB)
    for i in range(nfiles):
        b.add_file("", size=size, name=f"blob{i:04d}.bin", ext="",
                   binary=True, mode=0o644)


def _build_deep(b, nfiles, depth=300):
    rng = b.rng
    chain = [""]
    parent = ""
    for lvl in range(1, depth + 1):
        parent = b.add_dir(parent, lvl, name=f"d{lvl:03d}")
        chain.append(parent)
    if nfiles <= 0:
        return
    levels = [rng.randrange(depth + 1) for _ in range(nfiles - 1)] + [depth]
    levels.sort()
    for lvl in levels:
        b.add_file(chain[lvl])


def _build_mixed(b, nfiles, big_files, big_range_mb=(20, 200)):
    rng = b.rng
    lo, hi = (int(x * MiB) for x in big_range_mb)
    nbig = min(big_files, nfiles)
    _build_small(b, nfiles - nbig)
    if nbig:
        assets = b.add_dir("", 1, name="media")
        for _ in range(nbig):
            size = rng.randrange(lo, hi + 1)
            b.add_file(assets, size=size, ext=rng.choice((".mp4", ".iso",
                                                           ".tar", ".bin")),
                       binary=True, mode=0o644)


def make_tree(root, shape="small", files=1000, seed=0, *, size_mb=100,
              big_files=3, big_range_mb=(20, 200), depth=300):
    """Generate a tree into ``root`` (created if missing; must be empty).

    Returns ``{"files", "dirs", "symlinks", "bytes"}`` (regular files,
    directories below root, symlinks, bytes of regular-file content).
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")
    os.makedirs(root, exist_ok=True)
    if os.listdir(root):
        raise FileExistsError(f"{root} is not empty")
    old_umask = os.umask(0o022)
    try:
        b = _Builder(root, seed, shape)
        if shape == "small":
            _build_small(b, files)
        elif shape == "skewed":
            _build_small(b, files, skew=True)
        elif shape == "large":
            _build_large(b, files, size_mb)
        elif shape == "deep":
            _build_deep(b, files, depth)
        elif shape == "mixed":
            _build_mixed(b, files, big_files, big_range_mb)
        return b.finish()
    finally:
        os.umask(old_umask)


def _scan(root):
    """Sorted lists of (relpath of regular files), (relpath of dirs)."""
    files, dirs = [], []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel)) as it:
            ents = sorted(it, key=lambda e: e.name)
        for e in ents:
            r = os.path.join(rel, e.name) if rel else e.name
            if e.is_dir(follow_symlinks=False):
                dirs.append(r)
                stack.append(r)
            elif e.is_file(follow_symlinks=False):
                files.append(r)
    files.sort()
    dirs.sort()
    return files, dirs


def mutate_tree(root, percent=1.0, seed=0):
    """Append to ~percent% of the regular files, add and delete a few.

    Deterministic for a given tree state and seed.  Returns a dict with
    counts ``appended``, ``added``, ``deleted``, ``files`` (after)."""
    root = os.path.abspath(root)
    rng = _fixed_random("mutate", seed, repr(float(percent)))
    blocks = _Blocks(seed)
    files, dirs = _scan(root)
    n = len(files)
    k = min(n, int(round(n * percent / 100.0)))
    if percent > 0 and k == 0 and n:
        k = 1
    chosen = sorted(rng.sample(range(n), k)) if k else []
    touched_dirs = {}

    def remember_dir(rel_dir):
        if rel_dir not in touched_dirs:
            st = os.lstat(os.path.join(root, rel_dir) if rel_dir else root)
            touched_dirs[rel_dir] = st.st_mtime_ns

    old_umask = os.umask(0o022)
    try:
        for i in chosen:
            p = os.path.join(root, files[i])
            st = os.lstat(p)
            extra = rng.randint(64, 4096)
            new_mtime = st.st_mtime_ns + DAY_NS + rng.randrange(DAY_NS)
            _write_file(p, extra, 0, new_mtime, blocks.text, rng, append=True)
        nchange = max(1, k // 10) if k else 0
        # deletions, among the files not appended to
        chosen_set = set(chosen)
        rest = [i for i in range(n) if i not in chosen_set]
        ndel = min(nchange, len(rest))
        deleted = sorted(rng.sample(rest, ndel)) if ndel else []
        for i in deleted:
            rel = files[i]
            remember_dir(os.path.dirname(rel))
            os.unlink(os.path.join(root, rel))
        # additions, in existing directories
        alldirs = [""] + dirs
        added = 0
        for j in range(nchange):
            d = alldirs[rng.randrange(len(alldirs))]
            ext = rng.choices(_EXT_NAMES, _EXT_WEIGHTS)[0]
            name = f"new_{seed}_{j}_{rng.choice(_WORDS)}{ext}"
            p = os.path.join(root, d, name)
            if os.path.lexists(p):
                continue
            remember_dir(d)
            _write_file(p, _small_size(rng), _file_mode(rng, ext),
                        EPOCH_NS + YEAR_NS + rng.randrange(DAY_NS),
                        blocks.text, rng)
            added += 1
        for d in sorted(touched_dirs):
            t = touched_dirs[d] + DAY_NS
            os.utime(os.path.join(root, d) if d else root, ns=(t, t))
    finally:
        os.umask(old_umask)
    return {"appended": k, "added": added, "deleted": len(deleted),
            "files": n - len(deleted) + added}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--shape", choices=SHAPES, default="small")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mutate", type=float, metavar="PERCENT",
                    help="mutate an existing tree (generate it first if DIR "
                         "is missing or empty)")
    ap.add_argument("--size-mb", type=float, default=100,
                    help="file size for --shape large (MiB, default 100)")
    ap.add_argument("--big-files", type=int, default=3,
                    help="number of 20-200 MiB files for --shape mixed")
    ap.add_argument("--force", action="store_true",
                    help="delete DIR first if it exists (generation only)")
    a = ap.parse_args(argv)

    exists = os.path.isdir(a.dir) and bool(os.listdir(a.dir))
    if a.force and exists and a.mutate is None:
        shutil.rmtree(a.dir)
        exists = False
    if not exists:
        st = make_tree(a.dir, a.shape, a.files, a.seed, size_mb=a.size_mb,
                       big_files=a.big_files)
        print(f"mktree: {a.dir}: shape={a.shape} seed={a.seed} "
              f"files={st['files']} dirs={st['dirs']} "
              f"symlinks={st['symlinks']} bytes={st['bytes']}",
              file=sys.stderr)
    elif a.mutate is None:
        print(f"mktree: {a.dir} is not empty (use --force to regenerate)",
              file=sys.stderr)
        return 2
    if a.mutate is not None:
        m = mutate_tree(a.dir, a.mutate, a.seed)
        print(f"mktree: {a.dir}: mutate {a.mutate}% seed={a.seed}: "
              f"appended={m['appended']} added={m['added']} "
              f"deleted={m['deleted']} files={m['files']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
