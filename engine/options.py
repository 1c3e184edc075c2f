"""One options table drives argparse, the defaults of :class:`SyncOptions`
and the CLI reference in the README (``python -m engine sync --help``).

Option combinations are resolved and validated in one place,
:func:`resolve`, which fails fast on contradictions.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import UsageError
from .rules import PatternLine


class Opt(NamedTuple):
    flags: tuple[str, ...]
    dest: str
    default: Any
    help: str
    kind: str = "flag"  # flag | int | str | append | exclude | exclude-from
    metavar: str | None = None


SYNC_OPTIONS: tuple[Opt, ...] = (
    Opt(("-n", "--dry-run"), "dry_run", False, "show what would change; write nothing"),
    Opt(("--delete",), "delete", False, "delete DST entries not in SRC (decided per directory, done after all copies)"),
    Opt(("--delete-excluded",), "delete_excluded", False, "also delete excluded entries from DST (implies --delete)"),
    Opt(("--max-delete",), "max_delete", None, "delete at most N entries; past N delete nothing more, finish, exit 25", "int", "N"),
    Opt(("--force-empty-src",), "force_empty_src", False, "allow --delete with an empty SRC"),
    Opt(("--exclude",), "excludes", None, "gitignore-style pattern relative to SRC (repeatable; later wins)", "exclude", "PATTERN"),
    Opt(("--exclude-from",), "excludes", None, "read exclude patterns from FILE (gitignore syntax)", "exclude-from", "FILE"),
    Opt(("--ignore-file",), "ignore_files", None, "per-directory ignore file name (repeatable; default .syncignore)", "append", "NAME"),
    Opt(("--no-ignore-files",), "no_ignore_files", False, "do not read per-directory ignore files"),
    Opt(("-c", "--checksum"), "checksum", False, "compare files of equal size by xxh3-128 content hash"),
    Opt(("--verify",), "verify", False, "re-read each copy and compare hashes before it replaces the old file"),
    Opt(("-H", "--hard-links"), "hard_links", False, "preserve hard links between files in SRC"),
    Opt(("--no-specials",), "no_specials", False, "skip FIFOs, sockets and devices even as root (warning)"),
    Opt(("-i", "--itemize"), "itemize", False, "print one line per change: '+' created, '*' updated, '-' deleted"),
    Opt(("--json",), "json", False, "print one JSON object with the run's results at the end"),
    Opt(("--workers",), "workers", "auto", "worker processes: a number, or auto (from CPU, memory and disk facts)", "str", "N|auto"),
    Opt(("--pool-threshold",), "pool_threshold", 100, "files discovered before the worker pool starts", "int", "N"),
    Opt(("--progress",), "progress", None, "show a progress bar on stderr (default: when stderr is a terminal)"),
    Opt(("--no-progress",), "no_progress", False, "never show a progress bar"),
    Opt(("--report",), "report", None, "write a Markdown run report to FILE", "str", "FILE"),
    Opt(("--log-file",), "log_file", None, "append one JSON line per run to FILE (also on failure)", "str", "FILE"),
    Opt(("--profile",), "profile", None, "profile every process with cProfile; merged stats go to DIR", "str", "DIR"),
    Opt(("--lock-dir",), "lock_dir", None, "where the per-DST lock file lives (default: a per-user dir under /tmp)", "str", "DIR"),
)


@dataclass
class SyncOptions:
    src: str = ""
    dst: str = ""
    dry_run: bool = False
    delete: bool = False
    delete_excluded: bool = False
    max_delete: int | None = None
    force_empty_src: bool = False
    excludes: list[PatternLine] = field(default_factory=list)
    ignore_files: tuple[str, ...] = (".syncignore",)
    no_ignore_files: bool = False
    checksum: bool = False
    verify: bool = False
    hard_links: bool = False
    no_specials: bool = False
    itemize: bool = False
    json: bool = False
    workers: str | int = "auto"
    pool_threshold: int = 100
    progress: bool | None = None
    no_progress: bool = False
    report: str | None = None
    log_file: str | None = None
    profile: str | None = None
    lock_dir: str | None = None


class _ExcludeAction(argparse.Action):
    """--exclude and --exclude-from share one list, in command-line order."""

    def __call__(self, parser, namespace, value, option_string=None):
        lines = list(getattr(namespace, self.dest, None) or [])
        if option_string == "--exclude":
            lines.append(PatternLine(value, "--exclude", len(lines) + 1))
        else:
            from .rules import load_exclude_file

            try:
                lines.extend(load_exclude_file(value))
            except OSError as e:
                raise UsageError(f"--exclude-from {value}: {e.strerror}") from e
        setattr(namespace, self.dest, lines)


def add_to_parser(parser: argparse.ArgumentParser, table=SYNC_OPTIONS) -> None:
    for o in table:
        kw: dict[str, Any] = {"dest": o.dest, "help": o.help}
        if o.kind == "flag":
            kw.update(action="store_true", default=argparse.SUPPRESS)
        elif o.kind == "int":
            kw.update(type=int, metavar=o.metavar, default=argparse.SUPPRESS)
        elif o.kind == "str":
            kw.update(metavar=o.metavar, default=argparse.SUPPRESS)
        elif o.kind == "append":
            kw.update(action="append", metavar=o.metavar, default=argparse.SUPPRESS)
        else:
            kw.update(action=_ExcludeAction, metavar=o.metavar, default=argparse.SUPPRESS)
        parser.add_argument(*o.flags, **kw)


def resolve(values: dict) -> SyncOptions:
    """Build validated SyncOptions from parsed values (missing = default)."""
    opts = SyncOptions(**{k: v for k, v in values.items() if k in SyncOptions.__dataclass_fields__})
    if opts.delete_excluded:
        opts.delete = True
    if opts.max_delete is not None and opts.max_delete < 0:
        raise UsageError("--max-delete takes a number >= 0")
    if opts.pool_threshold < 0:
        raise UsageError("--pool-threshold takes a number >= 0")
    if isinstance(opts.workers, str) and opts.workers != "auto":
        try:
            opts.workers = int(opts.workers)
        except ValueError:
            raise UsageError("--workers takes a number >= 1 or 'auto'") from None
    if isinstance(opts.workers, int) and opts.workers < 1:
        raise UsageError("--workers takes a number >= 1 or 'auto'")
    if isinstance(opts.ignore_files, list):
        opts.ignore_files = tuple(opts.ignore_files)
    for name in opts.ignore_files:
        if not name or "/" in name or name in (".", ".."):
            raise UsageError(f"--ignore-file takes a plain file name, not {name!r}")
    if opts.no_ignore_files:
        opts.ignore_files = ()
    if opts.no_progress:
        if opts.progress:
            raise UsageError("--progress and --no-progress contradict each other")
        opts.progress = False
    if opts.json and opts.itemize:
        raise UsageError("--json and --itemize both want stdout; pick one")
    if opts.dry_run and opts.verify:
        opts.verify = False  # nothing is written, nothing to verify
    return opts


def default_lock_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, f"stealsync-{os.getuid()}")
