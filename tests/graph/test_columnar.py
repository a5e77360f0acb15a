"""The builder's columnar internals: output IDs, pair grouping, node accumulators, and the
paths they open (existing inputs with free-form keys, an input also used as a
prerequisite, inputs shared by many quanta, repeated outputs, saving)."""

from __future__ import annotations

import gzip
import json
from array import array
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from graph.helpers import as_lists, put_raws, resolved
from graph.tasks import DETECTOR, EXPOSURE, PerDetector, PerExposure
from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef
from quanta.core.errors import ConflictError
from quanta.core.ids import output_dataset_id, output_dataset_ids
from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe
from quanta.graph.accumulators import TaskQuanta, group_pairs, int64_array
from quanta.graph.builder import GraphBuilder, build_graph
from quanta.graph.columns import first_duplicate
from quanta.graph.io import graph_to_json, save_graph
from quanta.graph.model import TaskStats
from quanta.pipe import Input, Output, PipelineTask, PipelineTaskConnections, PrerequisiteInput
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT


class TaggedConnections(PipelineTaskConnections, dimensions=DETECTOR):
    tagged = Input("tagged", "StructuredData", DETECTOR)
    out = Output("taggedOut", "StructuredData", DETECTOR)


class PerTag(PipelineTask):
    ConnectionsClass = TaggedConnections


class AllTagsConnections(PipelineTaskConnections, dimensions=DETECTOR):
    tagged = Input("tagged", "StructuredData", DETECTOR, multiple=True)
    out = Output("allTags", "StructuredData", DETECTOR)


class AllTags(PipelineTask):
    ConnectionsClass = AllTagsConnections


class RawAgainConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    calexp = Input("calexp", "NumpyArray", EXPOSURE)
    raw = PrerequisiteInput("raw", "NumpyArray", EXPOSURE)
    out = Output("again", "NumpyArray", EXPOSURE)


class RawAgain(PipelineTask):
    ConnectionsClass = RawAgainConnections


class WithRefcatConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    refcat = Input("refcat", "NumpyArray", DETECTOR)
    out = Output("matched", "NumpyArray", EXPOSURE)


class WithRefcat(PipelineTask):
    ConnectionsClass = WithRefcatConnections


class PerDetectorOutputConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    out = Output("perDetector", "StructuredData", DETECTOR)


class PerDetectorOutput(PipelineTask):
    ConnectionsClass = PerDetectorOutputConnections


# -- pure functions ------------------------------------------------------------------------


def test_output_ids_are_output_dataset_ids() -> None:
    universe = load_universe(DEFAULT_UNIVERSE_PATH)
    group = universe.group(["instrument", "detector", "exposure"])
    rows = [("Cam", 1, 20250101_00001), ("Cam", 2, 7)]
    columns = [
        np.array(["Cam", "Cam"], dtype=object),
        np.array([1, 2]),
        np.array([2025010100001, 7]),
    ]
    extras = [(), (("pair", "5+6"),)]
    prefixes = ["run\x1fcalexp\x1f", "run\x1fc_log\x1f"]
    calexp, log = output_dataset_ids(prefixes, group.required, columns, extras, 2)
    for i, row in enumerate(rows):
        data_id = DataCoordinate(group, row, None, None, extras[i])
        assert calexp[i].tobytes() == output_dataset_id("run", "calexp", data_id).bytes
        assert log[i].tobytes() == output_dataset_id("run", "c_log", data_id).bytes
    empty = universe.group([])
    (only,) = output_dataset_ids(["r\x1ft\x1f"], (), [], [(("k", "v"),)], 1)
    key = DataCoordinate(empty, (), None, None, (("k", "v"),))
    assert only[0].tobytes() == output_dataset_id("r", "t", key).bytes


def test_first_duplicate_is_the_first_repeat_in_order() -> None:
    ids = np.array([b"a" * 16, b"b" * 16, b"c" * 16, b"b" * 16, b"a" * 16], dtype="V16")
    assert first_duplicate(ids) == 3
    assert first_duplicate(ids[:3]) is None
    assert first_duplicate(ids[:0]) is None


def test_group_pairs_keeps_first_seen_order_without_repeats() -> None:
    quanta, pairs = np.array([1, 0, 1, 1, 0, 3]), np.array([5, 2, 4, 5, 7, 1])
    offsets, nodes = group_pairs(quanta, pairs, 4)
    assert offsets.tolist() == [0, 2, 4, 4, 5]
    assert nodes.tolist() == [2, 7, 5, 4, 1]
    offsets, nodes = group_pairs(int64_array(array("q")), int64_array(array("q")), 2)
    assert offsets.tolist() == [0, 0, 0] and nodes.tolist() == []


