"""Execution on a real local Parsl cluster (two workers): the same bytes as inline, jobs
clustered by detector, workers killed by SIGKILL in the middle of a quantum (alone and
inside a job), on both registries for the main case and PostgreSQL for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from exec.conftest import make_graph
from quanta.butler import Butler
from quanta.core.errors import ConfigError
from quanta.exec import ExecutionSettings, InlineExecutor, execute
from quanta.exec.lease import run_lease
from quanta.exec.parsl_executor import ParslExecutor
from repo_data import INSTRUMENT


def _calexps(butler: Butler, run: str) -> dict[str, bytes]:
    """The bytes of every calexpLike file of a run, by data ID."""
    return {
        str(ref.data_id): butler.datastore.path(butler._stored(ref)).read_bytes()
        for ref in butler.query_datasets("calexpLike", run)
    }


def _attempts(butler: Butler, run: str) -> dict[tuple[int, int], int]:
    """Attempts of each calexp quantum, by (exposure, detector)."""
    return {
        (r.data_id["exposure"], r.data_id["detector"]): r.attempts
        for r in butler.registry.query_quanta(run)
        if r.label == "calexp"
    }


def test_parsl_writes_the_same_files_as_inline(repo: Butler, parsl_executor: ParslExecutor) -> None:
    assert execute(repo, make_graph(repo, "a/run", output="a"), InlineExecutor()).ok
    report = execute(repo, make_graph(repo, "b/run", output="b"), parsl_executor)
    assert report.ok and report.total("done") == 10
    assert _calexps(repo, "a/run") == _calexps(repo, "b/run")
    summaries = repo.query_datasets("summary", "b/run")
    assert sorted(repo.get(r)["n_inputs"] for r in summaries) == [4, 4]
    records = repo.registry.query_quanta("b/run")
    assert len(records) == 10 and all(r.host and r.status == "done" for r in records)
    assert not run_lease(repo, "b/run").path.exists()
    assert repo.verify().ok


def test_clustered_jobs_on_parsl(pg_repo: Butler, parsl_executor: ParslExecutor) -> None:
    assert execute(pg_repo, make_graph(pg_repo, "a/run", output="a"), InlineExecutor()).ok
    settings = ExecutionSettings(cluster_by=("detector",))
    report = execute(pg_repo, make_graph(pg_repo, "b/run", output="b"), parsl_executor, settings)
    assert report.ok and report.total("done") == 10
    assert _calexps(pg_repo, "a/run") == _calexps(pg_repo, "b/run")


def test_worker_killed_after_writing_leaves_nothing_and_a_retry_completes(
    pg_repo: Butler, parsl_executor: ParslExecutor, tmp_path: Path
) -> None:
    kill = {"once_on": [(10, 1)], "once_kill": True, "once_after_write": True}
    graph = make_graph(pg_repo, "a/run", output="a", once_marker=str(tmp_path / "a"), **kill)
    report = execute(pg_repo, graph, parsl_executor)
    (failure,) = report.failures
    assert failure.data_id == f"{{instrument={INSTRUMENT},detector=1,exposure=10}}"
    assert failure.message.startswith("worker process died")
    assert report.counts["summary"] == {**report.counts["summary"], "done": 1, "blocked": 1}
    # The killed quantum had written its calexpLike: the driver removed it, unrecorded.
    verified = pg_repo.verify()
    assert verified.ok and verified.orphans == []

    graph = make_graph(pg_repo, "b/run", output="b", once_marker=str(tmp_path / "b"), **kill)
    report = execute(pg_repo, graph, parsl_executor, ExecutionSettings(retries=1))
    assert report.ok
    assert _attempts(pg_repo, "b/run")[(10, 1)] == 2
    assert execute(pg_repo, make_graph(pg_repo, "c/run", output="c"), InlineExecutor()).ok
    assert _calexps(pg_repo, "b/run") == _calexps(pg_repo, "c/run")
    assert pg_repo.verify().ok


def test_worker_killed_inside_a_job_keeps_the_quanta_it_finished(
    pg_repo: Butler, parsl_executor: ParslExecutor, tmp_path: Path
) -> None:
    graph = make_graph(
        pg_repo, "a/run", once_on=[(11, 0)], once_kill=True, once_marker=str(tmp_path / "m")
    )
    settings = ExecutionSettings(cluster_by=("detector",), retries=1)
    report = execute(pg_repo, graph, parsl_executor, settings)
    assert report.ok
    attempts = _attempts(pg_repo, "a/run")
    # Detector 0's job ran 9, 10, then died in 11: 9 and 10 were salvaged from its partial
    # results, 11 and 12 were retried; detector 1's job was untouched.
    assert attempts == {
        (9, 0): 1, (10, 0): 1, (11, 0): 2, (12, 0): 2,
        (9, 1): 1, (10, 1): 1, (11, 1): 1, (12, 1): 1,
    }  # fmt: skip
    assert pg_repo.verify().ok


def test_parsl_refuses_a_timeout(sqlite_repo: Butler, parsl_executor: ParslExecutor) -> None:
    graph = make_graph(sqlite_repo, "a/run")
    with pytest.raises(ConfigError, match="cannot stop a quantum over its time limit"):
        execute(sqlite_repo, graph, parsl_executor, ExecutionSettings(timeout=5))
