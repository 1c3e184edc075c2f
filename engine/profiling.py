"""--profile DIR: cProfile in the coordinator and every worker, merged into
``DIR/merged.prof`` (pstats format) at the end.

Each process dumps ``DIR/<name>.prof`` (``coordinator``, ``worker-N``) as it
ends; :func:`merge` adds them up (``pstats.Stats.add``) into ``merged.prof``,
which ``python -m pstats DIR/merged.prof`` and ``snakeviz DIR/merged.prof``
load.  Only files written since the run started are merged, so a DIR reused
by an earlier run with more workers does not pollute the result.

Profiling changes timings (every call is traced), never results.
"""

from __future__ import annotations

import glob
import io
import os

MERGED = "merged.prof"


def dump_worker(prof, directory: str, name: str) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.prof")
    prof.dump_stats(path)
    return path


def profile_files(directory: str, since: float | None = None) -> list[str]:
    """Per-process profiles in DIR (not the merged one), written at or after
    ``since`` (a time.time() value) when given."""
    out = []
    for f in sorted(glob.glob(os.path.join(directory, "*.prof"))):
        if os.path.basename(f) == MERGED:
            continue
        try:
            if since is not None and os.stat(f).st_mtime < since:
                continue
        except OSError:
            continue
        out.append(f)
    return out


def merge(directory: str, top: int = 15, since: float | None = None) -> tuple[str, str]:
    """Merge the per-process profiles in DIR; returns (path, top-N text by
    cumulative time).  ("", "") when there is nothing to merge."""
    import pstats

    files = profile_files(directory, since)
    if not files:
        return "", ""
    stats = pstats.Stats(files[0])
    for f in files[1:]:
        stats.add(f)
    merged = os.path.join(directory, MERGED)
    tmp = merged + f".{os.getpid()}.tmp"
    stats.dump_stats(tmp)
    os.replace(tmp, merged)  # a reader never sees half a file
    return merged, top_text(merged, top)


def top_text(path: str, top: int = 15) -> str:
    import pstats

    buf = io.StringIO()
    pstats.Stats(path, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()
