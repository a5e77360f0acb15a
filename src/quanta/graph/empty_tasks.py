"""Refusing a graph in which a task got no quanta, with the reason in one line.

A task left without quanta usually means a mistake upstream of the run (no groups
defined, a ``where`` that matches nothing, inputs in another collection), and running
the rest of the pipeline would report success for work that never happened. So every
task must get quanta unless the user allows it to be empty (``--allow-empty LABEL``);
tasks downstream of an allowed empty task are allowed too, and so is a task whose quanta
were all left out as done already (``--skip-existing-in``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, QuantaError

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.data_id_table import DataIdTable
    from ..pipe.resolved import ResolvedPipeline, TaskDef
    from .model import QuantumGraph, TaskStats

#: How to make the records of a dimension that commands define, not ingest.
_DEFINED_BY = {
    "group_system": "run define-groups",
    "group": "run define-groups",
    "visit": "run define-visits",
}


class EmptyTaskError(QuantaError):
    """A task of the pipeline got no quanta and was not allowed to be empty."""


def check_allowed_labels(pipeline: ResolvedPipeline, allow_empty: Collection[str]) -> None:
    """Refuse ``--allow-empty`` labels that name no task of the pipeline."""
    unknown = sorted(set(allow_empty) - set(pipeline.labels))
    if unknown:
        raise ConfigError(
            f"--allow-empty {unknown[0]!r} names no task of the pipeline; "
            f"tasks: {', '.join(pipeline.labels)}"
        )


def check_tasks_have_quanta(
    butler: Butler,
    graph: QuantumGraph,
    allow_empty: Collection[str] = (),
    data_ids: DataIdTable | None = None,
) -> None:
    """Raise ``EmptyTaskError`` for the first task (in pipeline order) that has no quanta
    and is neither allowed to be empty nor downstream of an allowed empty task."""
    pipeline = graph.header.pipeline
    stats = {s.label: s for s in graph.stats}
    excused: set[str] = set()
    for task in pipeline.tasks:
        if len(graph.task(task.label)):
            continue
        upstream = [
            u
            for u in pipeline.upstream_labels(task.label)
            if not len(graph.task(u)) and not stats[u].existing
        ]
        done = stats[task.label].existing > 0
        if done or task.label in allow_empty or any(u in excused for u in upstream):
            excused.add(task.label)
            continue
        if upstream:
            reason = f"its inputs come from task {upstream[0]}, which has no quanta"
        else:
            reason = _why_no_quanta(butler, graph, task, stats[task.label], data_ids)
        raise EmptyTaskError(
            f"task {task.label} has no quanta: {reason} "
            f"(--allow-empty {task.label} accepts an empty task)"
        )


def _why_no_quanta(
    butler: Butler,
    graph: QuantumGraph,
    task: TaskDef,
    stat: TaskStats,
    data_ids: DataIdTable | None,
) -> str:
    """Why a task whose inputs do not come from an empty task got no quanta, found by
    asking the registry the task's query again with fewer constraints."""
    if stat.rows:
        if stat.skipped:
            return "every data ID was skipped: " + "; ".join(
                f"{n} {why}" for why, n in stat.skipped.items()
            )
        return f"the task dropped all {stat.rows} data ID rows its query found"
    header = graph.header
    dims = set(task.connections.dimensions.required)
    for conn in task.connections.inputs.values():
        dims.update(conn.dataset_type.dimensions.required)

    def found(names: Collection[str], table: DataIdTable | None = None) -> bool:
        rows = butler.registry.query_data_id_rows(
            names, where=header.where, binds=header.binds, data_ids=table
        )[1]
        return bool(rows)

    for name in butler.universe.sorted(dims):
        if not butler.registry.query_data_id_rows([name])[1]:
            hint = _DEFINED_BY.get(name)
            what = name.replace("_", " ")
            return f"no {what} exists in the repository" + (f"; {hint}" if hint else "")
    named = butler.registry.where_dimensions(header.where)
    if named & {"group", "group_system"} and not found(["group_system"]):
        return "no group system named in the query exists; run define-groups"
    if header.where and not found(dims):
        return f"no data ID matches the where expression {header.where!r}"
    if data_ids is not None and not found(dims, data_ids):
        return f"no row of the data ID table {data_ids.source} matches the query"
    inputs = [
        c.dataset_type.name
        for c in task.connections.inputs.values()
        if c.dataset_type.name not in header.pipeline.producers
    ]
    matching = " matching the query" if header.where or data_ids is not None else ""
    return (
        f"no data ID{matching} has all of its inputs ({', '.join(inputs) or 'none'}) "
        f"in {', '.join(header.inputs)}"
    )
