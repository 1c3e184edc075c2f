"""--profile DIR: cProfile in the coordinator and every worker, merged into
``DIR/merged.prof`` (pstats format) at the end."""

from __future__ import annotations

import glob
import io
import os


def dump_worker(prof, directory: str, name: str) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.prof")
    prof.dump_stats(path)
    return path


def merge(directory: str, top: int = 15) -> tuple[str, str]:
    """Merge every per-process profile in DIR; returns (path, top-N text)."""
    import pstats

    files = sorted(f for f in glob.glob(os.path.join(directory, "*.prof"))
                   if not f.endswith("merged.prof"))
    if not files:
        return "", ""
    stats = pstats.Stats(files[0])
    for f in files[1:]:
        stats.add(f)
    merged = os.path.join(directory, "merged.prof")
    stats.dump_stats(merged)
    buf = io.StringIO()
    pstats.Stats(merged, stream=buf).sort_stats("cumulative").print_stats(top)
    return merged, buf.getvalue()
