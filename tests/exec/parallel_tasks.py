"""A task of the execution tests that maps over its pixels in processes of its own.

Pool workers import this module as ``exec.parallel_tasks`` (see ``exec.tasks``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from quanta.pipe import (
    Input,
    Output,
    PipelineTask,
    PipelineTaskConfig,
    PipelineTaskConnections,
    parallel,
)

EXPOSURE = ("instrument", "detector", "exposure")


class RootsConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    roots = Output("rootsLike", "NumpyArray", EXPOSURE)


class Roots(PipelineTask):
    """``rootsLike = sqrt(raw)``, pixel by pixel on the quantum's workers, in processes."""

    ConfigClass = PipelineTaskConfig
    ConnectionsClass = RootsConnections

    def run(self, raw: np.ndarray) -> Mapping[str, Any]:  # type: ignore[override]
        roots = parallel.current().map(math.sqrt, raw.tolist(), kind="processes")
        return {"roots": np.array(roots)}


class WhereConnections(PipelineTaskConnections, dimensions=EXPOSURE):
    raw = Input("raw", "NumpyArray", EXPOSURE)
    where = Output("whereRan", "StructuredData", EXPOSURE)


class Where(PipelineTask):
    """The process a quantum ran in and the workers it was given."""

    ConfigClass = PipelineTaskConfig
    ConnectionsClass = WhereConnections

    def run(self, raw: np.ndarray) -> Mapping[str, Any]:  # type: ignore[override]
        return {"where": {"pid": os.getpid(), "workers": parallel.current().count}}


def _pid(_item: int) -> int:
    """The process an item ran in."""
    return os.getpid()


class ForkedPids(Where):
    """``Where``, with the processes a ``forked`` map ran its items in."""

    def run(self, raw: np.ndarray) -> Mapping[str, Any]:  # type: ignore[override]
        items = parallel.current().map(_pid, range(4), kind="forked")
        return {"where": {**super().run(raw)["where"], "items": items}}
