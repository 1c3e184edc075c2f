"""Command line: ``stealsync sync|analyze|patterns``.  Imports stay lazy so a
small sync starts fast."""

from __future__ import annotations

import argparse
import sys

from .errors import EXIT_CODES, Exit, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 1, as the contract says
        self.print_usage(sys.stderr)
        sys.stderr.write(f"stealsync: error: {message}\n")
        sys.exit(Exit.USAGE)


SUBCOMMANDS = ("sync", "analyze", "patterns")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser.  ``only`` builds just one subcommand: a sync does
    not pay for importing analyze and patterns at start-up."""
    from .options import add_to_parser

    epilog = "exit codes:\n" + "\n".join(f"  {k:>2}  {v}" for k, v in EXIT_CODES.items())
    p = _Parser(prog="stealsync", description="Fast, safe one-way directory mirror.",
                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    if only in (None, "sync"):
        s = sub.add_parser("sync", help="make DST an exact mirror of SRC", epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        s.add_argument("src", metavar="SRC")
        s.add_argument("dst", metavar="DST")
        add_to_parser(s)
    if only in (None, "analyze"):
        from .analysis import add_parser as add_analyze

        add_analyze(sub)
    if only in (None, "patterns"):
        from .patterns import add_parser as add_patterns

        add_patterns(sub)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    only = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    try:
        args = build_parser(only).parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return e.code
    if args.command == "sync":
        code = _sync(args)
    else:
        code = args.run(args)
    return code


def _sync(args) -> int:
    from .coordinator import sync
    from .options import resolve

    values = {k: v for k, v in vars(args).items() if k not in ("command",)}
    try:
        opts = resolve(values)
    except UsageError as e:
        sys.stderr.write(f"stealsync: error: {e}\n")
        return e.code
    result = sync(opts)
    if result.message:
        sys.stderr.write(f"stealsync: error: {result.message}\n")
    if opts.report or opts.log_file or opts.profile:
        from .runlog import after_run

        after_run(opts, result)
    if opts.json:
        import json

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
