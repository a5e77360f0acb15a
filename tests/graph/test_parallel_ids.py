"""Output IDs hashed by worker processes: a build with ``workers`` gives the graph a
build without them gives, chunk boundaries and free-form keys included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import quanta.graph.builder
from graph.helpers import put_raws, resolved
from graph.test_columnar import PerTag, _put_tagged
from quanta.butler import Butler
from quanta.core.ids import output_dataset_id
from quanta.graph.builder import build_graph
from quanta.graph.io import graph_to_json
from quanta.graph.model import QuantumGraph
from quanta.pipe.examples import ScaleTask, SummaryTask


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quanta.graph.builder, "_PARALLEL_IDS", 1)


def _body(graph: QuantumGraph) -> dict[str, Any]:
    """The saved form of a graph without its header (which says when it was made)."""
    return {k: v for k, v in graph_to_json(graph).items() if k != "header"}


def test_workers_hash_the_ids_a_single_process_would(butler: Butler) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("calexp", ScaleTask, {}), ("summary", SummaryTask, {}))
    one = build_graph(butler, pipeline, ["raw"], "run")
    for workers in (2, 3):
        built = build_graph(butler, pipeline, ["raw"], "run", workers=workers)
        assert _body(built) == _body(one)
    calexps = one.datasets["calexpLike"]
    for i in (0, len(calexps) - 1):
        data_id = calexps.data_ids.data_id(i)
        assert calexps.ids[i].tobytes() == output_dataset_id("run", "calexpLike", data_id).bytes


def test_free_form_keys_reach_the_workers(butler: Butler) -> None:
    _put_tagged(butler)
    pipeline = resolved(butler, ("perTag", PerTag, {}))
    one = build_graph(butler, pipeline, ["tags"], "run")
    two = build_graph(butler, pipeline, ["tags"], "run", workers=2)
    ids = one.datasets["taggedOut"].ids
    assert len(ids) > 1 and len(np.unique(ids)) == len(ids)
    assert two.datasets["taggedOut"].ids.tobytes() == ids.tobytes()
