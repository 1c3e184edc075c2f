"""The coordinator: validate, lock, run the tasks (in-process first, then on
the work-stealing pool once the tree proves large), finish deferred work, and
turn the counters into a :class:`SyncResult`.

Mode (reported as ``mode``): ``sequential`` while fewer than
``--pool-threshold`` (100) files have been discovered (no pool start-up
cost); past that the remaining tasks are handed to the pool: ``pool`` for
runs of up to 10,000 files, ``stealing`` above (same scheduler; the name
tells the scale the run reached).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from .apply import set_fd_meta
from .context import WorkerContext
from .counters import C, F, SharedCounters
from .dirsync import Task, restore_dir_meta, run_depth_first
from .errors import Exit, FatalSyncError, Severity, SyncError, UsageError, from_oserror, worst_exit
from .names import escape
from .options import SyncOptions, default_lock_dir
from .rules import PatternError, Rules
from .safety import DstLock, check_roots
from .sink import CoordinatorSink
from .walk import O_DIR, Entry, entry_from_stat

STEALING_FILES = 10_000


@dataclass
class SyncResult:
    exit_code: int = 0
    counts: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 1
    mode: str = "sequential"
    sizing: dict | None = None
    per_worker: list = field(default_factory=list)
    message: str = ""
    extra: dict = field(default_factory=dict)

    def count_fields(self) -> dict:
        """The run's counts under their public names (--json, --log-file)."""
        c = self.counts
        return {
            "files_total": c.get("files_seen", 0),
            "files_copied": c.get("files_copied", 0),
            "files_updated": c.get("files_updated", 0),
            "files_deleted": c.get("files_deleted", 0),
            "dirs_created": c.get("dirs_created", 0),
            "dirs_deleted": c.get("dirs_deleted", 0),
            "bytes_copied": c.get("bytes_copied", 0),
            "bytes_total": c.get("bytes_seen", 0),
        }

    def to_json(self) -> dict:
        c = self.counts
        out = {
            **self.count_fields(),
            "errors": [e.to_json() for e in self.errors],
            "exit_code": self.exit_code,
            "elapsed_s": round(self.elapsed_s, 6),
            "workers": self.workers,
            "mode": self.mode,
            "sizing": self.sizing,
            "per_worker": self.per_worker,
            "counters": c,
        }
        if self.message:
            out["message"] = self.message
        out.update(self.extra)
        return out


class _HardStop(Exception):
    """A second SIGINT/SIGTERM: stop at once."""


