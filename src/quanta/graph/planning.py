"""Planning a run: the request (a pipeline over a query, or a saved graph), the run's name,
and the graph to execute, built or loaded (and saved if asked)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.errors import CollectionNotFoundError, CollectionTypeError, ConfigError
from ..pipe.pipeline import Pipeline
from .builder import build_graph, check_not_empty
from .data_id_files import read_data_id_table
from .empty_tasks import check_allowed_labels, check_tasks_have_quanta
from .io import load_graph, save_graph
from .output_checks import check_chain_inputs, check_resume
from .reruns import rerun_graph, run_of_chain
from .steps import first_step

if TYPE_CHECKING:
    from ..butler import Butler
    from ..pipe.resolved import ResolvedPipeline
    from .model import QuantumGraph


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
    allow_empty: Sequence[str] = ()
    data_id_table: Path | None = None
    skip_existing_in: Sequence[str] = ()
    rerun_failed: str | None = None
    #: Processes that build the graph (its output IDs are hashed in parallel).
    jobs: int = 1

    def __post_init__(self) -> None:
        saved = self.qgraph is not None
        source = (
            "a saved graph (--qgraph)"
            if saved
            else "--rerun-failed (the run's own inputs and query are used)"
            if self.rerun_failed is not None
            else None
        )
        if source is not None:
            given = [
                flag
                for flag, value in (
                    ("a pipeline", saved and self.pipeline),
                    ("config overrides", saved and self.overrides),
                    ("config overrides without a pipeline", self.overrides and not self.pipeline),
                    ("input collections", self.inputs),
                    ("a where expression", self.where),
                    ("binds", self.binds),
                    ("a data ID table", self.data_id_table),
                    ("--skip-existing-in", self.skip_existing_in),
                    ("--rerun-failed", saved and self.rerun_failed),
                )
                if value
            ]
            if given:
                raise ConfigError(f"{source} cannot be combined with {given[0]}")
            if self.rerun_failed is not None and not self.output:
                raise ConfigError("--rerun-failed needs the output collection (--output)")
        elif not (self.pipeline and self.inputs and self.output):
            raise ConfigError("building a graph needs a pipeline, input collections and an output")


def new_run_name(butler: Butler, output: str, now: datetime.datetime | None = None) -> str:
    """``OUTPUT/YYYYMMDDTHHMMSSZ`` (UTC), with ``-2``, ``-3``... if that run already exists."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    name, n = f"{output}/{stamp}", 1
    while butler.registry.find_collection(name) is not None:
        n += 1
        name = f"{output}/{stamp}-{n}"
    return name


def last_run(butler: Butler, output: str) -> str:
    """The run a resumed execution continues: the first child of the OUTPUT chain."""
    registry = butler.registry
    record = registry.find_collection(output)
    if record is None:
        raise CollectionNotFoundError(f"cannot resume: output collection {output!r} does not exist")
    if record.type != CollectionType.CHAINED:
        raise CollectionTypeError(
            f"cannot resume: {output!r} is {record.type.name}, not the CHAINED output of a run"
        )
    chain = registry.get_collection_chain(output)
    if not chain or registry.get_collection(chain[0]).type != CollectionType.RUN:
        raise CollectionTypeError(f"cannot resume: the chain {output!r} does not start with a RUN")
    return chain[0]


