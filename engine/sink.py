"""Where results go.  In the coordinator, :class:`CoordinatorSink` prints
itemized lines and error lines as they arrive and keeps what the end of the
run needs; in a worker, :class:`BatchingSink` batches results into few small
messages to the coordinator."""

from __future__ import annotations

import sys
from collections import defaultdict

from .context import DeferredDir, HardLink, PendingDelete
from .errors import Severity, SyncError

MAX_ERRORS_KEPT = 10000  # in the JSON; every error is still printed on stderr


class CoordinatorSink:
    def __init__(self, itemize: bool, echo=None):
        self.itemize = itemize
        self.errors: list[SyncError] = []
        self.errors_dropped = 0
        self.deferred: list[DeferredDir] = []
        self.hardlinks: dict[tuple[int, int], list[str]] = defaultdict(list)
        self._out = sys.stdout.buffer if itemize else None
        self._echo = echo  # writes a line to stderr without tearing a progress bar
        self.seen_severities: set[int] = set()
        self.on_record = None
        self.pending = DeletionLog()

    def item(self, line: str) -> None:
        self._write(line.encode("utf-8", "surrogateescape") + b"\n")

    def items(self, lines) -> None:
        if lines:
            self._write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))

    def _write(self, data: bytes) -> None:
        if self._out is None:
            return
        try:
            self._out.write(data)
        except BrokenPipeError:
            # The reader went away (`| head`): the sync itself goes on.
            self._out = None
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)

    def error(self, rec: SyncError) -> None:
        from .names import escape

        self.seen_severities.add(rec.severity)
        kind = {Severity.WARNING: "warning", Severity.VANISHED: "vanished"}.get(rec.severity, "error")
        en = f" (errno {rec.errno})" if rec.errno else ""
        line = f"stealsync: {kind}: {rec.op} {escape(rec.path) or '.'}: {rec.message}{en}"
        (self._echo or _stderr)(line)
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(rec)
        else:
            self.errors_dropped += 1

    def defer(self, rec: DeferredDir) -> None:
        self.deferred.append(rec)

    def delete_later(self, rec: PendingDelete) -> None:
        self.pending.add(rec)

    def record(self, rec) -> None:
        """A generic picklable record (e.g. analyze's per-directory summary),
        handed to ``on_record`` when one is set."""
        if self.on_record is not None:
            self.on_record(rec)

    def hardlink(self, rec: HardLink) -> None:
        self.hardlinks[(rec.dev, rec.ino)].append(rec.relpath)

    def flush(self) -> None:
        if self._out is not None:
            try:
                self._out.flush()
            except BrokenPipeError:
                self._out = None


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class BatchingSink:
    """Worker side: collect results, send them as one message per batch."""

    BATCH = 256

    def __init__(self, send):
        self._send = send  # callable taking one message (a tuple)
        self.items: list[str] = []
        self.other: list = []  # SyncError / DeferredDir / HardLink records

    def item(self, line: str) -> None:
        self.items.append(line)
        if len(self.items) >= self.BATCH:
            self.flush()

    def error(self, rec: SyncError) -> None:
        self.other.append(("e", tuple(rec)))
        self.flush()  # errors are rare and the user wants to see them now

    def defer(self, rec: DeferredDir) -> None:
        self.other.append(("d", tuple(rec)))

    def record(self, rec) -> None:
        self.other.append(("x", rec))
        if len(self.other) >= self.BATCH:
            self.flush()

    def delete_later(self, rec: PendingDelete) -> None:
        self.other.append(("p", tuple(rec)))
        if len(self.other) >= self.BATCH:
            self.flush()

    def hardlink(self, rec: HardLink) -> None:
        self.other.append(("h", tuple(rec)))
        if len(self.other) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.items or self.other:
            self._send(("r", self.items, self.other))
            self.items = []
            self.other = []


def deliver(sink: CoordinatorSink, items, other) -> None:
    """Coordinator side of a BatchingSink message."""
    if items:
        sink.items(items)
    for tag, rec in other:
        if tag == "e":
            sink.error(SyncError(*rec))
        elif tag == "d":
            sink.defer(DeferredDir(*rec))
        elif tag == "h":
            sink.hardlink(HardLink(*rec))
        elif tag == "p":
            sink.delete_later(PendingDelete(*rec))
        elif tag == "x":
            sink.record(rec)


class DeletionLog:
    """Pending deletions, in arrival order.  Past ``limit`` records they go to
    an unlinked temp file (outside DST), so a mass deletion of millions of
    entries does not grow the coordinator's memory."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._mem: list[tuple] = []
        self._spill = None
        self.count = 0

    def add(self, rec: PendingDelete) -> None:
        self._mem.append(tuple(rec))
        self.count += 1
        if len(self._mem) >= self.limit:
            import marshal
            import tempfile

            if self._spill is None:
                self._spill = tempfile.TemporaryFile(prefix="stealsync-deletes-")
            marshal.dump(self._mem, self._spill)
            self._mem = []

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        if self._spill is not None:
            import marshal

            self._spill.seek(0)
            while True:
                try:
                    chunk = marshal.load(self._spill)
                except EOFError:
                    break
                for rec in chunk:
                    yield PendingDelete(*rec)
        for rec in self._mem:
            yield PendingDelete(*rec)

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