def _connection(name: str, multiple: bool, minimum: int = 1) -> SimpleNamespace:
    return SimpleNamespace(
        multiple=multiple, minimum=minimum, dataset_type=SimpleNamespace(name=name)
    )


def test_complete_counts_reasons_in_order_and_reports_conflicts() -> None:
    task = SimpleNamespace(label="t", connections=SimpleNamespace(inputs={
        "many": _connection("m", multiple=True, minimum=2), "one": _connection("o", False)
    }))  # fmt: skip
    edges = {
        "many": (np.array([0, 2, 3, 5, 7]), np.arange(7)),
        "one": (np.array([0, 1, 1, 2, 3]), np.arange(3)),
    }
    stat = TaskStats("t")
    stat.skipped["earlier"] = 1
    kept = TaskQuanta([("a",), ("b",), ("c",), ("d",)], None, edges).complete(task, stat)  # type: ignore[arg-type]
    assert [r[0] for r in kept.rows] == ["a", "c", "d"]
    assert kept.inputs["one"][0].tolist() == [0, 1, 2, 3]
    assert kept.inputs["many"][1].tolist() == [0, 1, 3, 4, 5, 6]
    assert stat.skipped == {"earlier": 1, "with fewer than 2 m": 1}
    edges["one"] = (np.array([0, 1, 1, 3, 4]), np.arange(4))
    with pytest.raises(ConflictError, match="input 'one': 2 o datasets match one quantum"):
        TaskQuanta([("a",), ("b",), ("c",), ("d",)], None, edges).complete(task, stat)  # type: ignore[arg-type]


# -- through the builder -------------------------------------------------------------------


def _put_tagged(butler: Butler, plain: tuple[int, ...] = ()) -> None:
    """``tagged`` datasets per detector with free-form keys: tags a and b (detector 3: a),
    and datasets without tags for the detectors in ``plain``."""
    dataset_type = butler.register_dataset_type("tagged", list(DETECTOR), "StructuredData")
    butler.registry.register_run("tags")
    refs = []
    for d in DETECTORS:
        base = DataCoordinate.standardize(
            {"instrument": INSTRUMENT, "detector": d}, dataset_type.dimensions
        )
        for tag in ("a", "b") if d != 3 else ("a",):
            refs.append(DatasetRef.for_output(dataset_type, base.with_extras({"tag": tag}), "tags"))
        if d in plain:
            refs.append(DatasetRef.for_output(dataset_type, base, "tags"))
    butler.registry.insert_datasets(refs)


