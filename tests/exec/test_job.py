"""Jobs and results travel as JSON; a job made from a graph runs from its JSON alone."""

from __future__ import annotations

import json

import numpy as np

from exec.conftest import make_graph, raw_value
from quanta.butler import Butler
from quanta.exec import QuantumJob, QuantumResult, run_job
from quanta.exec.factory import JobFactory
from quanta.exec.job import RefSpec


def _factory(butler: Butler, **config) -> JobFactory:
    graph = make_graph(butler, "out/run", **config)
    return JobFactory(butler, graph, graph.header.pipeline)


def test_a_job_runs_from_its_json_and_its_result_round_trips(sqlite_repo: Butler) -> None:
    planned = _factory(sqlite_repo).make(0)
    text = json.dumps(planned.job.to_json())
    job = QuantumJob.from_json(json.loads(text))
    assert job == planned.job
    (raw,) = next(c for c in job.connections if c.name == "raw").refs
    assert raw.file is not None and raw.run == "raw"

    result = run_job(job)
    assert result.status == "done" and result.message is None
    assert {f.dataset_id.bytes for f in result.outputs} == set(planned.outputs)
    again = QuantumResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result
    calexp = next(f for f in result.outputs if f.path.startswith("out/run/calexpLike/"))
    exposure, detector = job.values[2], job.values[1]
    np.testing.assert_array_equal(
        sqlite_repo.datastore.read(calexp), raw_value(exposure, detector) * 2 + 1
    )
    assert sqlite_repo.registry.find_collection("out/run") is None  # workers never register


def test_a_failing_job_leaves_no_files(sqlite_repo: Butler) -> None:
    factory = _factory(sqlite_repo, fail_on=[(e, d) for e in range(9, 13) for d in (0, 1)])
    planned = factory.make(0)
    result = run_job(planned.job)
    assert result.status == "failed" and result.outputs == []
    assert result.message.startswith("RuntimeError: injected failure")
    assert "Traceback" in result.traceback
    assert result.logs[0]["message"].startswith("scaling exposure")
    assert not any((sqlite_repo.root / "out").rglob("*.npy"))


def test_an_input_in_one_hdu_of_a_shared_file_keeps_its_hdu_through_json() -> None:
    spec = RefSpec("ab" * 16, "raw", (1, 2), (), ("raw/e.fits", "RawImage", "c0ffee", 10, 3))
    again = RefSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec and again.file is not None and again.file[4] == 3
