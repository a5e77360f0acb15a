"""What ``quanta run`` does, as plain functions: get the planned graph, pick an executor
(inline, a process pool, or a Parsl site), execute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import ConfigError
from ..graph.planning import plan
from .clustering import check_dimensions
from .driver import ExecutionReport, ExecutionSettings, execute
from .executors import Executor, InlineExecutor, ProcessPoolExecutor

if TYPE_CHECKING:
    from ..butler import Butler
    from ..graph.planning import RunRequest
    from .sites import Site

#: Directory under a repository's root for Parsl's logs, one numbered directory per start.
PARSL_DIR = ".parsl"


def make_executor(
    butler: Butler, processes: int, timeout: float | None, site: Site | None = None
) -> Executor:
    """The Parsl ``site`` if given; else inline for one process without a time limit, and
    a process pool otherwise (only a separate process can be stopped when it overruns)."""
    if site is not None:
        if timeout is not None:
            raise ConfigError("--timeout needs local worker processes; Parsl cannot stop a quantum")
        from .parsl_executor import ParslExecutor

        return ParslExecutor(site, butler.root / PARSL_DIR)
    if processes == 1 and timeout is None:
        return InlineExecutor()
    return ProcessPoolExecutor(processes)


def run_pipeline(
    butler: Butler,
    request: RunRequest,
    settings: ExecutionSettings,
    processes: int = 1,
    site: Site | None = None,
    executor: Executor | None = None,
) -> ExecutionReport:
    """Plan the graph and execute it with ``processes`` workers, on a Parsl ``site``, or
    on a running ``executor`` (left running for the next pipeline)."""
    check_dimensions(settings.cluster_by, butler.universe)
    graph = plan(butler, request, settings.resume)
    if executor is not None:
        return execute(butler, graph, executor, settings)
    made = make_executor(butler, processes, settings.timeout, site)
    try:
        return execute(butler, graph, made, settings)
    finally:
        made.shutdown()
