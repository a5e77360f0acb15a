"""What ``quanta run`` does, as plain functions: choose the run, get the graph, pick an
executor (inline, a process pool, or a Parsl site), execute."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.errors import CollectionNotFoundError, CollectionTypeError, ConfigError
from .clustering import check_dimensions
from .driver import ExecutionReport, ExecutionSettings, execute
from .executor_choice import ExecutorChoice, choose_executor

if TYPE_CHECKING:
    from ..butler import Butler
    from ..graph.model import QuantumGraph
    from .executors import Executor
    from .sites import Site


@dataclass(frozen=True)
class RunRequest:
    """Where a run's graph comes from: a pipeline over a query, or a saved graph."""

    output: str | None
    pipeline: str | None = None
    inputs: Sequence[str] = ()
    where: str | None = None
    binds: Mapping[str, Any] = field(default_factory=dict)
    overrides: Sequence[tuple[str, str, Any]] = ()
    qgraph: Path | None = None
    save_qgraph: Path | None = None

    def __post_init__(self) -> None:
        if self.qgraph is not None:
            given = [
                flag
                for flag, value in (
                    ("a pipeline", self.pipeline),
                    ("input collections", self.inputs),
                    ("a where expression", self.where),
                    ("binds", self.binds),
                    ("config overrides", self.overrides),
                )
                if value
            ]
            if given:
                raise ConfigError(f"a saved graph (--qgraph) cannot be combined with {given[0]}")
        elif not (self.pipeline and self.inputs and self.output):
            raise ConfigError("building a graph needs a pipeline, input collections and an output")


def new_run_name(butler: Butler, output: str, now: datetime.datetime | None = None) -> str:
    """``OUTPUT/YYYYMMDDTHHMMSSZ`` (UTC), with ``-2``, ``-3``... if that run already exists."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    name, n = f"{output}/{stamp}", 1
    while butler.registry.collections.find(name) is not None:
        n += 1
        name = f"{output}/{stamp}-{n}"
    return name


def last_run(butler: Butler, output: str) -> str:
    """The run a resumed execution continues: the first child of the OUTPUT chain."""
    collections = butler.registry.collections
    record = collections.find(output)
    if record is None:
        raise CollectionNotFoundError(f"cannot resume: output collection {output!r} does not exist")
    if record.type != CollectionType.CHAINED:
        raise CollectionTypeError(
            f"cannot resume: {output!r} is {record.type.name}, not the CHAINED output of a run"
        )
    chain = collections.get_chain(output)
    if not chain or collections.get(chain[0]).type != CollectionType.RUN:
        raise CollectionTypeError(f"cannot resume: the chain {output!r} does not start with a RUN")
    return chain[0]


def plan(butler: Butler, request: RunRequest, resume: bool) -> QuantumGraph:
    """The graph to execute: loaded, or built into a new run (or, to resume, into the last
    run of the output chain); saved if asked."""
    if request.qgraph is not None:
        from ..graph.io import load_graph

        graph = load_graph(request.qgraph, butler.universe)
        saved_output = graph.header.get("output")
        if request.output is not None and request.output != saved_output:
            raise ConfigError(
                f"--output {request.output!r} differs from the graph's output {saved_output!r}"
            )
    else:
        from ..graph.builder import build_graph
        from ..pipe.pipeline import Pipeline

        assert request.pipeline is not None and request.output is not None
        pipeline = Pipeline.load(request.pipeline).with_overrides(request.overrides)
        run = last_run(butler, request.output) if resume else new_run_name(butler, request.output)
        graph = build_graph(
            butler,
            pipeline.resolve(butler.universe),
            list(request.inputs),
            run,
            request.output,
            request.where,
            dict(request.binds),
        )
    if request.save_qgraph is not None:
        from ..graph.io import save_graph

        save_graph(graph, request.save_qgraph)
    return graph


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
    graph = plan(butler, request, settings.resume)
    if executor is not None and not isinstance(executor, ExecutorChoice):
        return execute(butler, graph, executor, settings)
    chosen = executor or choose_executor(None, processes, settings.timeout, site)
    made = chosen.start(butler.root)
    try:
        return execute(butler, graph, made, settings)
    finally:
        made.shutdown()
