"""Executors: where jobs run. The driver sees them only through ``Executor``.

``InlineExecutor`` runs each job in the calling process as it is submitted; it is the
reference the others are compared with. ``ProcessPoolExecutor`` keeps its own worker
processes (started with ``spawn`` or ``forkserver``, never ``fork``), one job each at a
time, so that a job over its time limit can be killed and its worker replaced, and a
worker that dies turns into a failed result instead of a hung run. The Parsl executor
(``parsl_executor.py``) implements the same members for clusters. Each is a plugin of the
``quanta.executors`` entry point group (``ExecutorPlugin``) with a settings model;
``executor_choice.py`` chooses one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import ConfigError
from .job import QuantumJob, QuantumResult
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
    """The inline executor has no settings: it runs one quantum at a time, in this process."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    def __init__(self) -> None:
        self._done: list[QuantumResult] = []

    @classmethod
    def from_settings(cls, settings: InlineSettings, root: Path) -> InlineExecutor:
        """An inline executor (there is nothing to start)."""
        return cls()

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        """Run the quanta now."""
        self._done.extend(run_job(job) for job in jobs)

    def wait(self, timeout: float | None = None) -> list[QuantumResult]:
        """The results of the jobs run since the last call."""
        done, self._done = self._done, []
        return done

    def shutdown(self) -> None:
        """Nothing to stop."""


def _worker_main(conn: Connection, path: list[str]) -> None:
    """Loop of a pool worker: say it is ready, then receive a job, run it, send the
    result; stop on None."""
    sys.path[:] = path
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when workers stop
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(run_job(job))


class _Worker:
    """One worker process, its end of the pipe, and the job it is running."""

    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, list(sys.path)), daemon=True
        )
        self.process.start()
        child.close()
        self.ready = False
        self.job: QuantumJob | None = None
        self.started = 0.0
        self.started_ns = 0

    def run(self, job: QuantumJob) -> None:
        self.job = job
        self.started = time.monotonic()
        self.started_ns = time.time_ns()
        with contextlib.suppress(OSError):  # a dead worker shows up in the next wait()
            self.conn.send(job)

    def overdue(self, now: float) -> bool:
        return bool(self.job and self.job.timeout and now - self.started >= self.job.timeout)

    def stop(self) -> None:
        """Kill the process (it may be running user code) and close the pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class ProcessPoolExecutor:
    """``processes`` worker processes, each running one job at a time.

    Up to twice as many jobs as workers are accepted, so a worker that finishes gets its
    next quantum without waiting for the driver. The quanta of one job are queued one by
    one: on one machine, grouping them would only cost parallelism. Workers are children
    of the driver and stop when it dies, after the quantum they are running.
    """

    Settings = PoolSettings
    can_interrupt = True
    grace_seconds = 0.0

    def __init__(self, processes: int, *, start_method: str = "spawn") -> None:
        if processes < 1:
            raise ConfigError(f"a process pool needs at least one process, not {processes}")
        if start_method not in ("spawn", "forkserver"):
            raise ConfigError(f"start method {start_method!r}: use 'spawn' or 'forkserver'")
        self._context = multiprocessing.get_context(start_method)
        self.max_in_flight = 2 * processes
        self._workers = [_Worker(self._context) for _ in range(processes)]
        self._queue: deque[QuantumJob] = deque()

    @classmethod
    def from_settings(cls, settings: PoolSettings, root: Path) -> ProcessPoolExecutor:
        """Start the pool's workers."""
        return cls(settings.processes, start_method=settings.start_method)

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        """Queue the quanta; idle workers start them at once."""
        self._queue.extend(jobs)
        self._dispatch()

    def wait(self, timeout: float | None = None) -> list[QuantumResult]:
        """Results of finished jobs; kills jobs over their time limit and replaces dead
        workers, reporting those jobs as failed. A job's time counts from when a started
        worker receives it."""
        watched = [w for w in self._workers if w.job is not None or not w.ready]
        if not watched:
            return []
        limit = timeout
        now = time.monotonic()
        for worker in watched:
            if worker.job is not None and worker.job.timeout:
                left = max(0.0, worker.started + worker.job.timeout - now)
                limit = left if limit is None else min(limit, left)
        events = wait([w.conn for w in watched] + [w.process.sentinel for w in watched], limit)
        ready = set(events)
        results = []
        now = time.monotonic()
        for worker in watched:
            result = None
            if not worker.ready:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._started(worker)
            elif worker.conn in ready:
                result = self._receive(worker)
            elif worker.process.sentinel in ready:
                result = self._replace(worker, f"worker process died ({_exit(worker)})")
            elif worker.overdue(now):
                assert worker.job is not None
                result = self._replace(worker, f"timed out after {worker.job.timeout:g} s")
            if result is not None:
                results.append(result)
        self._dispatch()
        return results

    def shutdown(self) -> None:
        """Ask idle workers to stop, kill busy ones, and wait for all of them."""
        for worker in self._workers:
            if worker.job is None and worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
                worker.process.join(timeout=5)
            worker.stop()
        self._workers = []
        self._queue.clear()

    def _dispatch(self) -> None:
        for worker in self._workers:
            if not self._queue:
                return
            if worker.ready and worker.job is None:
                worker.run(self._queue.popleft())

    def _started(self, worker: _Worker) -> None:
        """Take a new worker's "ready"; a worker that dies while starting is an error of
        the environment (quanta not importable there, say), not of any quantum."""
        try:
            worker.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"a worker process could not start ({_exit(worker)})") from None
        worker.ready = True

    def _receive(self, worker: _Worker) -> QuantumResult:
        try:
            result: QuantumResult = worker.conn.recv()
        except (EOFError, OSError):
            return self._replace(worker, f"worker process died ({_exit(worker)})")
        worker.job = None
        return result

    def _replace(self, worker: _Worker, message: str) -> QuantumResult:
        """Fail the worker's job with ``message`` and put a new worker in its place."""
        job = worker.job
        assert job is not None
        result = QuantumResult.failure(job, message, worker.started_ns, time.time_ns())
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
