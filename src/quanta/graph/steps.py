"""A pipeline in steps: tasks that read some inputs while the graph is built run after them.

A task lists in ``build_time_inputs`` the input connections its quantum generation hook
reads (such as each flat's measured signal, to pair flats by it). When another task of
the same pipeline writes those datasets, they cannot be read before that task has run:
the pipeline then runs in two steps. The first step is every task those datasets need
(their producers and everything upstream); it is built and executed into the run, then
the whole pipeline's graph is built into the same run, where the first step's outputs
now exist, and its remaining quanta run.
"""

from __future__ import annotations

from ..core.errors import ConfigError
from ..pipe.resolved import ResolvedPipeline


def build_time_types(pipeline: ResolvedPipeline) -> dict[str, str]:
    """Dataset types read while the graph is built that a task of ``pipeline`` writes,
    each with the label of the task that reads it."""
    found: dict[str, str] = {}
    for task in pipeline.tasks:
        for name in task.task_class.build_time_inputs:
            connection = task.connections.inputs.get(name)
            if connection is not None and connection.dataset_type.name in pipeline.producers:
                found.setdefault(connection.dataset_type.name, task.label)
    return found


def first_step(pipeline: ResolvedPipeline) -> ResolvedPipeline | None:
    """The tasks that must run before the graph of ``pipeline`` can be built (the producers
    of its build-time inputs and everything upstream of them); None if there are none."""
    wanted = [pipeline.producers[name] for name in build_time_types(pipeline)]
    if not wanted:
        return None
    needed: set[str] = set()
    while wanted:
        label = wanted.pop()
        if label not in needed:
            needed.add(label)
            wanted.extend(pipeline.upstream_labels(label))
    readers = set(build_time_types(pipeline).values()) & needed
    if readers:
        raise_cycle(pipeline, sorted(readers)[0])
    tasks = [task for task in pipeline.tasks if task.label in needed]
    return ResolvedPipeline.from_tasks(tasks, pipeline.description, pipeline.source)


def raise_cycle(pipeline: ResolvedPipeline, label: str) -> None:
    """Refuse a task that needs, to build its own quanta, what it or a later task writes."""
    raise ConfigError(
        f"{pipeline.source}: task {label!r} reads at graph-building time datasets that need "
        "its own outputs; such a pipeline cannot run in steps"
    )
