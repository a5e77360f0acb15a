"""Reruns: which run of an output chain to extend, and the graph that redoes what failed.

``--rerun-failed RUN`` builds RUN's own pipeline (or a corrected one) over RUN's own
inputs, query and data ID table again, into a new run of the output chain, leaving out
every quantum done in RUN, or in the runs RUN itself took done quanta from
(``skip_existing.py``): what remains are the quanta that failed, were blocked or never
ran, and everything downstream of them, which read the outputs that were written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.collections import CollectionType
from ..core.errors import CollectionTypeError, ConfigError
from .builder import build_graph
from .empty_tasks import check_allowed_labels, check_tasks_have_quanta
from .io import load_header
from .output_checks import check_chain_inputs

if TYPE_CHECKING:
    from ..butler import Butler
    from ..pipe.resolved import ResolvedPipeline
    from .model import QuantumGraph


def run_of_chain(butler: Butler, output: str, run: str) -> str:
    """``run``, checked to be one of the ``output`` chain's own RUN collections (named
    ``OUTPUT/...``; the chain's inputs are not)."""
    registry = butler.registry
    record = registry.find_collection(output)
    children = (
        registry.get_collection_chain(output)
        if record is not None and record.type == CollectionType.CHAINED
        else []
    )
    runs = [
        c
        for c in children
        if c.startswith(f"{output}/") and registry.get_collection(c).type == CollectionType.RUN
    ]
    if run not in runs:
        raise CollectionTypeError(
            f"cannot extend {run!r}: it is not a RUN of the output chain {output!r}; "
            f"its runs: {', '.join(runs) or '(none)'}"
        )
    return run


def rerun_graph(
    butler: Butler,
    run: str,
    output: str,
    new_run: str,
    pipeline: ResolvedPipeline | None = None,
    allow_empty: Sequence[str] = (),
) -> QuantumGraph:
    """The graph of ``run``'s failed, blocked and unrun quanta and everything downstream of
    them, into ``new_run`` of ``output``, with ``run``'s own pipeline unless another (a
    fixed task, a changed config) is given; refused if nothing is left to rerun."""
    run_of_chain(butler, output, run)
    path = butler.graph_path(run)
    if not path.exists():
        raise ConfigError(f"cannot rerun {run!r}: no graph was saved for it (see 'quanta run')")
    header = load_header(path, butler.universe)
    pipeline = pipeline or header.pipeline
    check_allowed_labels(pipeline, allow_empty)
    check_chain_inputs(butler, output, header.inputs)
    graph = build_graph(
        butler,
        pipeline,
        header.inputs,
        new_run,
        output,
        header.where,
        header.binds,
        header.data_ids,
        empty_ok=True,
        skip_existing_in=[run, *header.skip_existing_in],
    )
    if len(graph) == 0:
        raise ConfigError(f"nothing to rerun: every quantum of run {run!r} is done")
    check_tasks_have_quanta(butler, graph, allow_empty, header.data_ids)
    return graph
