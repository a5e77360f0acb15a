"""Executors: where jobs run. The driver sees them only through ``Executor``.

``InlineExecutor`` runs each job in the calling process as it is submitted; it is the
reference the others are compared with. ``ProcessPoolExecutor`` keeps its own worker
processes (started with ``spawn`` or ``forkserver``, never ``fork``), each running one
quantum at a time with the next few already in its pipe (``pool_batch.py``), so that a
quantum over its time limit can be killed and its worker replaced, and a worker that dies
turns into a failed result instead of a hung run. The Parsl executor
(``parsl_executor.py``) implements the same members for clusters. Each is a plugin of the
``quanta.executors`` entry point group (``ExecutorPlugin``) with a settings model;
``executor_choice.py`` chooses one.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import ConfigError
from ..pipe import parallel
from .job import QuantumJob, QuantumResult
from .pool_batch import BatchSizer
from .runner import run_job


class Executor(Protocol):
    """Runs jobs of quanta and reports each quantum's result, in any order."""

    #: How many submitted jobs may be unfinished at once; the driver never exceeds it.
    max_in_flight: int
    #: True if quanta over their ``timeout`` are stopped (the driver refuses timeouts otherwise).
    can_interrupt: bool
    #: Seconds the workers may go on after the driver is killed (0: they stop with it).
    grace_seconds: float

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        """Start (or queue) one job: these quanta, run one after another."""

    def wait(self, timeout: float | None = None) -> list[QuantumResult]:
        """Results finished since the last call; waits up to ``timeout`` seconds for one."""

    def shutdown(self) -> None:
        """Stop every worker; unfinished jobs are abandoned."""


class ExecutorPlugin(Protocol):
    """What a ``quanta.executors`` entry point names: an executor class with the pydantic
    model of its settings, started from validated settings."""

    #: The executor's settings: a frozen pydantic model that forbids unknown fields.
    Settings: ClassVar[type[BaseModel]]
    #: As ``Executor.can_interrupt``, known before the executor starts.
    can_interrupt: ClassVar[bool]

    @classmethod
    def from_settings(cls, settings: Any, root: Path) -> Executor:
        """Start the executor; files of its own (logs) go under the repository ``root``."""
        ...


class InlineSettings(BaseModel):
    """The inline executor runs one quantum at a time, in this process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        1, ge=1, description="Threads or processes a quantum may map over (quanta.pipe.parallel)."
    )


class PoolSettings(BaseModel):
    """Settings of the process pool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    processes: int = Field(1, ge=1, description="Worker processes, one quantum each at a time.")
    start_method: Literal["spawn", "forkserver"] = Field(
        "spawn", description="How worker processes start: spawn or forkserver, never fork."
    )


class InlineExecutor:
    """Runs each job in the calling process when it is submitted."""

    Settings = InlineSettings
    max_in_flight = 1
    can_interrupt = False
    grace_seconds = 0.0

    def __init__(self, workers: int = 1) -> None:
        self._done: list[QuantumResult] = []
        self._workers = workers

    @classmethod
    def from_settings(cls, settings: InlineSettings, root: Path) -> InlineExecutor:
        """An inline executor (there is nothing to start)."""
        return cls(settings.workers)

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        """Run the quanta now, each with the executor's workers."""
        for job in jobs:
            given = job if self._workers == 1 else replace(job, workers=self._workers)
            self._done.append(run_job(given))

    def wait(self, timeout: float | None = None) -> list[QuantumResult]:
        """The results of the jobs run since the last call."""
        done, self._done = self._done, []
        return done

    def shutdown(self) -> None:
        """Nothing to stop."""


def _worker_main(conn: Connection, path: list[str]) -> None:
    """Loop of a pool worker: say it is ready, then run the quanta of each batch it
    receives in order, sending each result as soon as it is done; stop on None. A thread
    reads batches as they come, so the driver never waits on a busy worker's pipe; it
    only unpickles and waits, so a quantum's maps may still fork beside it."""
    sys.path[:] = path
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when workers stop
    inbox: queue.SimpleQueue[list[QuantumJob] | None] = queue.SimpleQueue()
    reader = threading.Thread(target=_read_batches, args=(conn, inbox), daemon=True)
    parallel.fork_safe(reader).start()
    conn.send("ready")
    while (batch := inbox.get()) is not None:
        for job in batch:
            conn.send(run_job(job))


def _read_batches(conn: Connection, inbox: queue.SimpleQueue[list[QuantumJob] | None]) -> None:
    """Move batches from the driver's pipe to ``inbox`` until None (or a closed pipe)."""
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            batch = None
        inbox.put(batch)
        if batch is None:
            return


