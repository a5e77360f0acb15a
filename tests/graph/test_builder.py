"""Graph building on both databases: fan-out/fan-in, prerequisites, hooks, explanations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graph.helpers import certify_biases, put_raws, resolved
from graph.tasks import Adjusting, Calibrated, Pairs, PerDetector, PerExposure, PerGroup, PerPair
from quanta.butler import Butler
from quanta.core.ids import output_dataset_id
from quanta.graph.builder import EmptyGraphError, build_graph
from quanta.graph.io import load_graph, save_graph
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT, exposure_timespan


def test_fan_out_then_fan_in(butler: Butler) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    graph = build_graph(butler, pipeline, ["raw"], "out/run1", "out")
    calexp, summary = graph.tasks
    assert len(calexp) == len(EXPOSURES) * len(DETECTORS)
    assert len(summary) == len(DETECTORS)
    assert len(graph) == len(calexp) + len(summary)
    quantum = graph.quantum(summary.first)
    detector = quantum.data_id["detector"]
    assert sorted(r.data_id["exposure"] for r in quantum.inputs["calexps"]) == list(EXPOSURES)
    assert {r.data_id["detector"] for r in quantum.inputs["calexps"]} == {detector}
    assert all(r.run == "out/run1" for r in quantum.inputs["calexps"])
    out = quantum.outputs["summary"][0]
    assert out.id == output_dataset_id("out/run1", "summary", out.data_id)
    offsets, parents = graph.parents()
    mine = parents[offsets[summary.first] : offsets[summary.first + 1]]
    assert len(mine) == len(EXPOSURES)
    assert all(graph.locate(int(p))[0].label == "calexp" for p in mine)
    child_offsets, children = graph.children()
    first_calexp_children = children[child_offsets[0] : child_offsets[1]]
    assert len(first_calexp_children) == 1
    assert graph.locate(int(first_calexp_children[0]))[0].label == "summary"
    raw_quantum = graph.quantum(0)
    assert raw_quantum.inputs["raw"][0].run == "raw"
    assert set(raw_quantum.outputs) == {"calexp", "_metadata", "_log"}


def test_where_constrains_every_task(butler: Butler) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    graph = build_graph(
        butler,
        pipeline,
        ["raw"],
        "out/run1",
        where="exposure.observation_type = 'science' AND detector IN (1..2)",
    )
    calexp, summary = graph.tasks
    assert len(calexp) == 4 * 2 and len(summary) == 2
    exposures = {graph.quantum(i).data_id["exposure"] for i in range(len(calexp))}
    assert exposures == {9, 10, 11, 12}


def test_missing_inputs_are_skipped_and_counted(butler: Butler) -> None:
    put_raws(butler, exposures=(5,), detectors=(0, 1))
    put_raws(butler, exposures=(6,), detectors=(0,))
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    graph = build_graph(butler, pipeline, ["raw"], "out/run1")
    assert len(graph.tasks[0]) == 3
    assert len(graph.tasks[1]) == 1
    assert graph.stats[1].skipped == {"with fewer than 2 calexp": 1}


def test_empty_graph_explains_itself(butler: Butler) -> None:
    put_raws(butler, exposures=(5,))
    pipeline = resolved(butler, ("calexp", PerExposure, {}))
    with pytest.raises(EmptyGraphError, match=r"task 'calexp': 0 data ID rows"):
        build_graph(butler, pipeline, ["raw"], "run", where="exposure = 6")
    pipeline = resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))
    graph = build_graph(butler, pipeline, ["raw"], "run")
    assert "candidates {calexps: 4}" in graph.explain()
    assert "skipped 4 with fewer than 2 calexp" in graph.explain()


def test_calibration_prerequisites_by_timespan(butler: Butler) -> None:
    put_raws(butler, exposures=(3, 10))
    split = exposure_timespan(6).end
    certify_biases(butler, split)
    butler.register_dataset_type(
        "flat", ["instrument", "detector", "physical_filter"], "NumpyArray", True
    )
    from quanta.core import Timespan

    flats = [
        butler.put(
            np.ones(4), "flat", instrument=INSTRUMENT, detector=d, physical_filter=f, run="fl"
        )
        for d in DETECTORS
        for f in ("Cam-g", "Cam-r", "Cam-i")
    ]
    butler.certify("calib", flats, Timespan(None, None))
    pipeline = resolved(butler, ("isr", Calibrated, {}))
    graph = build_graph(butler, pipeline, ["raw", "calib"], "out/run")
    assert len(graph) == 8
    for index in range(len(graph)):
        quantum = graph.quantum(index)
        bias = quantum.inputs["bias"][0]
        expected_run = "calib/a" if quantum.data_id["exposure"] == 3 else "calib/b"
        assert bias.run == expected_run
        assert bias.data_id["detector"] == quantum.data_id["detector"]
        flat = quantum.inputs["flat"][0]
        assert flat.data_id["physical_filter"] == f"Cam-{'gri'[quantum.data_id['exposure'] % 3]}"


def test_missing_prerequisite_skips_quanta(butler: Butler) -> None:
    put_raws(butler, exposures=(3,))
    butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray", True)
    butler.register_dataset_type(
        "flat", ["instrument", "detector", "physical_filter"], "NumpyArray", True
    )
    pipeline = resolved(butler, ("isr", Calibrated, {}))
    with pytest.raises(EmptyGraphError, match="skipped 4 with no bias prerequisite"):
        build_graph(butler, pipeline, ["raw"], "out/run")


def test_adjust_quantum_drops_quanta(butler: Butler) -> None:
    put_raws(butler, exposures=(9, 10))
    pipeline = resolved(butler, ("calexp", Adjusting, {"skip_detector": 2}))
    graph = build_graph(butler, pipeline, ["raw"], "run")
    detectors = {graph.quantum(i).data_id["detector"] for i in range(len(graph))}
    assert detectors == {0, 1, 3}
    assert graph.stats[0].skipped == {"dropped by adjust_quantum (detector skipped by config)": 2}


def test_generation_hook_builds_pairs_with_free_form_keys(butler: Butler) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("pairs", Pairs, {}), ("derived", PerPair, {}))
    graph = build_graph(
        butler, pipeline, ["raw"], "run", where="exposure.observation_type = 'flat'"
    )
    pairs, derived = graph.tasks
    assert len(pairs) == 2 * len(DETECTORS)
    keys = {
        (graph.quantum(i).data_id["detector"], graph.quantum(i).data_id["pair"])
        for i in range(len(pairs))
    }
    assert keys == {(d, p) for d in DETECTORS for p in ("5+6", "7+8")}
    quantum = graph.quantum(0)
    assert [r.data_id["exposure"] for r in quantum.inputs["flats"]] == [5, 6]
    assert quantum.outputs["pair_stat"][0].data_id["pair"] == "5+6"
    assert len(derived) == len(pairs)
    downstream = graph.quantum(derived.first)
    assert downstream.data_id.extras == {"pair": downstream.inputs["pair_stat"][0].data_id["pair"]}


def test_group_dimension_receives_members(butler: Butler) -> None:
    put_raws(butler)
    butler.insert_dimension_records("group_system", [{"instrument": INSTRUMENT, "name": "ptc"}])
    butler.insert_dimension_records(
        "group",
        [{"instrument": INSTRUMENT, "group_system": "ptc", "name": g} for g in ("a", "b")],
    )
    butler.registry.insert_join_rows(
        "group_membership",
        [
            {
                "instrument": INSTRUMENT,
                "group_system": "ptc",
                "group": g,
                "exposure": e,
                "position": i,
            }
            for g, members in (("a", (5, 6)), ("b", (7, 8)))
            for i, e in enumerate(members)
        ],
    )
    pipeline = resolved(butler, ("groups", PerGroup, {}))
    graph = build_graph(butler, pipeline, ["raw"], "run", where="group_system = 'ptc'")
    assert len(graph) == 2 * len(DETECTORS)
    for index in range(len(graph)):
        quantum = graph.quantum(index)
        members = sorted(r.data_id["exposure"] for r in quantum.inputs["members"])
        assert members == ([5, 6] if quantum.data_id["group"] == "a" else [7, 8])


def test_graph_round_trips_through_json(butler: Butler, tmp_path: Path) -> None:
    put_raws(butler)
    pipeline = resolved(butler, ("pairs", Pairs, {}), ("derived", PerPair, {}))
    graph = build_graph(
        butler, pipeline, ["raw"], "run", where="exposure.observation_type = 'flat'"
    )
    path = tmp_path / "graph.json.gz"
    save_graph(graph, path)
    loaded = load_graph(path, butler.universe)
    assert len(loaded) == len(graph)
    assert loaded.header.to_json() == graph.header.to_json()
    assert loaded.header.pipeline == graph.header.pipeline
    for index in range(len(graph)):
        a, b = graph.quantum(index), loaded.quantum(index)
        assert (a.label, a.data_id, a.inputs, a.outputs) == (
            b.label,
            b.data_id,
            b.inputs,
            b.outputs,
        )
    assert np.array_equal(loaded.parents()[1], graph.parents()[1])
    assert loaded.explain() == graph.explain()
