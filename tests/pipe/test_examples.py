"""The example tasks of the W1 workload: their ``run()`` numbers and their connections."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from quanta.core import DimensionUniverse
from quanta.core.errors import ConfigError
from quanta.pipe.config import build_config
from quanta.pipe.connections import resolve_connections
from quanta.pipe.examples import (
    BusyConfig,
    BusyTask,
    ScaleConfig,
    ScaleTask,
    SummaryTask,
)


def test_scale_task_defaults_give_w1_transform_and_keep_the_input() -> None:
    raw = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = ScaleTask().run(raw=raw)["calexp"]
    np.testing.assert_array_equal(out, np.array([[1, 3, 5], [7, 9, 11]], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(raw, np.arange(6).reshape(2, 3))


def test_scale_task_uses_its_config() -> None:
    task = ScaleTask(ScaleConfig(scale=-0.5, offset=10.0))
    out = task.run(raw=np.array([0.0, 2.0, 4.0]))["calexp"]
    np.testing.assert_allclose(out, [10.0, 9.0, 8.0])


def test_summary_task_counts_averages_means_and_takes_the_max() -> None:
    arrays = [np.full((2, 2), 1.0), np.array([[0.0, 4.0], [2.0, 2.0]]), np.full((3,), 6.0)]
    summary = SummaryTask().run(calexp=arrays)["summary"]
    assert summary == {"n_inputs": 3, "mean_of_means": 3.0, "max": 6.0}
    assert json.loads(json.dumps(summary)) == summary
    assert all(type(summary[k]) is float for k in ("mean_of_means", "max"))


def test_busy_task_takes_its_time_and_scales_like_scale_task() -> None:
    raw = np.linspace(0, 1, 16).reshape(4, 4)
    task = BusyTask(BusyConfig(work_ms=30, scale=3.0, offset=0.0))
    start = time.perf_counter()
    out = task.run(raw=raw)["calexp"]
    assert time.perf_counter() - start >= 0.03
    np.testing.assert_allclose(out, raw * 3.0)


def test_busy_config_refuses_negative_work() -> None:
    with pytest.raises(ConfigError, match="'work_ms'"):
        build_config(BusyConfig, [{"work_ms": -1}], "test")


def test_example_connections_fit_the_w1_flow() -> None:
    universe = DimensionUniverse.default()
    scale = resolve_connections("calexp", ScaleTask.ConnectionsClass, {}, universe)
    summary = resolve_connections("summary", SummaryTask.ConnectionsClass, {}, universe)
    assert scale.outputs["calexp"].dataset_type == summary.inputs["calexp"].dataset_type
    assert summary.inputs["calexp"].multiple
    assert summary.dimensions.required == ("instrument", "detector")
    assert summary.outputs["summary"].dataset_type.storage_class == "StructuredData"
    assert BusyTask.ConnectionsClass is ScaleTask.ConnectionsClass