class _Worker:
    """One worker process, its end of the pipe, and the quanta sent to it not reported yet
    (the first is running, since ``started``)."""

    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        # Not a daemon, so that a quantum may start processes of its own
        # (``quanta.pipe.parallel``); the pool stops its workers at exit instead.
        self.process = context.Process(target=_worker_main, args=(child, list(sys.path)))
        self.process.start()
        child.close()
        self.ready = False
        self.jobs: deque[QuantumJob] = deque()
        self.started = 0.0
        self.started_ns = 0
        #: Idle workers lent to this worker's running quantum, and the worker borrowing this.
        self.borrowed: list[_Worker] = []
        self.lent_to: _Worker | None = None

    def send(self, batch: list[QuantumJob]) -> None:
        """Queue ``batch`` behind the quanta the worker has; an idle worker starts now."""
        if not self.jobs:
            self._start_clock()
        self.jobs.extend(batch)
        with contextlib.suppress(OSError):  # a dead worker shows up in the next wait()
            self.conn.send(batch)

    def reported(self) -> None:
        """The running quantum reported its result: the next one (if any) starts now,
        and the workers it borrowed are free again."""
        self.jobs.popleft()
        self._start_clock()
        self.give_back()

    def borrow(self, lenders: list[_Worker]) -> None:
        """Take ``lenders`` for the quantum this worker is about to run."""
        self.borrowed = lenders
        for lender in lenders:
            lender.lent_to = self

    def give_back(self) -> None:
        """Free the workers lent to the running quantum."""
        for lender in self.borrowed:
            lender.lent_to = None
        self.borrowed = []

    def _start_clock(self) -> None:
        self.started = time.monotonic()
        self.started_ns = time.time_ns()

    def overdue(self, now: float) -> bool:
        timeout = self.jobs[0].timeout if self.jobs else None
        return bool(timeout and now - self.started >= timeout)

    def stop(self) -> None:
        """Kill the process (it may be running user code) and close the pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class ProcessPoolExecutor:
    """``processes`` worker processes, each running one quantum at a time.

    Quanta go to workers in batches sized to their measured duration (``BatchSizer``;
    ``batch`` fixes the size): many small quanta per message, one long quantum at a time.
    The quanta of one job are queued one by one, so they may run on different workers.
    Twice as many quanta as the workers' batches hold are accepted, so a worker that
    finishes a quantum starts its next one without waiting for the driver. Workers are
    children of the driver and stop when it dies, after the quantum they are running.

    Quanta are dealt out when the driver waits, so that everything it submitted is seen
    at once. A quantum that starts on an idle worker while no other quantum waits borrows
    the other idle workers until it ends: it may map its items over all of them
    (``quanta.pipe.parallel``), and no quantum runs on them meanwhile. A quantum whose
    task asks for N cores waits, first in line, until N workers (at most all) are idle,
    and holds them in the same way.
    """

    Settings = PoolSettings
    can_interrupt = True
    grace_seconds = 0.0

    def __init__(
        self, processes: int, *, start_method: str = "spawn", batch: int | None = None
    ) -> None:
        if processes < 1:
            raise ConfigError(f"a process pool needs at least one process, not {processes}")
        if start_method not in ("spawn", "forkserver"):
            raise ConfigError(f"start method {start_method!r}: use 'spawn' or 'forkserver'")
        if batch is not None and batch < 1:
            raise ConfigError(f"a batch holds at least one quantum, not {batch}")
        self._context = multiprocessing.get_context(start_method)
        self._workers = [_Worker(self._context) for _ in range(processes)]
        atexit.register(self.shutdown)  # before multiprocessing waits for its children
        self._queue: deque[QuantumJob] = deque()
        self._sizer = BatchSizer(batch)

    @property
    def max_in_flight(self) -> int:
        """Two batches per worker: the one it runs and the next."""
        return 2 * len(self._workers) * self._sizer.size

    @classmethod
    def from_settings(cls, settings: PoolSettings, root: Path) -> ProcessPoolExecutor:
        """Start the pool's workers."""
        return cls(settings.processes, start_method=settings.start_method)

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        """Queue the quanta; workers get them at the next ``wait``."""
        self._queue.extend(jobs)

    def wait(self, timeout: float | None = None) -> list[QuantumResult]:
        """Results of finished jobs; kills jobs over their time limit and replaces dead
        workers, reporting those jobs as failed. A job's time counts from when a started
        worker receives it."""
        self._dispatch()
        watched = [w for w in self._workers if w.jobs or not w.ready]
        if not watched:
            return []
        limit = timeout
        now = time.monotonic()
        for worker in watched:
            running = worker.jobs[0].timeout if worker.jobs else None
            if running:
                left = max(0.0, worker.started + running - now)
                limit = left if limit is None else min(limit, left)
        events = wait([w.conn for w in watched] + [w.process.sentinel for w in watched], limit)
        ready = set(events)
        results: list[QuantumResult] = []
        now = time.monotonic()
        for worker in watched:
            if not worker.ready:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._started(worker)
            elif worker.conn in ready:
                results.extend(self._receive(worker))
            elif worker.process.sentinel in ready:
                results.append(self._replace(worker, f"worker process died ({_exit(worker)})"))
            elif worker.overdue(now):
                timeout = worker.jobs[0].timeout or 0.0
                results.append(self._replace(worker, f"timed out after {timeout:g} s"))
        self._sizer.observe(results)
        self._dispatch()
        return results

    def shutdown(self) -> None:
        """Ask idle workers to stop, kill busy ones, and wait for all of them."""
        for worker in self._workers:
            if not worker.jobs and worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
                worker.process.join(timeout=5)
            worker.stop()
        self._workers = []
        self._queue.clear()
        atexit.unregister(self.shutdown)

    def _dispatch(self) -> None:
        """Start the quanta that wait for several cores, then top every started worker up
        to one batch, dealing the queue out in turn (never past a quantum that waits)."""
        self._start_wide()
        size = self._sizer.size
        batches: dict[int, list[QuantumJob]] = {}
        room = [w for w in self._workers if w.ready and w.lent_to is None and len(w.jobs) < size]
        while self._queue and room and self._queue[0].cores <= 1:
            for worker in room:
                if self._queue and self._queue[0].cores <= 1:
                    batches.setdefault(id(worker), []).append(self._queue.popleft())
            room = [w for w in room if len(w.jobs) + len(batches.get(id(w), ())) < size]
        if len(batches) == 1 and not self._queue:
            self._lend(batches)
        for worker in self._workers:
            if id(worker) in batches:
                worker.send(batches[id(worker)])

    def _start_wide(self) -> None:
        """Start each quantum first in line whose task asks for several cores once that
        many workers (at most all of them) are idle, the others lent to it."""
        while self._queue and self._queue[0].cores > 1:
            need = min(self._queue[0].cores, len(self._workers))
            free = [w for w in self._workers if not w.jobs and w.lent_to is None]
            runners = [w for w in free if w.ready]
            if len(free) < need or not runners:
                return
            runner = runners[0]
            runner.borrow([w for w in free if w is not runner][: need - 1])
            runner.send([replace(self._queue.popleft(), workers=need)])

    def _lend(self, batches: dict[int, list[QuantumJob]]) -> None:
        """Give the one quantum about to start on an idle worker the other idle workers
        (those still starting too: the quantum may start before they are ready)."""
        worker = next(w for w in self._workers if id(w) in batches)
        idle = [w for w in self._workers if not w.jobs and w.lent_to is None]
        batch = batches[id(worker)]
        if worker.jobs or len(batch) != 1 or len(idle) < 2:
            return
        worker.borrow([w for w in idle if w is not worker])
        batch[0] = replace(batch[0], workers=len(idle))

    def _started(self, worker: _Worker) -> None:
        """Take a new worker's "ready"; a worker that dies while starting is an error of
        the environment (quanta not importable there, say), not of any quantum."""
        try:
            worker.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"a worker process could not start ({_exit(worker)})") from None
        worker.ready = True

    def _receive(self, worker: _Worker) -> list[QuantumResult]:
        """Every result the worker has sent so far."""
        results: list[QuantumResult] = []
        while worker.jobs:
            try:
                result: QuantumResult = worker.conn.recv()
            except (EOFError, OSError):
                results.append(self._replace(worker, f"worker process died ({_exit(worker)})"))
                break
            worker.reported()
            results.append(result)
            if not worker.conn.poll():
                break
        return results

    def _replace(self, worker: _Worker, message: str) -> QuantumResult:
        """Fail the worker's running quantum with ``message``, queue the quanta it had not
        started again, and put a new worker in its place."""
        job = worker.jobs.popleft()
        result = QuantumResult.failure(job, message, worker.started_ns, time.time_ns())
        self._queue.extendleft(reversed(worker.jobs))
        worker.give_back()
        worker.stop()
        self._workers[self._workers.index(worker)] = _Worker(self._context)
        return result


def _exit(worker: _Worker) -> str:
    """How a dead worker ended (its pipe can close a moment before it can be reaped)."""
    worker.process.join(timeout=5)
    code = worker.process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
