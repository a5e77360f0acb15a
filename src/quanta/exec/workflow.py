"""What ``quanta run`` does, as plain functions: get the planned graph, pick an executor
(inline, a process pool, or a Parsl site), execute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..graph.planning import plan
from .clustering import check_dimensions
from .driver import ExecutionReport, ExecutionSettings, execute
from .executor_choice import ExecutorChoice, choose_executor

if TYPE_CHECKING:
    from ..butler import Butler
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
    graph = plan(butler, request, settings.resume, settings.force, settings.extend_run)
    if executor is not None and not isinstance(executor, ExecutorChoice):
        return execute(butler, graph, executor, settings)
    chosen = executor or choose_executor(None, processes, settings.timeout, site)
    made = chosen.start(butler.root)
    try:
        return execute(butler, graph, made, settings)
    finally:
        made.shutdown()
