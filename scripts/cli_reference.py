"""Render the sync options table (engine.options.SYNC_OPTIONS) as the
Markdown table in the README, between the CLI-REFERENCE markers.

    python scripts/cli_reference.py          # print the table
    python scripts/cli_reference.py --write  # update README.md in place
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from engine.options import SYNC_OPTIONS, SyncOptions  # noqa: E402

BEGIN, END = "<!-- CLI-REFERENCE:BEGIN -->", "<!-- CLI-REFERENCE:END -->"


def table() -> str:
    defaults = SyncOptions()
    rows = ["| option | meaning | default |", "| --- | --- | --- |"]
    for o in SYNC_OPTIONS:
        flags = ", ".join(f"`{f}{' ' + o.metavar if o.metavar else ''}`" for f in o.flags)
        d = getattr(defaults, o.dest)
        if isinstance(d, bool):
            d = "off" if not d else "on"
        elif d is None or d == [] or d == ():
            d = "—" if o.dest != "progress" else "when stderr is a terminal"
        elif isinstance(d, tuple):
            d = ", ".join(d)
        flags = flags.replace("|", "\\|")  # a bare '|' would split the table cell
        rows.append(f"| {flags} | {o.help.replace('|', '/')} | {d} |")
    return "\n".join(rows)


def main() -> int:
    text = table()
    if "--write" not in sys.argv:
        print(text)
        return 0
    path = os.path.join(os.path.dirname(__file__), "..", "README.md")
    with open(path, encoding="utf-8") as f:
        readme = f.read()
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), f"{BEGIN}\n{text}\n{END}", readme, flags=re.S)
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
