"""Building resolved pipelines from task classes, filling test repositories, and reading
parsed graph documents as ``json`` gives them."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from quanta.butler import Butler
from quanta.core import Timespan
from quanta.pipe.config import build_config
from quanta.pipe.resolved import ResolvedPipeline, TaskDef, connect
from quanta.pipe.task import PipelineTask
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT


def resolved(
    butler: Butler, *tasks: tuple[str, type[PipelineTask], dict[str, Any]]
) -> ResolvedPipeline:
    """A resolved pipeline of (label, class, config overrides)."""
    defs = []
    for label, task_class, overrides in tasks:
        config = build_config(task_class.ConfigClass, [overrides], label)
        connections = connect(label, task_class, config, butler.universe, label)
        path = f"{task_class.__module__}.{task_class.__qualname__}"
        defs.append(TaskDef(label, task_class, path, config, connections, "test"))
    return ResolvedPipeline.from_tasks(defs)


def put_raws(butler: Butler, exposures=EXPOSURES, detectors=DETECTORS) -> None:
    """One small raw per exposure and detector in RUN ``raw``."""
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    items = [
        (np.full(4, float(e * 10 + d)), {"instrument": INSTRUMENT, "detector": d, "exposure": e})
        for e in exposures
        for d in detectors
    ]
    butler.put_many(items, "raw", run="raw")


def certify_biases(butler: Butler, split_ns: int) -> None:
    """Biases valid before and after ``split_ns`` for every detector, in CALIBRATION ``calib``."""
    butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray", True)
    for run, span in (("calib/a", Timespan(None, split_ns)), ("calib/b", Timespan(split_ns, None))):
        refs = [
            butler.put(np.zeros(4), "bias", instrument=INSTRUMENT, detector=d, run=run)
            for d in DETECTORS
        ]
        butler.certify("calib", refs, span)


def as_lists(value: object) -> object:
    """A parsed document as ``json`` gives it: arrays as lists, IDs as base64."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "V":
        return base64.b64encode(value.tobytes()).decode("ascii")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_lists(v) for v in value]
    return value
