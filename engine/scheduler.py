"""The work-stealing pool.

Protocol (one coordinator, N forked workers)::

    coordinator                               worker i (of N)
    -----------                               ---------------
    seed tasks into the N shared deques  -->  loop:
    PENDING = number of seeded tasks            task = own deque, newest first
    fork workers                                else steal the oldest half of
                                                  another deque (victims in turn)
    wait(result pipes + sentinels) <---------   run_task(task) -> children
      "r": itemized lines, errors, ...           PENDING += len(children)   (lock)
      "bye": worker finished                    push children onto own deque
      sentinel without "bye": worker died       PENDING -= 1               (lock)
         -> stop everyone, exit 14              PENDING == 0 -> DONE, wake all
                                                no task: IDLE += 1, sleep on the
                                                  wake-up semaphore (bounded wait)

* Termination is "every deque empty and every worker idle", counted exactly
  by PENDING: children are counted *before* they become stealable and the
  parent is uncounted *after*, so PENDING cannot touch zero while work exists.
* Tasks never go through the coordinator after seeding; the coordinator only
  reads small batched result messages (itemized lines, error records).
* Progress is not a message: workers bump counters in their own shared row.
* A worker blocks only on its result pipe (which the coordinator always
  drains) and on the wake-up semaphore (with a timeout), never on a queue it
  also reads from.
"""

from __future__ import annotations

import marshal
import multiprocessing as mp
import os
import signal
import time
from multiprocessing.connection import wait
from typing import NamedTuple

from .counters import C, F
from .dirsync import Task, run_task
from .errors import FatalSyncError
from .sink import BatchingSink, deliver

IDLE_WAIT_S = 0.05  # bounded sleep of an idle worker (a safety net, not a poll loop)


class PoolOutcome(NamedTuple):
    workers: int
    died: list[str]  # one message per worker that died
    crashed: list[str]  # tracebacks of workers that raised


