"""Clustering quanta into jobs (``--cluster-by``) and the lease that keeps two drivers off
one run: jobs formed, the same outputs as one quantum per job, failures and retries
inside a job, a live driver refused and a dead one's grace period waited out."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from exec.conftest import make_graph
from quanta.butler import Butler
from quanta.core.errors import ConfigError, ConflictError
from quanta.exec import ExecutionSettings, InlineExecutor, QuantumJob, execute
from quanta.exec.clustering import check_dimensions, cluster_ids
from quanta.exec.lease import run_lease


class RecordingExecutor(InlineExecutor):
    """Runs jobs inline and remembers the quanta of each job it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[list[int]] = []

    def submit(self, jobs: Sequence[QuantumJob]) -> None:
        self.jobs.append([job.index for job in jobs])
        super().submit(jobs)


def _values(butler: Butler, run: str) -> dict[str, list[float]]:
    return {
        str(ref.data_id): butler.get(ref).tolist()
        for ref in butler.query_datasets("calexpLike", run)
    }


def test_cluster_ids_group_quanta_of_a_task_by_dimension_values(sqlite_repo: Butler) -> None:
    graph = make_graph(sqlite_repo, "out/run")
    calexp, summary = graph.task("calexp"), graph.task("summary")
    ids = cluster_ids(graph, ("detector",))
    for task in (calexp, summary):
        detectors = [task.data_ids.data_id(i)["detector"] for i in range(len(task))]
        own = ids[task.first : task.first + len(task)]
        assert len(set(own.tolist())) == 2  # one job per detector
        for d in (0, 1):
            assert len({int(c) for c, dd in zip(own, detectors, strict=True) if dd == d}) == 1
    assert len(set(ids.tolist())) == 4
    by_exposure = cluster_ids(graph, ("exposure",))
    # summary quanta have no exposure: one job each; calexp: one job per exposure
    assert len(set(by_exposure.tolist())) == 4 + 2
    assert np.array_equal(cluster_ids(graph, ()), np.arange(len(graph)))


def test_unknown_clustering_dimension_is_refused(sqlite_repo: Butler) -> None:
    with pytest.raises(ConfigError, match="cannot cluster by 'detecter': not a dimension"):
        check_dimensions(["detecter"], sqlite_repo.universe)
    assert check_dimensions(["detector", "detector"], sqlite_repo.universe) == ("detector",)


def test_clustered_jobs_give_the_same_outputs(repo: Butler) -> None:
    plain = RecordingExecutor()
    assert execute(repo, make_graph(repo, "a/run"), plain).ok
    clustered = RecordingExecutor()
    settings = ExecutionSettings(cluster_by=("detector",))
    report = execute(repo, make_graph(repo, "b/run", output="b"), clustered, settings)
    assert report.ok and report.total("done") == 10
    assert sorted(map(len, plain.jobs)) == [1] * 10
    assert sorted(map(len, clustered.jobs)) == [1, 1, 4, 4]
    assert _values(repo, "a/run") == _values(repo, "b/run")


def test_failure_inside_a_job_blocks_only_its_descendants(sqlite_repo: Butler) -> None:
    executor = RecordingExecutor()
    graph = make_graph(sqlite_repo, "out/run", fail_on=[(10, 0)])
    report = execute(sqlite_repo, graph, executor, ExecutionSettings(cluster_by=("detector",)))
    assert report.counts["calexp"] == {**report.counts["calexp"], "done": 7, "failed": 1}
    assert report.counts["summary"]["done"] == 1 and report.counts["summary"]["blocked"] == 1
    assert sorted(map(len, executor.jobs)) == [1, 4, 4]


def test_a_failed_quantum_of_a_job_is_retried_alone(sqlite_repo: Butler, tmp_path: Path) -> None:
    executor = RecordingExecutor()
    graph = make_graph(
        sqlite_repo, "out/run", once_on=[(11, 1)], once_marker=str(tmp_path / "once")
    )
    settings = ExecutionSettings(cluster_by=("detector",), retries=1)
    assert execute(sqlite_repo, graph, executor, settings).ok
    assert sorted(map(len, executor.jobs)) == [1, 1, 1, 4, 4]
    retried = [r for r in sqlite_repo.registry.query_quanta("out/run") if r.attempts == 2]
    assert [(r.label, r.data_id["exposure"], r.data_id["detector"]) for r in retried] == [
        ("calexp", 11, 1)
    ]


def test_lease_is_released_and_a_live_driver_refused(sqlite_repo: Butler) -> None:
    graph = make_graph(sqlite_repo, "out/run")
    lease = run_lease(sqlite_repo, "out/run")
    lease.path.parent.mkdir(parents=True, exist_ok=True)
    lease.path.write_text(json.dumps({"host": os.uname().nodename, "pid": os.getppid()}))
    with pytest.raises(ConflictError, match=f"being executed by process {os.getppid()}"):
        execute(sqlite_repo, graph, InlineExecutor())
    assert sqlite_repo.registry.find_collection("out/run") is None
    lease.path.unlink()
    assert execute(sqlite_repo, graph, InlineExecutor()).ok
    assert not lease.path.exists()


def test_a_dead_drivers_lease_is_waited_out(
    sqlite_repo: Butler, caplog: pytest.LogCaptureFixture
) -> None:
    graph = make_graph(sqlite_repo, "out/run")
    lease = run_lease(sqlite_repo, "out/run")
    lease.path.parent.mkdir(parents=True, exist_ok=True)
    record = {"host": os.uname().nodename, "pid": 2**22 + 1, "grace_seconds": 0.2}
    lease.path.write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING, logger="quanta.exec"):
        assert execute(sqlite_repo, graph, InlineExecutor()).ok
    assert "an earlier driver of this run died; waiting 1 s" in caplog.text  # one touch more
