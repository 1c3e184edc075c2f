"""Entry names are bytes on disk; we carry them as ``str`` decoded with
``surrogateescape`` (what ``os.scandir`` on a descriptor gives), which round
trips every byte exactly.  Nothing is normalized.

:func:`escape` makes one entry print as exactly one line: control characters
and backslash C-style (``\\n``, ``\\\\``), bytes that are not UTF-8 as
``\\xNN``.
"""

from __future__ import annotations

import re

TEMP_PREFIX = ".stealsync-"
# .stealsync-<run tag: 8 hex>-<pid hex>-<counter hex>.tmp
TEMP_RE = re.compile(r"\.stealsync-([0-9a-f]{8})-[0-9a-f]+-[0-9a-f]+\.tmp\Z")

_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", "\x0b": "\\v", "\x0c": "\\f"}


def escape(path: str) -> str:
    if path.isprintable() and "\\" not in path:
        return path  # the common case: nothing to do
    out = []
    for ch in path:
        code = ord(ch)
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # a raw byte that was not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() and code < 0x10000 and 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def join(relpath: str, name: str) -> str:
    return f"{relpath}/{name}" if relpath else name


def is_stale_temp(name: str, run_tag: str) -> bool:
    """A temp file left by an earlier (crashed) run, never one of ours."""
    if not name.startswith(TEMP_PREFIX):
        return False
    m = TEMP_RE.match(name)
    return bool(m) and m.group(1) != run_tag


def is_own_temp(name: str, run_tag: str) -> bool:
    """A temp file of this run (another worker may be writing it right now)."""
    if not run_tag or not name.startswith(TEMP_PREFIX):
        return False
    m = TEMP_RE.match(name)
    return bool(m) and m.group(1) == run_tag
