"""How many workers a quantum is given (``quanta.pipe.parallel``): one inline, the idle
pool workers for a quantum that starts alone, and a Parsl site's ``cores_per_quantum``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from exec.conftest import PIPELINE, make_graph, raw_value
from quanta.butler import Butler
from quanta.exec import InlineExecutor, ProcessPoolExecutor, execute
from quanta.exec.parsl_executor import ParslExecutor
from quanta.exec.sites import Site, load_site
from quanta.graph.builder import build_graph
from quanta.graph.model import QuantumGraph
from quanta.pipe.pipeline import Pipeline
from repo_data import INSTRUMENT


@pytest.fixture
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = ProcessPoolExecutor(2)
    yield executor
    executor.shutdown()


def _workers(butler: Butler, label: str, run: str) -> dict[str, int]:
    """The ``workers`` of each quantum of ``label``, from its metadata, by data ID."""
    return {
        str(ref.data_id): butler.get(ref)["workers"]
        for ref in butler.query_datasets(f"{label}_metadata", run)
    }


def test_inline_quanta_get_one_worker(sqlite_repo: Butler) -> None:
    report = execute(sqlite_repo, make_graph(sqlite_repo, "in/run"), InlineExecutor())
    assert report.ok
    assert set(_workers(sqlite_repo, "calexp", "in/run").values()) == {1}


def test_a_quantum_alone_borrows_the_idle_pool_workers(
    sqlite_repo: Butler, pool: ProcessPoolExecutor
) -> None:
    """On a fresh pool (its workers may still be starting), a graph of one quantum at a
    time gets both workers; then eight calexp quanta share them (the first two start
    while others wait, so they get one each)."""
    assert execute(sqlite_repo, _one_quantum_graph(sqlite_repo, "one/run"), pool).ok
    for label in ("calexp", "summary"):
        assert list(_workers(sqlite_repo, label, "one/run").values()) == [2]
    assert execute(sqlite_repo, make_graph(sqlite_repo, "many/run"), pool).ok
    assert 1 in _workers(sqlite_repo, "calexp", "many/run").values()


def test_a_pool_quantum_may_map_in_processes_of_its_own(
    sqlite_repo: Butler, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """Pool workers are not daemons, so a quantum's ``kind="processes"`` map can start
    its processes there."""
    yaml = tmp_path / "roots.yaml"
    yaml.write_text("tasks:\n  roots: exec.parallel_tasks.Roots\n")
    pipeline = Pipeline.load(yaml).resolve(sqlite_repo.universe)
    where = f"instrument = '{INSTRUMENT}' AND detector = 1 AND exposure = 10"
    graph = build_graph(sqlite_repo, pipeline, ["raw"], "roots/run", where=where)
    report = execute(sqlite_repo, graph, pool)
    assert report.ok, report.failures
    roots = sqlite_repo.get("rootsLike", instrument=INSTRUMENT, detector=1, exposure=10,
                            collections="roots/run")  # fmt: skip
    assert np.array_equal(roots, np.sqrt(raw_value(10, 1)))
    assert list(_workers(sqlite_repo, "roots", "roots/run").values()) == [2]


def test_parsl_quanta_get_the_sites_cores_per_quantum(
    sqlite_repo: Butler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[1]))
    local = load_site("local", 1).model_dump()
    executor = ParslExecutor(Site.model_validate({**local, "cores_per_quantum": 2}), tmp_path)
    try:
        assert execute(sqlite_repo, _one_quantum_graph(sqlite_repo, "parsl/run"), executor).ok
    finally:
        executor.shutdown()
    assert list(_workers(sqlite_repo, "calexp", "parsl/run").values()) == [2]


def _one_quantum_graph(butler: Butler, run: str) -> QuantumGraph:
    """One calexp quantum and its summary."""
    pipeline = Pipeline.load(PIPELINE).resolve(butler.universe)
    where = f"instrument = '{INSTRUMENT}' AND detector = 0 AND exposure = 9"
    graph = build_graph(butler, pipeline, ["raw"], run, where=where)
    assert len(graph) == 2
    return graph


def test_a_task_that_asks_for_two_cores_waits_for_both_pool_workers(
    sqlite_repo: Butler, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """Every calexp quantum gets both workers, so none runs beside another quantum."""
    yaml = tmp_path / "wide.yaml"
    yaml.write_text(f"imports: [{PIPELINE}]\ntasks:\n  calexp:\n    resources: {{cores: 2}}\n")
    graph = make_graph(sqlite_repo, "wide/run", pipeline_file=yaml)
    assert execute(sqlite_repo, graph, pool).ok
    assert set(_workers(sqlite_repo, "calexp", "wide/run").values()) == {2}
    spans = {
        label: [
            (meta["start_ns"], meta["end_ns"])
            for meta in map(
                sqlite_repo.get, sqlite_repo.query_datasets(f"{label}_metadata", "wide/run")
            )
        ]
        for label in ("calexp", "summary")
    }
    assert len(spans["calexp"]) == 8
    for start, end in spans["calexp"]:
        others = [s for s in spans["calexp"] + spans["summary"] if s != (start, end)]
        assert all(e <= start or s >= end for s, e in others)


def test_a_pool_quantum_forks_beside_its_workers_pipe_reader(
    sqlite_repo: Butler, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """A pool worker reads its pipe in a thread declared fork-safe, so a quantum given
    both workers runs a ``forked`` map in child processes, not in turn in its own."""
    yaml = tmp_path / "pids.yaml"
    yaml.write_text("tasks:\n  pids: exec.parallel_tasks.ForkedPids\n")
    pipeline = Pipeline.load(yaml).resolve(sqlite_repo.universe)
    where = f"instrument = '{INSTRUMENT}' AND detector = 1 AND exposure = 10"
    graph = build_graph(sqlite_repo, pipeline, ["raw"], "pids/run", where=where)
    assert execute(sqlite_repo, graph, pool).ok
    (ref,) = sqlite_repo.query_datasets("whereRan", "pids/run")
    where = sqlite_repo.get(ref)
    assert where["workers"] == 2
    assert where["pid"] not in where["items"]
