"""The predicted-output rule on both databases: failed, blocked, no-work and never-run quanta,
allowed failures, and which runs' graphs a collection reaches."""

from __future__ import annotations

from typing import Any

import pytest

from exec.conftest import DETECTORS, EXPOSURES, make_graph
from quanta.butler import Butler
from quanta.check import check_collection
from quanta.check.expectations import parse_expectations
from quanta.check.predicted import runs_with_graphs
from quanta.core.errors import CollectionNotFoundError
from quanta.exec import InlineExecutor, execute
from quanta.graph.io import save_graph

RUN = "out/run1"
CALEXP = "{instrument=Cam,detector=%d,exposure=%d}"
DETECTOR = "{instrument=Cam,detector=%d}"


def _execute(butler: Butler, run: str = RUN, **calexp: Any) -> None:
    execute(butler, make_graph(butler, run, **calexp), InlineExecutor())


def _problems(butler: Butler, collection: str = "out", **expectations: Any) -> list[str]:
    """The problems of the predicted-output rule of every run ``collection`` reaches."""
    file = parse_expectations(expectations, "t.yaml") if expectations else None
    report = check_collection(butler, collection, file)
    return [p for o in report.outcomes for p in o.problems]


def _missing(name: str, data_id: str, fate: str) -> str:
    """The problem of a missing output of the test pipeline (its quantum has its data ID)."""
    label = "calexp" if name.startswith("calexp") else "summary"
    return f"{name} {data_id}: predicted but missing in run {RUN}; quantum {label} {data_id} {fate}"


FAILED = "failed: RuntimeError: injected failure for exposure 10 detector 0"
BLOCKED = f"was blocked by failed quantum calexp {CALEXP % (0, 10)}"
CALEXP_OUTPUTS = ("calexpLike", "calexp_metadata", "calexp_log")
SUMMARY_OUTPUTS = ("summary", "summary_metadata", "summary_log")


def test_every_output_of_a_complete_run_exists(repo: Butler) -> None:
    _execute(repo)
    report = check_collection(repo, "out")
    assert report.ok and report.runs == (RUN,)
    assert [o.expectation for o in report.outcomes] == [f"predicted outputs of run {RUN}"]


def test_a_failed_quantum_and_the_quantum_it_blocked_are_named(repo: Butler) -> None:
    _execute(repo, fail_on=[(10, 0)])
    assert _problems(repo) == [
        *(_missing(name, CALEXP % (0, 10), FAILED) for name in CALEXP_OUTPUTS),
        *(_missing(name, DETECTOR % 0, BLOCKED) for name in SUMMARY_OUTPUTS),
    ]


def test_allowed_failures_silence_exactly_the_quanta_they_name(repo: Butler) -> None:
    _execute(repo, fail_on=[(10, 0)])
    allowed = {"task": "calexp", "data_id": {"exposure": 10, "detector": 0}}
    other = {"task": "calexp", "data_id": {"detector": 1}}
    assert _problems(repo, allowed_failures=[allowed, other]) == [
        _missing(name, DETECTOR % 0, BLOCKED) for name in SUMMARY_OUTPUTS
    ]
    assert _problems(repo, allowed_failures=[other]) == _problems(repo)
    blocked = {"task": "summary", "data_id": "instrument=Cam,detector=0"}
    assert _problems(repo, allowed_failures=[allowed, blocked]) == []


def test_a_quantum_that_found_no_work_misses_its_outputs_but_not_its_metadata(
    repo: Butler,
) -> None:
    _execute(repo, no_work_on=[(9, 1)])
    fate = "found no work: nothing to do for exposure 9"
    assert _problems(repo) == [_missing("calexpLike", CALEXP % (1, 9), fate)]
    assert _problems(repo, allowed_failures=[{"task": "calexp"}]) == []


def test_quanta_of_a_run_that_stopped_before_them_never_ran(repo: Butler) -> None:
    graph = make_graph(repo, RUN)
    repo.registry.register_run(RUN)
    path = repo.graph_path(RUN)
    path.parent.mkdir(parents=True)
    save_graph(graph, path)
    problems = _problems(repo, RUN)
    per_detector = len(EXPOSURES) * len(CALEXP_OUTPUTS) + len(SUMMARY_OUTPUTS)
    assert len(problems) == len(DETECTORS) * per_detector
    assert _missing("summary", DETECTOR % 1, "never ran") in problems
    assert _missing("calexp_log", CALEXP % (0, 12), "never ran") in problems


def test_a_collection_reaches_the_saved_graphs_of_its_runs_in_search_order(
    repo: Butler,
) -> None:
    _execute(repo)
    _execute(repo, "out/run2", fail_on=[(9, 1)])
    assert repo.get_collection_chain("out") == ["out/run2", RUN, "raw"]
    assert runs_with_graphs(repo, "out") == ["out/run2", RUN]
    repo.set_collection_chain("everything", ["raw", "out"])
    assert runs_with_graphs(repo, "everything") == ["out/run2", RUN]
    assert runs_with_graphs(repo, RUN) == [RUN]
    report = check_collection(repo, "everything")
    assert [(o.expectation, len(o.problems)) for o in report.outcomes] == [
        ("predicted outputs of run out/run2", 6),
        (f"predicted outputs of run {RUN}", 0),
    ]
    empty = check_collection(repo, "raw")
    assert empty.runs == () and empty.outcomes == () and empty.ok


def test_an_unknown_collection_is_a_user_error(repo: Butler) -> None:
    with pytest.raises(CollectionNotFoundError, match="'nope' does not exist"):
        check_collection(repo, "nope")
