"""Executing graphs inline on both databases: outputs, provenance, failures, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exec.conftest import DETECTORS, EXPOSURES, PAIRS_PIPELINE, make_graph, raw_value
from quanta.butler import Butler
from quanta.core.errors import ConfigError, ConflictError
from quanta.exec import ExecutionSettings, InlineExecutor, execute
from quanta.exec.reports import lineage_trees
from repo_data import INSTRUMENT

RUN = "out/run1"


def _run(butler: Butler, run: str = RUN, settings: ExecutionSettings | None = None, **config):
    return execute(butler, make_graph(butler, run, **config), InlineExecutor(), settings)


def _data_id(exposure: int, detector: int) -> dict:
    return {"instrument": INSTRUMENT, "exposure": exposure, "detector": detector}


def test_fan_out_and_fan_in_record_outputs_and_provenance(repo: Butler) -> None:
    report = _run(repo)
    assert report.ok
    assert report.counts["calexp"]["done"] == 8 and report.counts["summary"]["done"] == 2
    assert repo.get_collection_chain("out") == [RUN, "raw"]
    for d in DETECTORS:
        summary = repo.get("summary", instrument=INSTRUMENT, detector=d, collections="out")
        arrays = [raw_value(e, d) * 2 + 1 for e in EXPOSURES]
        assert summary["n_inputs"] == len(EXPOSURES)
        assert summary["mean_of_means"] == pytest.approx(np.mean([a.mean() for a in arrays]))
    calexp = repo.get("calexpLike", _data_id(10, 1), collections="out")
    np.testing.assert_array_equal(calexp, raw_value(10, 1) * 2 + 1)
    config = repo.get("calexp_config", {}, collections=RUN)
    assert config["scale"] == 2.0 and config["fail_on"] == []
    metadata = repo.get("calexp_metadata", _data_id(10, 1), collections=RUN)
    assert metadata["end_ns"] >= metadata["start_ns"] and metadata["host"]
    log = repo.get("calexp_log", _data_id(10, 1), collections=RUN)
    assert [r["message"] for r in log] == ["scaling exposure 10 detector 1"]

    registry = repo.registry
    records = registry.query_quanta(RUN)
    assert len(records) == 10 and {r.status for r in records} == {"done"}
    assert all(r.start_ns and r.end_ns and r.end_ns >= r.start_ns and r.host for r in records)
    summary_ref = repo.find_dataset("summary", instrument=INSTRUMENT, detector=0, collections="out")
    lineage = registry.lineage([summary_ref.id])
    producer = lineage.producers[summary_ref.id]
    read = lineage.inputs[producer]
    expected = {
        repo.find_dataset("calexpLike", _data_id(e, 0), collections="out").id for e in EXPOSURES
    }
    assert set(read) == expected
    raw = repo.find_dataset("raw", _data_id(9, 0), collections="raw")
    calexp_ref = repo.find_dataset("calexpLike", _data_id(9, 0), collections="out")
    calexp_lineage = registry.lineage([calexp_ref.id])
    calexp_quantum = calexp_lineage.producers[calexp_ref.id]
    assert calexp_lineage.inputs[calexp_quantum] == [raw.id]
    assert registry.lineage([raw.id]).producers == {}
    written = registry.quantum_outputs([producer])[producer]
    assert summary_ref.id in written and len(written) == 3  # summary, metadata, log


def test_no_work_gives_descendants_fewer_inputs(repo: Butler) -> None:
    report = _run(repo, no_work_on=[(9, 0)])
    assert report.ok
    assert report.counts["calexp"]["no_work"] == 1 and report.counts["calexp"]["done"] == 7
    summary = repo.get("summary", instrument=INSTRUMENT, detector=0, collections="out")
    assert summary["n_inputs"] == 3
    assert not repo.exists("calexpLike", _data_id(9, 0), collections=RUN)
    assert repo.exists("calexp_metadata", _data_id(9, 0), collections=RUN)
    log = repo.get("calexp_log", _data_id(9, 0), collections=RUN)
    assert log[-1]["message"] == "no work found: nothing to do for exposure 9"
    (record,) = repo.registry.query_quanta(RUN, statuses=["no_work"])
    assert record.data_id == _data_id(9, 0) and "nothing to do" in record.error


def test_no_work_everywhere_upstream_means_no_work_downstream(repo: Butler) -> None:
    report = _run(repo, no_work_on=[(e, 1) for e in EXPOSURES])
    assert report.ok
    assert report.counts["summary"]["done"] == 1 and report.counts["summary"]["no_work"] == 1
    (record,) = repo.registry.query_quanta(RUN, label="summary", statuses=["no_work"])
    assert record.data_id == {"instrument": INSTRUMENT, "detector": 1}
    assert "upstream quanta found no work" in record.error


def test_failure_blocks_exactly_its_descendants(repo: Butler) -> None:
    report = _run(repo, fail_on=[(10, 0)])
    assert not report.ok
    assert report.counts["calexp"] == {
        "done": 7,
        "no_work": 0,
        "skipped_existing": 0,
        "failed": 1,
        "blocked": 0,
    }
    assert report.counts["summary"]["blocked"] == 1 and report.counts["summary"]["done"] == 1
    (failure,) = report.failures
    assert failure.label == "calexp" and "exposure=10" in failure.data_id
    assert "injected failure for exposure 10 detector 0" in failure.message
    assert repo.exists("summary", instrument=INSTRUMENT, detector=1, collections="out")
    assert not repo.exists("calexp_metadata", _data_id(10, 0), collections=RUN)
    (failed,) = repo.registry.query_quanta(RUN, statuses=["failed"])
    assert "RuntimeError" in failed.traceback and failed.attempts == 1
    (blocked,) = repo.registry.query_quanta(RUN, statuses=["blocked"])
    assert blocked.label == "summary" and blocked.data_id["detector"] == 0
    assert "blocked by failed quantum calexp" in blocked.error


def test_resume_after_failure_runs_only_what_is_missing(repo: Butler, tmp_path: Path) -> None:
    counter = tmp_path / "attempts.txt"
    _run(repo, fail_on=[(10, 0)], counter=str(counter))
    assert len(counter.read_text().splitlines()) == 8
    before = {r.data_id_key: r.start_ns for r in repo.registry.query_quanta(RUN)}
    with pytest.raises(ConflictError, match="resume it"):
        _run(repo, counter=str(counter))
    report = _run(repo, settings=ExecutionSettings(resume=True), counter=str(counter))
    assert report.ok
    assert counter.read_text().splitlines()[8:] == ["10 0"]
    assert report.counts["calexp"]["skipped_existing"] == 7
    assert report.counts["calexp"]["done"] == 1
    assert report.counts["summary"]["done"] == 1
    assert report.counts["summary"]["skipped_existing"] == 1
    after = repo.registry.query_quanta(RUN)
    assert {r.status for r in after} == {"done"}
    unchanged = [r for r in after if r.data_id_key != "instrument=Cam,detector=0,exposure=10"]
    changed = [r for r in unchanged if before[r.data_id_key] != r.start_ns]
    assert [r.label for r in changed] == ["summary"]
    summary = repo.get("summary", instrument=INSTRUMENT, detector=0, collections="out")
    assert summary["n_inputs"] == 4
    assert repo.get_collection_chain("out") == [RUN, "raw"]
    again = _run(repo, settings=ExecutionSettings(resume=True), counter=str(counter))
    assert again.counts["calexp"]["skipped_existing"] == 8
    assert len(counter.read_text().splitlines()) == 9


def test_retries_and_fail_fast(repo: Butler, tmp_path: Path) -> None:
    flaky = {"once_on": [(11, 1)], "once_marker": str(tmp_path / "marker")}
    report = _run(repo, settings=ExecutionSettings(retries=1), **flaky)
    assert report.ok
    (record,) = [r for r in repo.registry.query_quanta(RUN) if r.attempts == 2]
    assert record.data_id == _data_id(11, 1) and record.status == "done"

    counter = tmp_path / "attempts.txt"
    stopped = _run(
        repo, "out/run2", ExecutionSettings(fail_fast=True), fail_on=[(9, 0)], counter=str(counter)
    )
    ran = len(counter.read_text().splitlines())
    assert stopped.counts["calexp"]["failed"] == 1
    assert stopped.counts["calexp"]["done"] == ran - 1
    total = sum(sum(c.values()) for c in stopped.counts.values())
    assert total == 10  # every quantum is accounted for, queued ones included
    assert stopped.total("blocked") == total - ran


def test_settings_are_checked(repo: Butler) -> None:
    with pytest.raises(ConfigError, match="retries"):
        ExecutionSettings(retries=-1)
    with pytest.raises(ConfigError, match="cannot stop a quantum"):
        _run(repo, settings=ExecutionSettings(timeout=5))


def test_free_form_keys_reach_outputs_and_provenance(repo: Butler) -> None:
    graph = make_graph(repo, RUN, pipeline_file=PAIRS_PIPELINE)
    report = execute(repo, graph, InlineExecutor())
    assert report.ok and report.counts["pairs"]["done"] == 4
    refs = repo.query_datasets("pairDiff", RUN)
    assert sorted((r.data_id["detector"], r.data_id.extras["pair"]) for r in refs) == [
        (d, p) for d in DETECTORS for p in ("11+12", "9+10")
    ]
    assert all(repo.get(r)["mean_difference"] == 10.0 for r in refs)
    first = next(r for r in refs if r.data_id.extras["pair"] == "9+10")
    assert repo.get_uri(first).endswith("_pair-9%2B10.json")
    records = repo.registry.query_quanta(RUN, label="pairs")
    assert {r.extras["pair"] for r in records} == {"9+10", "11+12"}
    (tree,) = lineage_trees(repo, [refs[0].id])
    quantum = tree["produced_by"]
    assert quantum["data_id"] == refs[0].data_id.key() and "pair=" in quantum["data_id"]
    assert [i["dataset_type"] for i in quantum["inputs"]] == ["raw", "raw"]
