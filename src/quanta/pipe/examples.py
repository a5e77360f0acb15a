"""Example tasks of the W1 benchmark workload, shipped so workers can import them.

``ScaleTask`` turns each ``raw`` array into ``calexpLike = raw * scale + offset``;
``SummaryTask`` reduces every ``calexpLike`` of a detector to a small dict; ``BusyTask``
is ``ScaleTask`` plus a fixed amount of NumPy work, for throughput benchmarks. NumPy is
imported inside the methods, so importing this module stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .config import PipelineTaskConfig
from .connections import Input, Output, PipelineTaskConnections
from .task import PipelineTask

if TYPE_CHECKING:
    import numpy as np

EXPOSURE_DIMENSIONS = ("instrument", "detector", "exposure")
DETECTOR_DIMENSIONS = ("instrument", "detector")


class ScaleConnections(PipelineTaskConnections, dimensions=EXPOSURE_DIMENSIONS):
    """One raw in, one scaled array out, per exposure and detector."""

    raw = Input("raw", "NumpyArray", EXPOSURE_DIMENSIONS, doc="The raw frame.")
    calexp = Output("calexpLike", "NumpyArray", EXPOSURE_DIMENSIONS, doc="raw * scale + offset.")


class ScaleConfig(PipelineTaskConfig):
    """The linear transform of ``ScaleTask``."""

    scale: float = Field(default=2.0, description="Factor applied to every pixel.")
    offset: float = Field(default=1.0, description="Added after scaling.")


class ScaleTask(PipelineTask):
    """``calexpLike = raw * scale + offset``."""

    ConfigClass = ScaleConfig
    ConnectionsClass = ScaleConnections
    config: ScaleConfig

    def run(self, raw: np.ndarray) -> Mapping[str, Any]:  # type: ignore[override]
        """Scale and offset one array (a new array; the input is not changed)."""
        return {"calexp": raw * self.config.scale + self.config.offset}


class SummaryConnections(PipelineTaskConnections, dimensions=DETECTOR_DIMENSIONS):
    """Every scaled array of a detector in, one summary out."""

    calexp = Input(
        "calexpLike", "NumpyArray", EXPOSURE_DIMENSIONS, multiple=True, doc="Scaled arrays."
    )
    summary = Output("summary", "StructuredData", DETECTOR_DIMENSIONS, doc="Counts and stats.")


class SummaryTask(PipelineTask):
    """Summarize a detector's arrays: how many, the mean of their means, the maximum."""

    ConnectionsClass = SummaryConnections

    def run(self, calexp: Sequence[np.ndarray]) -> Mapping[str, Any]:  # type: ignore[override]
        """``{"n_inputs", "mean_of_means", "max"}`` as plain (JSON-ready) numbers."""
        import numpy as np

        means = [float(np.mean(array)) for array in calexp]
        return {
            "summary": {
                "n_inputs": len(means),
                "mean_of_means": float(np.mean(means)),
                "max": max(float(np.max(array)) for array in calexp),
            }
        }


class BusyConfig(ScaleConfig):
    """``ScaleConfig`` plus how long each quantum keeps a core busy."""

    work_ms: float = Field(default=50.0, ge=0, description="Milliseconds of NumPy work per run.")


class BusyTask(ScaleTask):
    """``ScaleTask`` that first does ``work_ms`` milliseconds of NumPy work, like a real step."""

    ConfigClass = BusyConfig
    config: BusyConfig

    def run(self, raw: np.ndarray) -> Mapping[str, Any]:  # type: ignore[override]
        """Burn CPU for ``work_ms``, then scale as ``ScaleTask`` does."""
        import numpy as np

        block = np.linspace(0.0, 1.0, 4096)
        deadline = time.perf_counter() + self.config.work_ms / 1000.0
        while time.perf_counter() < deadline:
            block = np.sqrt(block * block + 1.0) - 1.0
        return super().run(raw)
