"""The README's CLI reference is generated from the options table; keep them
in step, and keep the README's test command the one CI runs."""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_readme_cli_reference_matches_options_table():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import cli_reference

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert cli_reference.table() in readme, "run: python scripts/cli_reference.py --write"


def test_every_option_in_table_is_accepted_by_the_parser():
    from engine.cli import build_parser
    from engine.options import SYNC_OPTIONS

    parser = build_parser()
    sync = parser._subparsers._group_actions[0].choices["sync"]
    known = {s for a in sync._actions for s in a.option_strings}
    for o in SYNC_OPTIONS:
        for flag in o.flags:
            assert flag in known


def test_ci_runs_the_readme_test_command():
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        ci = f.read()
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert "make test" in ci and "make test" in readme


def test_python_dash_m_engine_is_the_same_program():
    out = subprocess.run([sys.executable, "-m", "engine", "sync", "--help"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "--dry-run" in out.stdout