class Coordinator:
    def __init__(self, opts: SyncOptions, echo=None):
        self.opts = opts
        self.echo = echo
        self.pool = None
        self.signals = 0
        self.sizing = None
        self.pool_started = False
        self.lock_fd = None

    # --- signals -------------------------------------------------------------
    def _on_signal(self, signum, frame):
        self.signals += 1
        if self.shared is not None:
            self.shared.set_flag(F.STOP, 1)
        if self.signals >= 2:
            raise _HardStop

    def _install_signals(self):
        self.shared = None
        self._old = {}
        try:
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._on_signal)
        except ValueError:  # not the main thread: the caller handles signals
            self._old = {}

    def _restore_signals(self):
        for s, h in self._old.items():
            signal.signal(s, h)

    # --- the run -------------------------------------------------------------
    def run(self) -> SyncResult:
        t0 = time.monotonic()
        opts = self.opts
        self._install_signals()
        lock = None
        src_fd = dst_fd = None
        try:
            s_stat, d_stat = check_roots(opts.src, opts.dst, opts.delete)
            if not opts.dry_run:
                lock = DstLock(opts.dst, opts.lock_dir or default_lock_dir())
                lock.acquire()
                self.lock_fd = lock.fd
            try:
                rules = Rules(opts.excludes, opts.ignore_files)
            except PatternError as e:
                raise UsageError(str(e)) from e
            src_fd = _open_root(opts.src, "SRC", Exit.SRC_MISSING)
            if opts.delete and not opts.force_empty_src and not os.listdir(src_fd):
                raise UsageError("SRC is empty and --delete is on: refusing "
                                 "(an unmounted source?); use --force-empty-src")
            if d_stat is None and not opts.dry_run:
                try:
                    os.mkdir(opts.dst, 0o700)
                except OSError as e:
                    raise UsageError(f"DST {opts.dst!r}: cannot create it: {e.strerror}",
                                     Exit.FATAL_IO) from e
            if d_stat is not None or not opts.dry_run:
                dst_fd = _open_root(opts.dst, "DST", Exit.FATAL_IO)
            return self._run_tasks(t0, rules, src_fd, dst_fd, s_stat, d_stat)
        except UsageError as e:
            return SyncResult(exit_code=e.code, message=str(e), elapsed_s=time.monotonic() - t0)
        finally:
            if self.pool is not None:
                self.pool.kill()
            for fd in (src_fd, dst_fd):
                if fd is not None:
                    os.close(fd)
            if lock is not None:
                lock.release()
            self._restore_signals()

    def _max_workers(self) -> int:
        w = self.opts.workers
        return w if isinstance(w, int) else max(1, len(os.sched_getaffinity(0)))

    def _run_tasks(self, t0, rules, src_fd, dst_fd, s_stat, d_stat) -> SyncResult:
        opts = self.opts
        max_workers = self._max_workers()
        shared = SharedCounters(rows=1 + max_workers)
        self.shared = shared
        sink = CoordinatorSink(opts.itemize, self.echo)
        run_tag = os.urandom(4).hex()
        ctx = WorkerContext(opts, src_fd, dst_fd, shared, 0, sink, rules, run_tag)
        # umask 0 for the run (every create below passes an explicit mode):
        # a temp file is then born with its final permission bits.
        old_umask = os.umask(0)
        ctx.exact_create = True
        self.ctx = ctx
        root = Task("", tuple(entry_from_stat("", s_stat)),
                    tuple(entry_from_stat("", d_stat)) if d_stat is not None else None, ())
        outcome = None
        fatal = None
        hard_stop = False
        progress = self._start_progress(shared)
        prof = self._start_profile()
        sampler = self._start_sampler()
        try:
            outcome = self._run_all(ctx, [root], sink, progress, max_workers)
            if not shared.flag(F.STOP) and not shared.flag(F.FATAL) and not (outcome and outcome.died):
                self._apply_deletions(ctx, sink)
                self._finish_deferred(ctx, sink)
                if opts.hard_links and sink.hardlinks and not opts.dry_run:
                    from .hardlinks import link_groups

                    link_groups(ctx, sink)
        except FatalSyncError as e:
            fatal = e.record
            shared.set_flag(F.FATAL, 1)
        except _HardStop:
            hard_stop = True
        finally:
            if hard_stop and self.pool is not None:
                self.pool.kill()
            os.umask(old_umask)
            sink.flush()
            if progress is not None:
                progress.close()
            self._stop_profile(prof)
        result = self._result(t0, shared, sink, outcome, fatal, hard_stop, max_workers)
        if progress is not None:
            render_s = progress.render_ns / 1e9
            result.extra["progress"] = {
                "renders": progress.renders,
                "render_s": round(render_s, 6),
                "overhead_pct": round(100 * render_s / max(result.elapsed_s, 1e-9), 3),
            }
        if sampler is not None:
            result.extra["resources"] = sampler.stop()
        result.extra["run"] = {"src": self.opts.src, "dst": self.opts.dst, "run_tag": run_tag}
        return result

    def _run_all(self, ctx, stack, sink, progress, max_workers):
        """Tasks in-process until the tree proves large, then on the pool;
        the pool's outcome, or None when everything ran here."""
        run_depth_first(ctx, stack, enough=lambda: self._pool_wanted(ctx.shared, max_workers))
        if stack and not ctx.shared.flag(F.STOP):
            return self._start_pool(ctx, stack, sink, progress)
        return None

    def _pool_wanted(self, shared, max_workers) -> bool:
        if max_workers < 2:
            return False
        return shared.total(C.FILES_SEEN) >= self.opts.pool_threshold

    def _start_pool(self, ctx, stack, sink, progress):
        from .scheduler import Pool
        from .sizing import decide

        self.sizing = decide(self.opts.src, self.opts.dst, self.opts.workers)
        n = min(self.sizing.workers, self._max_workers())
        if n < 2:  # the machine says one worker: keep going in-process
            run_depth_first(ctx, stack)
            return None
        self.pool_started = True
        self.pool = Pool(ctx, n, on_tick=None)
        if progress is None:
            return self.pool.run(stack, sink, self.lock_fd)
        progress.pause_for_fork()
        try:
            return self.pool.run(stack, sink, self.lock_fd, after_fork=progress.resume)
        finally:
            progress.resume()

    def _apply_deletions(self, ctx: WorkerContext, sink: CoordinatorSink) -> None:
        """--delete, after every task: only now is the whole SRC listing known
        to be complete, so a listing error anywhere turns every deletion off.
        Each directory's mtime is put back afterwards."""
        pending = sink.pending
        if not len(pending):
            return
        try:
            if not ctx.deletions_allowed():
                ctx.row.add(C.DELETES_SKIPPED, len(pending))
                ctx.report(SyncError("", "delete", 0,
                                     f"{len(pending)} deletions withheld: a source listing "
                                     "error turned deletions off for this run", Severity.WARNING))
                return
            from .apply import Applier
            from .plan import Action, Op
            from .walk import open_dir

            self._later = {d.relpath for d in sink.deferred}  # their meta comes last
            current, applier, dst_fd = None, None, None
            try:
                for rec in pending:
                    if rec.relpath != current:
                        self._close_deletion_dir(ctx, current, dst_fd)
                        current, dst_fd = rec.relpath, None
                        try:
                            dst_fd = open_dir(ctx.dst_root, current)
                        except OSError as e:
                            # Once per directory: its other records are skipped below.
                            ctx.report(from_oserror(current, "open-dst", e))
                            continue
                        applier = Applier(ctx, current, None, dst_fd)
                        applier.defer_deletes = False
                    if dst_fd is None:
                        continue
                    applier.apply(Action(Op.DELETE, rec.name, None, Entry(rec.name, rec.kind)))
            finally:
                self._close_deletion_dir(ctx, current, dst_fd)
        finally:
            pending.close()

    def _close_deletion_dir(self, ctx, relpath, dst_fd) -> None:
        if dst_fd is None:
            return
        try:
            if not self.opts.dry_run and relpath not in self._later:
                restore_dir_meta(ctx, relpath, dst_fd)
        finally:
            os.close(dst_fd)

    def _finish_deferred(self, ctx: WorkerContext, sink: CoordinatorSink) -> None:
        """Directory metadata that had to wait for every task to end, deepest
        first (a directory's mtime must be set after its children's)."""
        # src None: a slice of a split directory changed an entry of it
        touched = {d.relpath for d in sink.deferred if d.src is None}
        items = sorted((d for d in sink.deferred if d.src is not None),
                       key=lambda d: d.relpath.count("/"), reverse=True)
        for d in items:
            s = Entry(*d.src)
            show = d.itemize or (d.itemize is None and d.relpath not in touched)
            if show and self.opts.itemize:
                sink.item(f"* {escape(d.relpath)}/" if d.relpath else "* ./")
            if self.opts.dry_run:
                continue
            from .walk import open_dir

            try:
                fd = open_dir(ctx.dst_root, d.relpath)
            except OSError as e:
                ctx.report(from_oserror(d.relpath, "open-dst", e))
                continue
            try:
                set_fd_meta(fd, s, ctx.is_root)
            except OSError as e:
                ctx.report(from_oserror(d.relpath, "set-meta", e))
            finally:
                os.close(fd)
        sink.deferred.clear()

    # --- observers -----------------------------------------------------------
    def _start_progress(self, shared):
        want = self.opts.progress
        if want is None:
            import sys

            want = sys.stderr.isatty()
        if not want:
            return None
        from .progress import ProgressObserver

        obs = ProgressObserver(shared)
        self.echo = obs.write
        obs.start()
        return obs

    def _start_sampler(self):
        """psutil sampling of every process of the run (for --report,
        --log-file and --json); a thread in the coordinator, off the hot path."""
        o = self.opts
        if not (o.report or o.log_file or o.json):
            return None
        try:
            from .resources import ResourceSampler
        except ImportError:
            return None
        sampler = ResourceSampler()
        sampler.start(lambda: [os.getpid()] + (self.pool.pids() if self.pool is not None else []))
        return sampler

    def _start_profile(self):
        if not self.opts.profile:
            return None
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        return prof

    def _stop_profile(self, prof):
        if prof is None:
            return
        prof.disable()
        from .profiling import dump_worker

        dump_worker(prof, self.opts.profile, "coordinator")

    # --- the result ----------------------------------------------------------
    def _result(self, t0, shared, sink, outcome, fatal, hard_stop, max_workers) -> SyncResult:
        codes = []
        if self.signals or hard_stop:
            codes.append(Exit.SIGNALLED)
        if fatal is not None or shared.flag(F.FATAL):
            codes.append(Exit.FATAL_IO)
        message = ""
        if outcome is not None and (outcome.died or outcome.crashed):
            codes.append(Exit.WORKER_DIED)
            message = "; ".join(outcome.died + [c.strip().splitlines()[-1] for c in outcome.crashed])
            for c in outcome.crashed:
                sink.error(SyncError("", "worker", 0, "worker crashed: " + c.strip().splitlines()[-1]))
        sev = sink.seen_severities
        if Severity.SKIP in sev or shared.flag(F.NO_DELETE):
            codes.append(Exit.PARTIAL)
        if shared.flag(F.MAX_DELETE_HIT):
            codes.append(Exit.MAX_DELETE)
        if Severity.VANISHED in sev:
            codes.append(Exit.VANISHED)
        counts = shared.totals()
        files = counts["files_seen"]
        if outcome is None:
            mode = "sequential"
        else:
            mode = "stealing" if files > STEALING_FILES else "pool"
        elapsed = time.monotonic() - t0
        per_worker = []
        rows = range(shared.rows) if outcome is not None else range(1)
        for r in rows:
            row = shared.row(r)
            per_worker.append({
                "worker": "coordinator" if r == 0 else f"worker-{r - 1}",
                "busy_s": round(row.get(C.BUSY_NS) / 1e9, 4),
                "tasks": row.get(C.TASKS),
                "steals": row.get(C.STEALS),
                "files": row.get(C.FILES_DONE),
                "bytes": row.get(C.BYTES_COPIED),
            })
        sizing = self.sizing.to_json() if self.sizing is not None else {
            "workers": 1,
            "reason": (f"sequential: fewer than {self.opts.pool_threshold} files discovered"
                       if max_workers > 1 else "one worker (--workers 1 or one usable CPU)"),
        }
        return SyncResult(
            exit_code=worst_exit(codes),
            counts=counts,
            errors=sink.errors,
            elapsed_s=elapsed,
            workers=outcome.workers if outcome is not None else 1,
            mode=mode,
            sizing=sizing,
            per_worker=per_worker,
            message=message,
        )


def _open_root(path: str, which: str, code: int) -> int:
    """Open SRC or DST itself (a symlink the operator named is followed); a
    failure is one line and an exit code, not a traceback."""
    try:
        return os.open(path, O_DIR & ~os.O_NOFOLLOW)
    except OSError as e:
        raise UsageError(f"{which} {path!r}: {e.strerror}", code) from e


def sync(opts: SyncOptions, echo=None) -> SyncResult:
    """Make opts.dst a mirror of opts.src; see the README for the contract."""
    return Coordinator(opts, echo).run()