def test_existing_inputs_with_free_form_keys(butler: Butler) -> None:
    _put_tagged(butler)
    graph = build_graph(butler, resolved(butler, ("tag", PerTag, {})), ["tags"], "run")
    keys = sorted(
        (q.data_id["detector"], q.data_id.extras["tag"])
        for q in map(graph.quantum, range(len(graph)))
    )
    assert keys == [(0, "a"), (0, "b"), (1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a")]
    for index in range(len(graph)):
        quantum = graph.quantum(index)
        (tagged,) = quantum.inputs["tagged"]
        assert tagged.data_id.extras == quantum.data_id.extras
        assert quantum.outputs["out"][0].data_id.extras == quantum.data_id.extras
    graph = build_graph(butler, resolved(butler, ("all", AllTags, {})), ["tags"], "run")
    assert sorted(len(graph.quantum(i).inputs["tagged"]) for i in range(len(graph))) == [1, 2, 2, 2]


def test_untagged_and_tagged_inputs_of_one_quantum_conflict(butler: Butler) -> None:
    _put_tagged(butler, plain=(1,))
    with pytest.raises(ConflictError, match="input 'tagged': 2 tagged datasets match one quantum"):
        build_graph(butler, resolved(butler, ("tag", PerTag, {})), ["tags"], "run")


def test_input_also_prerequisite_is_one_node(butler: Butler) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("again", RawAgain, {}))
    graph = build_graph(butler, pipeline, ["raw"], "run")
    assert len(graph.datasets["raw"]) == len(EXPOSURES) * len(DETECTORS)
    calexp, again = graph.tasks
    assert np.array_equal(again.inputs["raw"].indices, calexp.inputs["raw"].indices)
    quantum = graph.quantum(again.first)
    assert quantum.inputs["raw"][0].data_id == quantum.data_id


def test_input_with_fewer_dimensions_is_shared(butler: Butler) -> None:
    put_raws(butler)
    butler.register_dataset_type("refcat", list(DETECTOR), "NumpyArray")
    for d in (0, 1, 2):
        butler.put(np.zeros(2), "refcat", instrument=INSTRUMENT, detector=d, run="refs")
    graph = build_graph(butler, resolved(butler, ("match", WithRefcat, {})), ["raw", "refs"], "run")
    assert len(graph) == len(EXPOSURES) * 3
    assert len(graph.datasets["refcat"]) == 3
    # The rows query already asks for a refcat: detector 3 has no rows, no skipped quanta.
    assert graph.stats[0].skipped == {}
    assert graph.stats[0].candidates == {"raw": len(EXPOSURES) * 3, "refcat": 3}
    refcats = graph.tasks[0].inputs["refcat"]
    assert len(refcats.indices) == len(graph) and set(refcats.indices.tolist()) == {0, 1, 2}
    assert graph.runs == ["run", "raw", "refs"]


def test_repeated_output_data_id_is_an_error(butler: Butler) -> None:
    put_raws(butler)
    with pytest.raises(
        ConflictError, match=r"write perDetector \{instrument=Cam,detector=0\} more"
    ):
        build_graph(butler, resolved(butler, ("det", PerDetectorOutput, {})), ["raw"], "run")


def test_lookups_are_freed_and_shared_arrays_read_only(butler: Butler) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    builder = GraphBuilder(butler, pipeline, ["raw"], "run")
    graph = builder.build()
    assert builder.nodes["raw"]._candidates == {}  # type: ignore[union-attr]
    assert builder.nodes["calexp"]._by_values is None  # type: ignore[union-attr]
    calexp = graph.datasets["calexp"]
    assert calexp.data_ids.columns[2] is graph.tasks[0].data_ids.columns[2]
    with pytest.raises(ValueError, match="read-only"):
        calexp.producers[0] = 5


def test_saved_text_is_the_json_form(butler: Butler, tmp_path: Path) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    graph = build_graph(butler, pipeline, ["raw"], "run")
    save_graph(graph, tmp_path / "g.json.gz")
    with gzip.open(tmp_path / "g.json.gz", "rt") as stream:
        assert stream.read() == json.dumps(graph_to_json(graph), separators=(",", ":"))


def test_reading_parses_as_json_with_arrays(butler: Butler) -> None:
    from quanta.graph.io import _read_json

    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    data = graph_to_json(build_graph(butler, pipeline, ["raw"], "run", where="detector < 3"))
    for text in (json.dumps(data, separators=(",", ":")), json.dumps(data, indent=2) + "\n"):
        parsed = _read_json(text)
        assert as_lists(parsed) == json.loads(text)
        assert parsed["datasets"]["raw"]["runs"].dtype == np.int32
        edges = parsed["tasks"][1]["inputs"]["calexps"]
        assert edges["indices"].dtype == np.int64 and len(edges["indices"]) == 36
        assert isinstance(parsed["header"]["pipeline"], dict)
    text = json.dumps(data)
    for broken in (text[:-1], text + "x", text.replace(":", "=", 3), "[1,2"):
        with pytest.raises(ValueError):
            _read_json(broken)


def test_tasks_sharing_a_query_match_as_by_values(
    butler: Butler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``summary`` asks ``calexp``'s query: it reuses the rows, matches ``calexp``'s outputs
    by position, and gets the graph that matching by values gives."""
    from quanta.graph.accumulators import PredictedNodes

    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    answers: list[bool] = []
    rows_are = PredictedNodes.rows_are
    monkeypatch.setattr(
        PredictedNodes,
        "rows_are",
        lambda self, rows: answers.append(rows_are(self, rows)) or answers[-1],
    )
    builder = GraphBuilder(butler, pipeline, ["raw"], "run")
    shared = builder.build()
    assert answers == [True]
    assert builder._data_id_query(pipeline.tasks[0]) == builder._data_id_query(pipeline.tasks[1])
    monkeypatch.setattr(PredictedNodes, "rows_are", lambda self, rows: False)
    by_values = build_graph(butler, pipeline, ["raw"], "run")
    body = lambda g: {k: v for k, v in graph_to_json(g).items() if k != "header"}  # noqa: E731
    assert body(shared) == body(by_values)
    assert shared.stats[1].candidates == {"calexps": len(EXPOSURES) * len(DETECTORS)}
