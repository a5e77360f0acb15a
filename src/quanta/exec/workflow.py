"""What ``quanta run`` does, as plain functions: get the planned graph, pick an executor
(inline, a process pool, or a Parsl site), execute. A pipeline that runs in steps
(``graph.steps``) executes its first step, then the whole graph in the same run."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..graph.planning import plan, plan_first_step
from .clustering import check_dimensions
from .driver import ExecutionReport, ExecutionSettings, execute
from .executor_choice import ExecutorChoice, choose_executor

if TYPE_CHECKING:
    from ..butler import Butler
    from ..graph.model import QuantumGraph
    from ..graph.planning import RunRequest
    from .executors import Executor
    from .sites import Site


def run_pipeline(
    butler: Butler,
    request: RunRequest,
    settings: ExecutionSettings,
    processes: int = 1,
    site: Site | None = None,
    executor: Executor | ExecutorChoice | None = None,
) -> ExecutionReport:
    """Plan the graph and execute it with ``processes`` workers, on a Parsl ``site``, on
    an executor chosen beforehand (``choose_executor``) and started once the graph is
    ready, or on a running ``executor`` (left running for the next pipeline)."""
    check_dimensions(settings.cluster_by, butler.universe)
    first = plan_first_step(butler, request, settings.resume, settings.force, settings.extend_run)
    graph = (
        plan(butler, request, settings.resume, settings.force, settings.extend_run)
        if first is None
        else None
    )
    if executor is not None and not isinstance(executor, ExecutorChoice):
        return _execute(butler, request, first, graph, executor, settings)
    chosen = executor or choose_executor(None, processes, settings.timeout, site)
    if chosen.alone is not None and graph is not None and len(graph) == 1:
        chosen = chosen.alone
    made = chosen.start(butler.root)
    try:
        return _execute(butler, request, first, graph, made, settings)
    finally:
        made.shutdown()


def _execute(
    butler: Butler,
    request: RunRequest,
    first: QuantumGraph | None,
    graph: QuantumGraph | None,
    executor: Executor,
    settings: ExecutionSettings,
) -> ExecutionReport:
    """Execute ``graph``; or the ``first`` step, then the whole pipeline planned into its run."""
    if first is None:
        assert graph is not None
        return execute(butler, graph, executor, settings)
    early = execute(butler, first, executor, settings)
    if not early.ok:
        return early
    settings = replace(settings, resume=False, extend_run=first.output_run)
    whole = plan(butler, request, False, settings.force, first.output_run, in_steps=True)
    late = execute(butler, whole, executor, settings)
    counts = {label: early.counts.get(label, c) for label, c in late.counts.items()}
    return ExecutionReport(late.run, late.output, counts, early.failures + late.failures)
