"""What a run report shows, read from the repository: tasks in dependency order with their
quanta by status and durations, the failures with their errors, and the run's plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quanta.core.status import QuantumStatus
from quanta.exec.reports import resolve_run
from quanta.graph.io import load_graph

if TYPE_CHECKING:
    from quanta.butler import Butler
    from quanta.core.provenance import QuantumRecord

#: Most failures shown with their error and traceback.
MAX_FAILURES = 50
#: Most plots (datasets of storage class ``Plot``, such as ``ptcPlot``) embedded.
MAX_PLOTS = 24


@dataclass
class TaskFacts:
    """One task of the run: its quanta by status, their durations, the tasks it reads
    from, and its level (0 for a task that reads nothing the run wrote)."""

    label: str
    counts: dict[QuantumStatus, int]
    durations_s: list[float] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)
    level: int = 0

    @property
    def total(self) -> int:
        """How many quanta the task had."""
        return sum(self.counts.values())


@dataclass
class RunFacts:
    """A run as its report shows it; ``plots`` are (dataset type, data ID, PNG bytes)."""

    run: str
    collection: str
    tasks: list[TaskFacts]
    failures: list[QuantumRecord]
    n_failures: int
    plots: list[tuple[str, str, bytes]]
    n_plots: int
    has_graph: bool


def gather_run(butler: Butler, collection: str) -> RunFacts:
    """Everything the report of ``collection`` (a RUN, or an output chain's run) needs."""
    run = resolve_run(butler, collection)
    registry = butler.registry
    tasks: dict[str, TaskFacts] = {}
    for label, found in sorted(registry.quantum_summary(run).items()):
        counts = {status: found.get(status, 0) for status in QuantumStatus}
        tasks[label] = TaskFacts(label, counts)
    for record in registry.query_quanta(run):
        if record.start_ns is not None and record.end_ns is not None and record.label in tasks:
            tasks[record.label].durations_s.append((record.end_ns - record.start_ns) / 1e9)
    has_graph = _link_tasks(butler, run, tasks)
    failures = registry.query_quanta(run, statuses=[QuantumStatus.FAILED])
    plots, n_plots = _plots(butler, run)
    ordered = sorted(tasks.values(), key=lambda t: t.level)
    return RunFacts(
        run, collection, ordered, failures[:MAX_FAILURES], len(failures), plots, n_plots, has_graph
    )


def _link_tasks(butler: Butler, run: str, tasks: dict[str, TaskFacts]) -> bool:
    """Fill each task's upstream tasks and level from the run's saved graph (a task reads
    from another when it takes one of its output dataset types); False with no graph."""
    path = butler.graph_path(run)
    if not path.exists():
        return False
    graph = load_graph(path, butler.universe)
    producer = {e.dataset_type: t.label for t in graph.tasks for e in t.outputs.values()}
    order = [t.label for t in graph.tasks]
    for task in graph.tasks:
        facts = tasks.setdefault(task.label, TaskFacts(task.label, dict.fromkeys(QuantumStatus, 0)))
        ups = {producer[e.dataset_type] for e in task.inputs.values() if e.dataset_type in producer}
        facts.upstream = sorted(ups - {task.label}, key=order.index)
    for label in order:  # the graph's tasks are in dependency order
        facts = tasks[label]
        facts.level = max((tasks[u].level + 1 for u in facts.upstream), default=0)
    return True


def _plots(butler: Butler, run: str) -> tuple[list[tuple[str, str, bytes]], int]:
    """The first ``MAX_PLOTS`` ``Plot`` datasets of the run (PNG bytes), and how many."""
    refs = [
        ref
        for dataset_type in butler.registry.query_dataset_types()
        if dataset_type.storage_class == "Plot"
        for ref in butler.query_datasets(dataset_type, [run])
    ]
    refs.sort(key=lambda r: (r.dataset_type.name, r.data_id.key()))
    plots = [(r.dataset_type.name, r.data_id.key(), bytes(butler.get(r))) for r in refs[:MAX_PLOTS]]
    return plots, len(refs)