def plan(
    butler: Butler,
    request: RunRequest,
    resume: bool,
    force: bool = False,
    extend_run: str | None = None,
    in_steps: bool = False,
) -> QuantumGraph:
    """The graph to execute: loaded, or built into a new run (or, to resume, into the last
    run of the output chain, or into ``extend_run``, another of its runs); saved if asked.
    ``in_steps``: the run holds a first step (``plan_first_step``), so the tasks it lacks
    are expected.

    Writing into an existing output chain with other inputs is refused; so is continuing a
    run with another pipeline or other configs unless ``force``, and a built graph in which
    a task has no quanta unless the request allows that task to be empty.
    """
    if request.qgraph is not None:
        graph = load_graph(request.qgraph, butler.universe)
        saved_output = graph.header.output
        if request.output is not None and request.output != saved_output:
            raise ConfigError(
                f"--output {request.output!r} differs from the graph's output {saved_output!r}"
            )
        if saved_output is not None:
            check_chain_inputs(butler, saved_output, graph.header.inputs)
        run = graph.output_run
        if extend_run is not None and extend_run != run:
            raise ConfigError(f"--extend-run {extend_run!r} differs from the graph's run {run!r}")
        if (resume or extend_run) and butler.registry.find_collection(run) is not None:
            check_resume(butler, run, graph.header.pipeline, force)
    elif request.rerun_failed is not None:
        assert request.output is not None
        if resume or extend_run is not None:
            raise ConfigError(
                "--rerun-failed makes a new run: it takes no --resume or --extend-run"
            )
        pipeline = (
            Pipeline.load(request.pipeline)
            .with_overrides(request.overrides)
            .resolve(butler.universe)
            if request.pipeline
            else None
        )
        new_run = new_run_name(butler, request.output)
        graph = rerun_graph(
            butler, request.rerun_failed, request.output, new_run, pipeline, request.allow_empty
        )
    else:
        graph = _build(butler, request, resume, force, extend_run, in_steps=in_steps)
    if request.save_qgraph is not None:
        save_graph(graph, request.save_qgraph)
    return graph


def plan_first_step(
    butler: Butler,
    request: RunRequest,
    resume: bool,
    force: bool = False,
    extend_run: str | None = None,
) -> QuantumGraph | None:
    """The graph of the first step of a pipeline that runs in steps (``steps``), built
    like ``plan`` builds the whole one; None for a pipeline that runs in one go, a saved
    graph or a rerun. Execute it, then ``plan`` the whole pipeline into its run
    (``extend_run``, ``in_steps``): the first step's quanta are then done."""
    if request.qgraph is not None or request.rerun_failed is not None:
        return None
    assert request.pipeline is not None
    resolved = Pipeline.load(request.pipeline).with_overrides(request.overrides)
    step = first_step(resolved.resolve(butler.universe))
    if step is None:
        return None
    allowed = [label for label in request.allow_empty if label in step.labels]
    return _build(butler, request, resume, force, extend_run, step, allowed, in_steps=True)


def _build(
    butler: Butler,
    request: RunRequest,
    resume: bool,
    force: bool,
    extend_run: str | None,
    step: ResolvedPipeline | None = None,
    allowed: Sequence[str] | None = None,
    in_steps: bool = False,
) -> QuantumGraph:
    """Build the graph a request describes (or only its first ``step``, whose tasks may be
    left empty if ``allowed``), after the checks that keep products apart; a run made
    ``in_steps`` may hold fewer or more tasks than the graph."""
    assert request.pipeline is not None and request.output is not None
    resolved = step or Pipeline.load(request.pipeline).with_overrides(request.overrides).resolve(
        butler.universe
    )
    allowed = request.allow_empty if allowed is None else allowed
    check_allowed_labels(resolved, allowed)
    inputs = butler.registry.expand_collections(request.inputs)
    check_chain_inputs(butler, request.output, inputs)
    data_ids = (
        read_data_id_table(request.data_id_table, butler.universe)
        if request.data_id_table is not None
        else None
    )
    if extend_run is not None:
        run = run_of_chain(butler, request.output, extend_run)
    elif resume:
        run = last_run(butler, request.output)
    else:
        run = new_run_name(butler, request.output)
    if resume or extend_run is not None:
        check_resume(butler, run, resolved, force, same_tasks=not in_steps)
    graph = build_graph(
        butler,
        resolved,
        inputs,
        run,
        request.output,
        request.where,
        dict(request.binds),
        data_ids,
        empty_ok=True,
        skip_existing_in=request.skip_existing_in,
        workers=request.jobs,
    )
    check_tasks_have_quanta(butler, graph, allowed, data_ids)
    check_not_empty(graph)
    return graph
