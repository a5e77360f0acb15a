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

if TYPE_CHECKING:
    from ..butler import Butler
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
                    ("--allow-empty", self.allow_empty),
                    ("a data ID table", self.data_id_table),
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


def plan(butler: Butler, request: RunRequest, resume: bool, force: bool = False) -> QuantumGraph:
    """The graph to execute: loaded, or built into a new run (or, to resume, into the last
    run of the output chain); saved if asked.

    Writing into an existing output chain with other inputs is refused; so is resuming a
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
    else:
        assert request.pipeline is not None and request.output is not None
        pipeline = Pipeline.load(request.pipeline).with_overrides(request.overrides)
        resolved = pipeline.resolve(butler.universe)
        check_allowed_labels(resolved, request.allow_empty)
        inputs = butler.registry.expand_collections(request.inputs)
        check_chain_inputs(butler, request.output, inputs)
        data_ids = (
            read_data_id_table(request.data_id_table, butler.universe)
            if request.data_id_table is not None
            else None
        )
        if resume:
            run = last_run(butler, request.output)
            check_resume(butler, run, resolved, force)
        else:
            run = new_run_name(butler, request.output)
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
        )
        check_tasks_have_quanta(butler, graph, request.allow_empty, data_ids)
        check_not_empty(graph)
    if request.save_qgraph is not None:
        save_graph(graph, request.save_qgraph)
    return graph
