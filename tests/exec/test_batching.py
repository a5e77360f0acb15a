"""Quanta sent to pool workers in batches: the same files and provenance as one at a time."""

from __future__ import annotations

import uuid
from typing import Any

from exec.conftest import DETECTORS, EXPOSURES, make_graph
from quanta.butler import Butler
from quanta.core.status import QuantumStatus
from quanta.exec import ExecutionSettings, ProcessPoolExecutor, execute
from quanta.exec.job import QuantumResult
from quanta.exec.pool_batch import MAX_SIZE, BatchSizer


def _run(butler: Butler, run: str, batch: int) -> None:
    """Execute the test graph into ``run`` on two workers that get ``batch`` quanta each."""
    graph = make_graph(butler, run, fail_on=[(11, 1)], no_work_on=[(10, 0)])
    pool = ProcessPoolExecutor(2, batch=batch)
    try:
        execute(butler, graph, pool, ExecutionSettings(retries=1))
    finally:
        pool.shutdown()


def _outputs(butler: Butler, run: str) -> tuple[dict[str, bytes], dict[uuid.UUID, str]]:
    """The bytes of every file of a run except logs and metadata (they hold times), by
    dataset type and data ID, and those names by dataset ID."""
    data, names = {}, {}
    for name in (t.name for t in butler.registry.query_dataset_types()):
        for ref in butler.query_datasets(name, run):
            key = f"{name} {ref.data_id}"
            names[ref.id] = key
            if not name.endswith(("_log", "_metadata")):
                data[key] = butler.datastore.path(butler._stored(ref)).read_bytes()
    return data, names


def _provenance(butler: Butler, run: str, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """Each quantum's recorded outcome, with what it wrote by name instead of ID."""
    records = butler.registry.query_quanta(run)
    written = butler.registry.quantum_outputs([r.id for r in records])
    return {
        f"{r.label} {r.data_id_key}": (
            r.status,
            r.attempts,
            r.error,
            sorted(names[i] for i in written.get(r.id, [])),
        )
        for r in records
    }


def test_batched_pool_matches_one_at_a_time(sqlite_repo: Butler) -> None:
    _run(sqlite_repo, "one/run", batch=1)
    _run(sqlite_repo, "many/run", batch=MAX_SIZE)
    one, one_names = _outputs(sqlite_repo, "one/run")
    many, many_names = _outputs(sqlite_repo, "many/run")
    assert one == many and len(one) >= len(EXPOSURES) * len(DETECTORS)
    first = _provenance(sqlite_repo, "one/run", one_names)
    assert first == _provenance(sqlite_repo, "many/run", many_names)
    statuses = [status for status, *_ in first.values()]
    assert statuses.count(QuantumStatus.FAILED) == 1
    assert statuses.count(QuantumStatus.BLOCKED) == 1
    assert statuses.count(QuantumStatus.NO_WORK) == 1


def test_batch_size_follows_quantum_duration() -> None:
    sizer = BatchSizer()
    assert sizer.size == 1
    sizer.observe([QuantumResult(0, QuantumStatus.DONE, start_ns=0, end_ns=1_000_000)])
    assert sizer.size == MAX_SIZE
    sizer.observe([QuantumResult(1, QuantumStatus.DONE, start_ns=0, end_ns=10**10)] * 20)
    assert sizer.size == 1
    assert BatchSizer(fixed=4).size == 4
