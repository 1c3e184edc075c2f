"""Command line: ``stealsync sync|analyze|patterns``.  Imports stay lazy so a
small sync starts fast."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import EXIT_CODES, Exit, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 1, as the contract says
        self.print_usage(sys.stderr)
        sys.stderr.write(f"stealsync: error: {message}\n")
        sys.exit(Exit.USAGE)


def build_parser() -> argparse.ArgumentParser:
    from .options import add_to_parser

    epilog = "exit codes:\n" + "\n".join(f"  {k:>2}  {v}" for k, v in EXIT_CODES.items())
    p = _Parser(prog="stealsync", description="Fast, safe one-way directory mirror.",
                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("sync", help="make DST an exact mirror of SRC", epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("src", metavar="SRC")
    s.add_argument("dst", metavar="DST")
    add_to_parser(s)
    try:
        from .analyze import add_parser as add_analyze
    except ImportError:
        add_analyze = None
    if add_analyze is not None:
        add_analyze(sub)
    try:
        from .patterns import add_parser as add_patterns
    except ImportError:
        add_patterns = None
    if add_patterns is not None:
        add_patterns(sub)
    return p


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return e.code
    if args.command == "sync":
        code = _sync(args)
    else:
        code = args.run(args)
    return code


def _sync(args) -> int:
    from .options import resolve
    from .sync import sync

    values = {k: v for k, v in vars(args).items() if k not in ("command",)}
    try:
        opts = resolve(values)
    except UsageError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return e.code
    result = sync(opts)
    if result.message:
        sys.stderr.write(f"stealsync: error: {result.message}\n")
    try:
        from .runlog import after_run
    except ImportError:
        after_run = None
    if after_run is not None:
        after_run(opts, result)
    if opts.json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    elif not opts.itemize and (opts.progress or result.exit_code not in (0,)):
        _summary(result)
    sys.stdout.flush()
    return result.exit_code


def _summary(result) -> None:
    c = result.counts
    if not c:
        return
    sys.stderr.write(
        f"stealsync: {c.get('files_seen', 0)} files, {c.get('files_copied', 0)} copied, "
        f"{c.get('files_updated', 0)} updated, {c.get('files_deleted', 0)} deleted, "
        f"{c.get('bytes_copied', 0)} bytes in {result.elapsed_s:.2f}s "
        f"({result.mode}, {result.workers} worker{'s' if result.workers != 1 else ''}); "
        f"exit {result.exit_code}\n")


if __name__ == "__main__":
    sys.exit(main())
