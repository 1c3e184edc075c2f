"""Pool sizing from what the machine shows (psutil): usable CPUs, available
memory, and disk facts (same device, rotational, network filesystem)."""

from __future__ import annotations

import os
from typing import NamedTuple

WORKER_MEMORY_BUDGET = 64 * 1024 * 1024  # bytes a worker may need at peak
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "ceph", "glusterfs",
              "fuse.rclone", "lustre", "beegfs"}
MAX_WORKERS = 32


class Sizing(NamedTuple):
    workers: int
    reason: str
    cpus: int
    mem_available: int
    same_device: bool
    src_fs: str
    dst_fs: str
    rotational: bool
    network: bool

    def to_json(self) -> dict:
        return self._asdict()


def _mount_of(path: str, partitions) -> str:
    best = ("", "")
    real = os.path.realpath(path)
    for p in partitions:
        mp = p.mountpoint
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and len(mp) > len(best[0]):
            best = (mp, p.fstype)
    return best[1]


def _rotational(dev: int) -> bool:
    try:
        major, minor = os.major(dev), os.minor(dev)
        base = f"/sys/dev/block/{major}:{minor}"
        for cand in (f"{base}/queue/rotational", f"{base}/../queue/rotational"):
            if os.path.exists(cand):
                with open(cand) as f:
                    return f.read().strip() == "1"
    except OSError:
        pass
    return False


def decide(src: str, dst: str, requested: int | str = "auto") -> Sizing:
    import psutil

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = psutil.cpu_count() or 1
    mem = psutil.virtual_memory().available
    parts = psutil.disk_partitions(all=True)
    src_fs = _mount_of(src, parts)
    dst_fs = _mount_of(dst if os.path.exists(dst) else os.path.dirname(os.path.abspath(dst)), parts)
    s_dev = os.stat(src).st_dev
    try:
        d_dev = os.stat(dst).st_dev
    except OSError:
        d_dev = os.stat(os.path.dirname(os.path.abspath(dst)) or ".").st_dev
    same = s_dev == d_dev
    rotational = _rotational(s_dev) or _rotational(d_dev)
    network = src_fs in NETWORK_FS or dst_fs in NETWORK_FS
    mem_cap = max(1, mem // WORKER_MEMORY_BUDGET)
    if isinstance(requested, int):
        n, why = requested, f"--workers {requested}"
    elif network:
        n, why = min(cpus * 4, 16), f"network filesystem ({src_fs or dst_fs}): 4 per CPU hide latency"
    elif rotational and same:
        n, why = min(cpus, 2), "SRC and DST share a rotational disk: at most 2 to limit seeks"
    else:
        n, why = cpus, f"{cpus} usable CPUs"
    if n > mem_cap and not isinstance(requested, int):
        n, why = mem_cap, f"limited by available memory ({mem // 2**20} MiB, {WORKER_MEMORY_BUDGET // 2**20} MiB per worker)"
    n = max(1, min(n, MAX_WORKERS))
    return Sizing(n, why, cpus, mem, same, src_fs, dst_fs, rotational, network)
