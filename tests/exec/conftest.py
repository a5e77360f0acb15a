"""Fixtures and helpers of the execution tests: a repository with raws and its graphs.

The repository holds ``raw`` arrays for detectors 0 and 1 and exposures 9 to 12 in RUN
``raw``; the pipeline (``scale_summary.yaml``) has 8 ``calexp`` quanta, one per raw,
and 2 ``summary`` quanta, one per detector reading its 4 ``calexpLike``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.exec.parsl_executor import ParslExecutor
from quanta.exec.sites import load_site
from quanta.graph.builder import build_graph
from quanta.graph.model import QuantumGraph
from quanta.pipe.pipeline import Pipeline
from repo_data import INSTRUMENT

PIPELINE = Path(__file__).with_name("scale_summary.yaml")
PAIRS_PIPELINE = Path(__file__).with_name("pairs.yaml")
DETECTORS = (0, 1)
EXPOSURES = (9, 10, 11, 12)


def raw_value(exposure: int, detector: int) -> np.ndarray:
    """The raw of one exposure and detector."""
    return np.arange(4, dtype=np.float64) + 10 * exposure + detector


def put_raws(butler: Butler) -> None:
    """Register ``raw`` and put one array per exposure and detector in RUN ``raw``."""
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.put_many(
        [
            (raw_value(e, d), {"instrument": INSTRUMENT, "detector": d, "exposure": e})
            for e in EXPOSURES
            for d in DETECTORS
        ],
        "raw",
        run="raw",
    )


def make_graph(
    butler: Butler, run: str, output: str = "out", pipeline_file: Path = PIPELINE, **calexp: Any
) -> QuantumGraph:
    """The graph of a test pipeline into ``run``, with config overrides of ``calexp``."""
    pipeline = Pipeline.load(pipeline_file).with_overrides(
        ("calexp", name, value) for name, value in calexp.items()
    )
    return build_graph(butler, pipeline.resolve(butler.universe), ["raw"], run, output)


@pytest.fixture
def repo(butler: Butler) -> Butler:
    """The test repository on each database backend."""
    put_raws(butler)
    return butler


@pytest.fixture
def sqlite_repo(sqlite_butler: Butler) -> Butler:
    """The test repository on SQLite only (for the slower process-pool tests)."""
    put_raws(sqlite_butler)
    return sqlite_butler


@pytest.fixture
def pg_repo(postgres_butler: Butler) -> Butler:
    """The test repository on PostgreSQL only (for the cluster tests)."""
    put_raws(postgres_butler)
    return postgres_butler


@pytest.fixture(scope="session")
def parsl_executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParslExecutor]:
    """A real local Parsl cluster of two workers, shared by the tests (it takes seconds to
    start). Its workers import this directory's task modules through PYTHONPATH."""
    tests = str(Path(__file__).parents[1])
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [tests, previous]))
    executor = ParslExecutor(load_site("local", 2), tmp_path_factory.mktemp("parsl"))
    yield executor
    executor.shutdown()
    if previous is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = previous
