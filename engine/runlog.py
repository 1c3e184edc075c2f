"""What happens after a sync, before ``--json`` is printed: merge ``--profile``
output, build the ``--report`` (Markdown file and ``report`` in the JSON),
keep the per-pair baseline, append the ``--log-file`` line.

``cli`` calls :func:`after_run` for every run, failed ones included (a run
that could not start still gets its log line, with empty counts).  None of
this changes the run's exit code: a report or log that cannot be written is
a warning on stderr.

Baselines: the report's performance figures are kept per SRC/DST pair in a
small JSON file under the state directory (``$STEALSYNC_STATE_DIR``, else
``$XDG_STATE_HOME/stealsync``, else ``~/.local/state/stealsync``), never
inside SRC or DST; the next report of the same pair compares against it.
Only successful, real (not ``--dry-run``) runs become baselines.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time


def after_run(opts, result) -> None:
    if opts.profile:
        _guard("--profile", _merge_profile, opts, result)
    if opts.report:
        _guard("--report", _write_report, opts, result)
    if opts.log_file:
        _guard("--log-file", _append_log, opts, result)


def _guard(what: str, fn, opts, result) -> None:
    try:
        fn(opts, result)
    except OSError as e:
        _warn(f"{what}: {e.filename or ''}: {e.strerror}")


def _warn(line: str) -> None:
    sys.stderr.write(f"stealsync: warning: {line}\n")


# --- --profile -----------------------------------------------------------------------

def _merge_profile(opts, result) -> None:
    from .profiling import merge, profile_files

    since = time.time() - result.elapsed_s - 0.5
    n = len(profile_files(opts.profile, since))
    path, text = merge(opts.profile, 15, since)
    if not path:
        _warn(f"--profile: no profile was written to {opts.profile}")
        return
    result.extra["profile"] = {"merged": path, "processes": n}
    sys.stderr.write(f"stealsync: profile of {n} process(es) merged into {path} "
                     f"(python -m pstats {path}); top 15 by cumulative time:\n{text}")
    sys.stderr.flush()


# --- --report ------------------------------------------------------------------------

def _write_report(opts, result) -> None:
    from .report import build_report, snapshot, to_markdown

    run = _run_json(opts, result)
    analysis, error = _analysis(opts, result)
    state = state_path(opts.src, opts.dst)
    baseline = load_baseline(state)
    rep = build_report(run, analysis, baseline, error)
    result.extra["report"] = rep
    text = to_markdown(rep)
    _atomic_write(opts.report, text.encode("utf-8", "surrogateescape"))
    if result.exit_code == 0 and not opts.dry_run:
        _save_baseline(state, opts, snapshot(run))


def _run_json(opts, result) -> dict:
    run = result.to_json()
    run.setdefault("run", {"src": opts.src, "dst": opts.dst})
    return run


def _analysis(opts, result) -> tuple[dict | None, str]:
    """The Directory Analysis of SRC, walked after the sync with the same
    rules (hot cache; the pool when the tree is big)."""
    if not result.counts:
        return None, result.message or "the run did not start"
    from .analysis import analyze
    from .errors import UsageError

    try:
        return analyze(opts.src, opts.excludes, opts.ignore_files, opts.workers, opts.dst,
                       pool_threshold=opts.pool_threshold, echo=_silent), ""
    except UsageError as e:
        return None, str(e)


def _silent(line: str) -> None:
    """The sync already printed its errors; the analysis walk stays quiet."""


# --- baselines -----------------------------------------------------------------------

def state_dir() -> str:
    d = os.environ.get("STEALSYNC_STATE_DIR")
    if d:
        return d
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "stealsync")


def state_path(src: str, dst: str) -> str:
    key = os.path.realpath(src) + "\0" + os.path.realpath(dst)
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return os.path.join(state_dir(), f"pair-{digest}.json")


def load_baseline(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    snap = data.get("snapshot") if isinstance(data, dict) else None
    return snap if isinstance(snap, dict) else None


def _save_baseline(path: str, opts, snap: dict) -> None:
    real = os.path.realpath(os.path.dirname(path))
    for root in (opts.src, opts.dst):
        r = os.path.realpath(root).rstrip("/") + "/"
        if (real.rstrip("/") + "/").startswith(r):
            _warn(f"state directory {real} is inside {root}: baseline not kept")
            return
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    data = {"src": os.path.realpath(opts.src), "dst": os.path.realpath(opts.dst), "snapshot": snap}
    _atomic_write(path, json.dumps(data, indent=1).encode())


def _atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# --- --log-file ----------------------------------------------------------------------

def log_record(opts, result) -> dict:
    """One line of history: what cron users graph."""
    import resource

    res = result.extra.get("resources") or {}
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "src": opts.src,
        "dst": opts.dst,
        "exit_code": result.exit_code,
        "message": result.message,
        "dry_run": opts.dry_run,
        **result.count_fields(),
        "errors": len(result.errors),
        "elapsed_s": round(result.elapsed_s, 6),
        "mode": result.mode,
        "workers": result.workers,
        "peak_rss_bytes": res.get("peak_rss_bytes", own_peak),
        "peak_pss_bytes": res.get("peak_pss_bytes"),
        "cpu_avg_pct": res.get("cpu_avg_pct"),
    }


def _append_log(opts, result) -> None:
    line = json.dumps(log_record(opts, result)) + "\n"
    fd = os.open(opts.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line.encode("utf-8", "surrogateescape"))  # one write: lines never interleave
    finally:
        os.close(fd)
