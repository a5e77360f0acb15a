"""Executing a quantum graph: ``execute(butler, graph, executor, settings)``.

The driver walks the graph with in-degree counters (no recursion), hands ready quanta to
the executor in jobs (one quantum each, or the quanta of one cluster, ``clustering.py``),
keeps at most ``executor.max_in_flight`` jobs unfinished, and records
each finished quantum's outputs and provenance in batches, on a background thread that
is the only user of the registry while quanta run (``recording.py``). A failed
quantum (after its retries) blocks exactly its descendants; everything else runs, unless
``fail_fast`` stops submitting after the first failure. With ``resume`` (or
``extend_run``) the graph's run may already hold outputs: quanta whose outputs (or
metadata) are all there are skipped.
Every executed graph is saved in the repository first, so its run can be checked later,
and a lease beside it keeps two drivers from executing one run at once (``lease.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import ConfigError, ConflictError
from ..core.implicit import METADATA
from ..core.provenance import QuantumOutcome
from ..core.status import QuantumStatus
from ..graph.io import save_graph
from .clustering import check_dimensions, cluster_ids
from .factory import JobFactory, Planned
from .job import QuantumResult
from .lease import RunLease, run_lease
from .prepare import files_in_run, prepare_run
from .progress import Progress
from .recording import Recorder

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.refs import DatasetRef
    from ..graph.model import QuantumGraph
    from .executors import Executor

log = logging.getLogger("quanta.exec")

_PENDING, _RUNNING, _FINISHED = 0, 1, 2


@dataclass(frozen=True)
class ExecutionSettings:
    """How to execute a graph; invalid values are refused on construction."""

    retries: int = 0
    timeout: float | None = None
    fail_fast: bool = False
    resume: bool = False
    extend_run: str | None = None
    force: bool = False
    progress: bool = False
    batch_size: int = 500
    flush_seconds: float = 2.0
    cluster_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"retries must be 0 or more, not {self.retries!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, not {self.timeout!r}")
        if self.resume and self.extend_run is not None:
            raise ConfigError("--resume continues the last run; --extend-run names another")
        if self.force and not self.continues:
            raise ConfigError("--force goes with --resume or --extend-run")
        if self.batch_size < 1 or self.flush_seconds < 0:
            raise ConfigError("batch_size must be at least 1 and flush_seconds not negative")

    @property
    def continues(self) -> bool:
        """True if outputs already in the run are expected (``resume``, ``extend_run``)."""
        return self.resume or self.extend_run is not None


@dataclass(frozen=True)
class Failure:
    """A quantum that failed: task, data ID and the error of its last attempt."""

    label: str
    data_id: str
    message: str


@dataclass
class ExecutionReport:
    """What an execution did: counts per task and status, and the failures."""

    run: str
    output: str | None
    counts: dict[str, dict[QuantumStatus, int]]
    failures: list[Failure] = field(default_factory=list)

    def total(self, status: QuantumStatus) -> int:
        """Quanta of one status over all tasks."""
        return sum(c[status] for c in self.counts.values())

    @property
    def ok(self) -> bool:
        """True if every quantum ran (or had no work, or was already done)."""
        return self.total(QuantumStatus.FAILED) == 0 and self.total(QuantumStatus.BLOCKED) == 0


def execute(
    butler: Butler,
    graph: QuantumGraph,
    executor: Executor,
    settings: ExecutionSettings | None = None,
) -> ExecutionReport:
    """Run every quantum of ``graph`` into its run and report what happened.

    The executor is not shut down; its owner does that.
    """
    settings = settings or ExecutionSettings()
    if settings.timeout is not None and not executor.can_interrupt:
        raise ConfigError(
            f"{type(executor).__name__} cannot stop a quantum over its time limit; "
            "use a process pool for --timeout"
        )
    pipeline = graph.header.pipeline
    run = graph.output_run
    factory = JobFactory(butler, graph, pipeline, settings.timeout)
    present = factory.add_existing(files_in_run(butler, run))
    if present and not settings.continues:
        raise ConflictError(
            f"run {run!r} already holds {len(present)} output(s) of this graph; "
            "resume it, or execute into a new run"
        )
    clusters = None
    if settings.cluster_by:
        clusters = cluster_ids(graph, check_dimensions(settings.cluster_by, butler.universe))
    lease = run_lease(butler, run)
    lease.acquire(executor.grace_seconds)
    try:
        if settings.resume:
            butler.datastore.remove_temporaries(run)
        prepare_run(butler, graph, pipeline)
        save_run_graph(butler, graph)
        recorder = Recorder(butler, run, settings.batch_size, settings.flush_seconds)
        try:
            walk = _Walk(butler, graph, executor, settings, factory, recorder, present, lease)
            walk.run(clusters)
        finally:
            recorder.close()
    finally:
        lease.release()
    return ExecutionReport(run, graph.header.output, walk.counts, walk.failures)


def save_run_graph(butler: Butler, graph: QuantumGraph) -> None:
    """Save the graph where ``quanta check`` looks for it (``Butler.graph_path``): what
    the run is expected to produce. A resumed run overwrites it with the same prediction."""
    path = butler.graph_path(graph.output_run)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_graph(graph, path)


class _Walk:
    """The state of one execution: counters, the ready jobs and the quanta in flight."""

    def __init__(
        self,
        butler: Butler,
        graph: QuantumGraph,
        executor: Executor,
        settings: ExecutionSettings,
        factory: JobFactory,
        recorder: Recorder,
        present: set[bytes],
        lease: RunLease,
    ) -> None:
        self.butler = butler
        self.graph = graph
        self.executor = executor
        self.settings = settings
        self.factory = factory
        self.recorder = recorder
        self.present = present
        self.lease = lease
        self.child_offsets, self.child_indices = graph.children()
        parent_offsets, _ = graph.parents()
        self.waiting: list[int] = np.diff(parent_offsets).tolist()
        self.state = bytearray(len(graph))
        #: Ready to submit: quantum indices, or with clustering, clusters (members in
        #: ``cluster_ready``); a million ready quanta stay a deque of ints.
        self.ready: deque[int] = deque()
        #: Quantum index -> (plan, attempt, job number) of every quantum submitted.
        self.in_flight: dict[int, tuple[Planned, int, int]] = {}
        #: Job number -> quanta of the job not finished yet.
        self.job_left: dict[int, int] = {}
        self.jobs_submitted = 0
        self.clusters: list[int] | None = None
        self.cluster_left: list[int] = []
        self.cluster_ready: dict[int, list[int]] = {}
        self.counts = {t.label: dict.fromkeys(QuantumStatus, 0) for t in graph.tasks}
        self.totals = dict.fromkeys(QuantumStatus, 0)
        self.failures: list[Failure] = []
        self.stopped = False

    def run(self, clusters: np.ndarray | None) -> None:
        """Execute every quantum; ``clusters`` numbers the job of each (None: one each)."""
        if clusters is not None:
            self.clusters = clusters.tolist()
            self.cluster_left = np.bincount(clusters).tolist() if len(clusters) else []
        for index, n in enumerate(self.waiting):
            if n == 0:
                self._enqueue(index)
        tasks = {t.label: len(t) for t in self.graph.tasks}
        progress = Progress(len(self.graph), self.settings.progress, tasks=tasks)
        try:
            while self.in_flight or (self.ready and not self.stopped):
                self._submit_ready()
                if self.in_flight:
                    for result in self.executor.wait(timeout=1.0):
                        self._finished(result)
                self.recorder.maybe_flush()
                self.lease.touch()
                progress.update(sum(self.totals.values()), self.totals, self.counts)
            if self.stopped:
                self._stop_pending()
            self.recorder.flush()
        except BaseException:
            self._salvage()
            raise
        finally:
            progress.close(sum(self.totals.values()), self.totals, self.counts)

    def _salvage(self) -> None:
        """On the way out after an error (or Ctrl-C), record the quanta that finished, so
        that a resumed run does not redo them."""
        try:
            self.recorder.flush()
        except Exception:
            log.exception("could not record the quanta that finished before the error")

    # -- submitting ------------------------------------------------------------------------

    def _enqueue(self, index: int) -> None:
        """A quantum's inputs are all there: queue it, or add it to its cluster's job. It
        stays pending until submitted, so that fail-fast blocks it if it never is."""
        if self.clusters is None:
            self.ready.append(index)
            return
        cluster = self.clusters[index]
        self.cluster_ready.setdefault(cluster, []).append(index)
        self._settle(cluster)

    def _settle(self, cluster: int) -> None:
        """One more quantum of ``cluster`` is queued or blocked; the last one readies the
        cluster's job."""
        self.cluster_left[cluster] -= 1
        if self.cluster_left[cluster] == 0 and cluster in self.cluster_ready:
            self.ready.append(cluster)

    def _submit_ready(self) -> None:
        limit = self.executor.max_in_flight
        while self.ready and len(self.job_left) < limit and not self.stopped:
            item = self.ready.popleft()
            members = [item] if self.clusters is None else self.cluster_ready.pop(item)
            plans = [planned for planned in map(self._plan, members) if planned]
            if plans:
                self._submit(plans, attempt=1)

    def _plan(self, index: int) -> Planned | None:
        """The plan of a quantum to run, or None if it needs no run (its outcome is
        recorded here: already done, no input, or an input without its file)."""
        if self.present and self._complete(index):
            self._record(index, QuantumStatus.SKIPPED_EXISTING, outputs=self._output_ids(index))
            self._release(index)
            return None
        planned = self.factory.make(index)
        if planned.lost:
            message = f"existing input(s) {', '.join(planned.lost)} have no file here"
            self._record(index, QuantumStatus.FAILED, error=message, inputs=planned.inputs)
            self._fail(index, message)
            return None
        if planned.missing:
            message = f"no {', '.join(planned.missing)} input: upstream quanta found no work"
            self._record(index, QuantumStatus.NO_WORK, error=message, inputs=planned.inputs)
            self._release(index)
            return None
        return planned

    def _submit(self, plans: list[Planned], attempt: int) -> None:
        """Hand one job (these quanta, run in order by one worker) to the executor."""
        number = self.jobs_submitted
        self.jobs_submitted += 1
        for planned in plans:
            self.state[planned.job.index] = _RUNNING
            self.in_flight[planned.job.index] = (planned, attempt, number)
        self.job_left[number] = len(plans)
        self.executor.submit([planned.job for planned in plans])

    def _complete(self, index: int) -> bool:
        """True if a quantum of a resumed run needs no new attempt: all its outputs are
        recorded, or its metadata is (it finished, with no work or without writing some
        optional output; metadata is recorded with the quantum's other outputs)."""
        outputs = self.factory.outputs_of(index)
        if all(key in self.present for key in outputs):
            return True
        task, local = self.graph.locate(index)
        metadata = task.outputs[METADATA]
        node = int(metadata.of(local)[0])
        return bytes(self.graph.datasets[metadata.dataset_type].ids[node]) in self.present

    def _output_ids(self, index: int) -> list[bytes]:
        return [key for key in self.factory.outputs_of(index) if key in self.present]

    # -- finishing -------------------------------------------------------------------------

    def _finished(self, result: QuantumResult) -> None:
        index = result.index
        planned, attempts, number = self.in_flight.pop(index)
        self.job_left[number] -= 1
        if not self.job_left[number]:
            del self.job_left[number]
        failed = result.status == QuantumStatus.FAILED
        if failed and attempts <= self.settings.retries and not self.stopped:
            log.info("retrying quantum %s after: %s", self._describe(index), result.message)
            self._submit([planned], attempts + 1)
            return
        if failed:
            self._remove_unrecorded(planned)
        refs = []
        for stored in result.outputs:
            node = planned.outputs[stored.dataset_id.bytes]
            refs.append(self.graph.datasets[node[0]].ref(node[1], self.graph.runs))
            self.factory.store(node, stored)
        self._record(
            index,
            result.status,
            attempts=attempts,
            result=result,
            error=result.message,
            inputs=planned.inputs,
            outputs=[f.dataset_id.bytes for f in result.outputs],
            refs=refs,
        )
        if failed:
            self._fail(index, result.message or "failed")
        else:
            self._release(index)

    def _record(
        self,
        index: int,
        status: QuantumStatus,
        *,
        attempts: int = 0,
        result: QuantumResult | None = None,
        error: str | None = None,
        inputs: list[bytes] | None = None,
        outputs: list[bytes] | None = None,
        refs: list[DatasetRef] | None = None,
    ) -> None:
        task, local = self.graph.locate(index)
        outcome = QuantumOutcome(
            label=task.label,
            data_id=task.data_ids.data_id(local),
            status=status,
            attempts=attempts,
            start_ns=result.start_ns if result else None,
            end_ns=result.end_ns if result else None,
            host=(result.host or None) if result else None,
            peak_memory_bytes=result.peak_memory_bytes if result else None,
            error=error,
            traceback=_traceback_and_log(result) if result else None,
            inputs=[uuid.UUID(bytes=b) for b in inputs or ()],
            outputs=[uuid.UUID(bytes=b) for b in outputs or ()],
        )
        self.recorder.add(outcome, refs or (), result.outputs if result else ())
        self.state[index] = _FINISHED
        self.counts[task.label][status] += 1
        self.totals[status] += 1

    def _release(self, index: int) -> None:
        """A quantum finished without failing: its children may become ready."""
        for child in self._children(index):
            self.waiting[child] -= 1
            if self.waiting[child] == 0 and self.state[child] == _PENDING:
                self._enqueue(child)

    def _remove_unrecorded(self, planned: Planned) -> None:
        """Delete what a failed quantum's last attempt left at its outputs' paths: a
        worker that died (or was killed over its time limit) could not clean up after
        itself. Outputs recorded before a resume stay."""
        for key, (name, node) in planned.outputs.items():
            if key not in self.present:
                self.butler.datastore.remove_unrecorded(
                    self.graph.datasets[name].ref(node, self.graph.runs)
                )

    def _fail(self, index: int, message: str) -> None:
        """Note a failure and block every descendant of the failed quantum."""
        described = self._describe(index)
        log.warning("quantum %s failed: %s", described, message)
        self.failures.append(Failure(*self._identify(index), message))
        reason = f"blocked by failed quantum {described}"
        pending = self._children(index)
        while pending:
            child = pending.pop()
            if self.state[child] == _PENDING:
                self._record(child, QuantumStatus.BLOCKED, error=reason)
                pending.extend(self._children(child))
                if self.clusters is not None:
                    self._settle(self.clusters[child])
        if self.settings.fail_fast:
            self.stopped = True

    def _stop_pending(self) -> None:
        """After a failure with ``fail_fast``: every quantum not run is blocked."""
        reason = "not run: execution stopped after a failure (fail-fast)"
        for index in range(len(self.graph)):
            if self.state[index] == _PENDING:
                self._record(index, QuantumStatus.BLOCKED, error=reason)

    def _children(self, index: int) -> list[int]:
        start, end = self.child_offsets[index], self.child_offsets[index + 1]
        return self.child_indices[start:end].tolist()

    def _identify(self, index: int) -> tuple[str, str]:
        task, local = self.graph.locate(index)
        return task.label, str(task.data_ids.data_id(local))

    def _describe(self, index: int) -> str:
        label, data_id = self._identify(index)
        return f"{label} {data_id}"


def _traceback_and_log(result: QuantumResult) -> str | None:
    """A failure's traceback followed by what the task logged before it failed (a failed
    attempt writes no ``_log`` dataset, so provenance keeps those records)."""
    if result.status != QuantumStatus.FAILED or not result.logs:
        return result.traceback
    lines = [f"{r['level']} {r['name']}: {r['message']}" for r in result.logs]
    return "\n".join([result.traceback or "", "log of the failed attempt:", *lines])
