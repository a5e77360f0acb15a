"""The process pool: the same bytes as inline, timeouts, and workers that die."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exec.conftest import DETECTORS, EXPOSURES, make_graph
from quanta.butler import Butler
from quanta.exec import ExecutionSettings, InlineExecutor, ProcessPoolExecutor, execute
from repo_data import INSTRUMENT


@pytest.fixture
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = ProcessPoolExecutor(2)
    yield executor
    executor.shutdown()


def _file_bytes(butler: Butler, run: str) -> dict[str, bytes]:
    """The bytes of every calexpLike and summary file of a run, by data ID."""
    result = {}
    for name in ("calexpLike", "summary"):
        for ref in butler.query_datasets(name, run):
            path = butler.datastore.path(butler._stored(ref))
            result[f"{name} {ref.data_id}"] = path.read_bytes()
    return result


def test_inline_and_two_processes_write_identical_files(
    sqlite_repo: Butler, pool: ProcessPoolExecutor
) -> None:
    inline = execute(sqlite_repo, make_graph(sqlite_repo, "a/run"), InlineExecutor())
    pooled = execute(sqlite_repo, make_graph(sqlite_repo, "b/run"), pool)
    assert inline.ok and pooled.ok
    first, second = _file_bytes(sqlite_repo, "a/run"), _file_bytes(sqlite_repo, "b/run")
    assert len(first) == len(EXPOSURES) * len(DETECTORS) + len(DETECTORS)
    assert first == second
    hosts = {r.host for r in sqlite_repo.registry.query_quanta("b/run")}
    assert hosts and None not in hosts


def test_timeout_kills_a_sleeping_quantum(sqlite_repo: Butler, pool: ProcessPoolExecutor) -> None:
    graph = make_graph(sqlite_repo, "out/run", sleep_on=[(12, 1)])
    report = execute(sqlite_repo, graph, pool, ExecutionSettings(timeout=5))
    (failure,) = report.failures
    assert "exposure=12" in failure.data_id and failure.message == "timed out after 5 s"
    assert report.counts["calexp"]["done"] == 7
    assert report.counts["summary"]["done"] == 1 and report.counts["summary"]["blocked"] == 1
    assert sqlite_repo.exists("summary", instrument=INSTRUMENT, detector=0, collections="out")


def test_killed_worker_fails_the_quantum_and_a_retry_succeeds(
    sqlite_repo: Butler, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    once = {"once_on": [(9, 0)], "once_kill": True}
    graph = make_graph(sqlite_repo, "out/a", once_marker=str(tmp_path / "a"), **once)
    report = execute(sqlite_repo, graph, pool)
    (failure,) = report.failures
    assert failure.message == "worker process died (killed by SIGKILL)"
    assert report.counts["calexp"]["done"] == 7

    graph = make_graph(sqlite_repo, "out/b", once_marker=str(tmp_path / "b"), **once)
    report = execute(sqlite_repo, graph, pool, ExecutionSettings(retries=1))
    assert report.ok
    (record,) = [r for r in sqlite_repo.registry.query_quanta("out/b") if r.attempts == 2]
    assert record.data_id == {"instrument": INSTRUMENT, "detector": 0, "exposure": 9}
    assert (tmp_path / "b").exists()