class Pool:
    def __init__(self, ctx, n_workers: int, on_tick=None, task_fn=run_task):
        self.ctx = ctx
        self.task_fn = task_fn  # run_task for sync; analyze passes its own
        self.n = n_workers
        self.fork = mp.get_context("fork")
        self.run_lock = self.fork.Lock()
        self.wakeup = self.fork.Semaphore(0)
        from .deque import SharedDeque

        self.deques = [SharedDeque(self.fork.Lock()) for _ in range(n_workers)]
        self.procs = []
        self.conns = []
        self.on_tick = on_tick
        self._killed = False  # set once we stop the survivors of a death

    # --- coordinator side ----------------------------------------------------
    def run(self, tasks: list[Task], sink, lock_fd: int | None = None,
            after_fork=None) -> PoolOutcome:
        shared = self.ctx.shared
        for i, t in enumerate(tasks):
            self.deques[i % self.n].push(marshal.dumps(tuple(t)))
        shared.set_flag(F.PENDING, len(tasks))
        shared.set_flag(F.POOL_STARTED, 1)
        if not tasks:
            shared.set_flag(F.DONE, 1)
        sink.flush()
        for i in range(self.n):
            recv, send = self.fork.Pipe(duplex=False)
            p = self.fork.Process(target=self._worker_main, args=(i, send, lock_fd),
                                  name=f"stealsync-worker-{i}", daemon=True)
            p.start()
            send.close()
            self.procs.append(p)
            self.conns.append(recv)
        if after_fork is not None:
            after_fork()
        return self._collect(sink)

    def _collect(self, sink) -> PoolOutcome:
        live = dict(zip((p.sentinel for p in self.procs), range(self.n), strict=True))
        conn_of = {c: i for i, c in enumerate(self.conns)}
        said_bye = [False] * self.n
        died, crashed = [], []
        open_conns = set(self.conns)
        while live or open_conns:
            ready = wait(list(open_conns) + list(live), timeout=0.5)
            for r in ready:
                if r in conn_of:
                    i = conn_of[r]
                    try:
                        msg = r.recv()
                    except (EOFError, OSError):
                        open_conns.discard(r)
                        continue
                    self._handle(msg, i, sink, said_bye, crashed)
                else:
                    i = live.pop(r)
                    self.procs[i].join()
                    self._drain(self.conns[i], sink, said_bye, i, crashed)
                    open_conns.discard(self.conns[i])
                    if not said_bye[i] and not self._killed:
                        code = self.procs[i].exitcode
                        died.append(f"worker {i} (pid {self.procs[i].pid}) died "
                                    f"({'signal ' + str(-code) if code and code < 0 else 'exit ' + str(code)})")
                        self._stop_all()
            if self.on_tick is not None:
                self.on_tick()

        sink.flush()
        return PoolOutcome(self.n, died, crashed)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def _drain(self, conn, sink, said_bye, i, crashed) -> None:
        try:
            while conn.poll():
                self._handle(conn.recv(), i, sink, said_bye, crashed)
        except (EOFError, OSError):
            pass

    @staticmethod
    def _handle(msg, i, sink, said_bye, crashed) -> None:
        if msg[0] == "r":
            deliver(sink, msg[1], msg[2])
        elif msg[0] == "bye":
            said_bye[i] = True
        elif msg[0] == "crash":
            crashed.append(msg[1])

    def _stop_all(self) -> None:
        """A worker died: its tasks are lost, so nobody may finish 'cleanly'.
        Stop the others now (their temps are cleaned by the next run)."""
        self.ctx.shared.set_flag(F.STOP, 1)
        self.ctx.shared.set_flag(F.DONE, 1)
        self._killed = True
        for p in self.procs:
            if p.is_alive():
                p.kill()

    def kill(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.kill()
        for p in self.procs:
            p.join(timeout=5)

    # --- worker side ---------------------------------------------------------
    def _worker_main(self, index: int, send, lock_fd: int | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator decides
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if lock_fd is not None:
            os.close(lock_fd)  # the coordinator's copy keeps the lock
        for c in self.conns:
            c.close()
        ctx = self.ctx
        sink = BatchingSink(send.send)
        ctx.after_fork(index + 1, sink, self.run_lock)
        ctx.split_allowed = True
        prof = None
        if ctx.opts.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        try:
            self._work(index, ctx, sink)
            sink.flush()
            send.send(("bye",))
        except FatalSyncError:
            ctx.shared.set_flag(F.FATAL, 1)
            ctx.shared.set_flag(F.STOP, 1)
            self._wake_all()
            sink.flush()
            send.send(("bye",))
        except BaseException:
            import traceback

            ctx.shared.set_flag(F.STOP, 1)
            self._wake_all()
            try:
                sink.flush()
                send.send(("crash", traceback.format_exc()))
            except OSError:
                pass
            os._exit(70)
        finally:
            if prof is not None:
                prof.disable()
                os.umask(0o022)
                from .profiling import dump_worker

                dump_worker(prof, ctx.opts.profile, f"worker-{index}")
        os._exit(0)

    def _work(self, index: int, ctx, sink) -> None:
        shared = ctx.shared
        row = ctx.row
        own = self.deques[index]
        victims = [self.deques[(index + k) % self.n] for k in range(1, self.n)]
        parent = os.getppid()
        while True:
            if shared.flag(F.STOP):
                return
            payload = own.pop()
            if payload is None:
                payload = self._steal(own, victims, row)
            if payload is None:
                if shared.flag(F.DONE):
                    return
                sink.flush()  # idle: let the coordinator see what we have
                with self.run_lock:
                    shared.add_flag(F.IDLE, 1)
                self.wakeup.acquire(timeout=IDLE_WAIT_S)
                with self.run_lock:
                    shared.add_flag(F.IDLE, -1)
                if os.getppid() != parent:
                    return  # the coordinator is gone
                continue
            t0 = time.perf_counter_ns()
            children = self.task_fn(ctx, Task(*marshal.loads(payload)))
            if children:
                with self.run_lock:
                    shared.add_flag(F.PENDING, len(children))
                for child in reversed(children):  # first child is popped first
                    own.push(marshal.dumps(tuple(child)))
            with self.run_lock:
                left = shared.add_flag(F.PENDING, -1)
                idle = shared.flag(F.IDLE)
            row.add(C.BUSY_NS, time.perf_counter_ns() - t0)
            if left == 0:
                shared.set_flag(F.DONE, 1)
                self._wake_all()
                return
            if children and idle:
                for _ in range(min(len(children), idle)):
                    self.wakeup.release()

    def _steal(self, own, victims, row) -> bytes | None:
        for v in victims:
            got = v.steal()
            if got:
                row.add(C.STEALS)
                row.add(C.STOLEN_TASKS, len(got))
                first = got[-1]  # the newest of the stolen, run now
                for p in got[:-1]:
                    own.push(p)
                return first
        return None

    def _wake_all(self) -> None:
        for _ in range(self.n):
            self.wakeup.release()
