"""The public Python API: ``from engine import sync, SyncOptions, SyncResult,
SyncError``, each import form checked in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO, build
from treecmp import compare

USE = """
import sys
{imports}
res = sync(SyncOptions(src=sys.argv[1], dst=sys.argv[2], progress=False))
assert type(res).__name__ == "SyncResult", type(res)
assert res.exit_code == 0, res
print("ok")
"""


@pytest.mark.parametrize("imports", [
    # the module docstring's own example (regression: 'module' object is not callable)
    "from engine import sync, SyncOptions, SyncResult, SyncError",
    "from engine import SyncResult, sync, SyncOptions",
    "from engine import SyncOptions, analyze, sync",
    "import engine\nengine.SyncResult\nsync, SyncOptions = engine.sync, engine.SyncOptions",
    "import engine\nengine.sync\nsync, SyncOptions = engine.sync, engine.SyncOptions",
])
def test_public_api_import_forms(src, dst, imports):
    build(src, {"a": b"a", "d": {"b": b"b"}})
    code = USE.format(imports=imports)
    proc = subprocess.run([sys.executable, "-c", code, os.fspath(src), os.fspath(dst)],
                          capture_output=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0 and proc.stdout == b"ok\n", proc.stderr.decode()
    assert compare(src, dst) == []


def test_public_sync_after_the_submodule_was_imported(src, dst):
    build(src, {"a": b"a"})
    code = USE.format(imports="import engine.coordinator, engine.analysis\n"
                              "from engine import sync, analyze\nassert callable(analyze)\n"
                              "from engine.options import SyncOptions")
    proc = subprocess.run([sys.executable, "-c", code, os.fspath(src), os.fspath(dst)],
                          capture_output=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()


def test_errors_are_sync_error_records(src, dst):
    from engine import SyncError, SyncOptions, sync

    build(src, {"bad": {"f": b"f"}, "ok": b"o"})
    os.symlink("nowhere", src / "bad" / ".syncignore")
    res = sync(SyncOptions(src=os.fspath(src), dst=os.fspath(dst), progress=False))
    assert res.exit_code == 23
    [err] = res.errors
    assert isinstance(err, SyncError)
    assert (err.path, err.op, err.errno) == ("bad/.syncignore", "list-src", 40)
    assert res.to_json()["errors"][0]["op"] == "list-src"


def test_refusals_come_back_as_results(src, tmp_path):
    from engine import SyncOptions, sync

    res = sync(SyncOptions(src=os.fspath(src), dst=os.fspath(src), progress=False))
    assert res.exit_code == 1 and "same directory" in res.message
    res = sync(SyncOptions(src=os.fspath(tmp_path / "nope"), dst=os.fspath(tmp_path / "d"),
                           progress=False))
    assert res.exit_code == 3
