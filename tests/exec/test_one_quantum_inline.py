"""``-j N`` on a graph of one quantum: the quantum runs in the driver's process with N
workers to map over, instead of in a pool whose processes it would wait for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quanta.butler import Butler
from quanta.exec import ExecutionSettings
from quanta.exec.executor_choice import INLINE, POOL, choose_executor
from quanta.exec.workflow import run_pipeline
from quanta.graph.planning import RunRequest
from repo_data import INSTRUMENT


def test_local_with_workers_names_inline_for_one_quantum() -> None:
    chosen = choose_executor(None, 3)
    assert chosen.name == POOL
    assert chosen.alone is not None
    assert (chosen.alone.name, chosen.alone.settings.model_dump()) == (INLINE, {"workers": 3})


@pytest.mark.parametrize(
    ("executor", "processes", "timeout"), [(None, 1, None), (None, 2, 5.0), ("pool", 2, None)]
)
def test_a_time_limit_or_a_chosen_pool_keeps_the_pool(
    executor: str | None, processes: int, timeout: float | None
) -> None:
    assert choose_executor(executor, processes, timeout).alone is None


@pytest.fixture
def pipeline(tmp_path: Path) -> str:
    yaml = tmp_path / "where.yaml"
    yaml.write_text("tasks:\n  where: exec.parallel_tasks.Where\n")
    return str(yaml)


def _where(butler: Butler, run: str) -> list[dict[str, int]]:
    return [butler.get(ref) for ref in butler.query_datasets("whereRan", run)]


def test_one_quantum_runs_in_the_driver_with_the_workers(
    sqlite_repo: Butler, pipeline: str
) -> None:
    where = f"instrument = '{INSTRUMENT}' AND detector = 1 AND exposure = 10"
    request = RunRequest("one", pipeline, ["raw"], where)
    report = run_pipeline(sqlite_repo, request, ExecutionSettings(), processes=2)
    assert report.ok
    assert _where(sqlite_repo, "one") == [{"pid": os.getpid(), "workers": 2}]


def test_several_quanta_run_in_the_pool(sqlite_repo: Butler, pipeline: str) -> None:
    where = f"instrument = '{INSTRUMENT}' AND detector = 1"
    request = RunRequest("many", pipeline, ["raw"], where)
    report = run_pipeline(sqlite_repo, request, ExecutionSettings(), processes=2)
    assert report.ok
    ran = _where(sqlite_repo, "many")
    assert len(ran) > 1
    assert os.getpid() not in {r["pid"] for r in ran}
