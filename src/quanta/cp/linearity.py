"""The ``linearity`` calibration of one detector from its flat pairs' tables.

``LinearitySolveTask`` reads the ``ptcPair`` tables of a detector (each pair's mean signal
per amplifier, in ADU, and its exposure time), fits each amplifier's linearizer
(``cp.algorithms.linearity``) and writes ``linearity``, the calibration ISR applies with
``do_linearity: true`` once it is certified: ``{"amplifiers": {amp: {"polynomial": [0, 1,
d2, ...], ...}}}``. Pairs without a mean (saturated) are points without a value.
``LinearitySolveGroupsTask`` does the same from the ``ptcGroupPair`` tables of one group
system (option B1, pipeline ``cp_linearity_groups``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from ..pipe import Input, Output, PipelineTask, PipelineTaskConfig
from ..pipe import PipelineTaskConnections as Connections
from ..pipe.quantum_io import QuantumIO
from .algorithms.linearity import fit_linearity
from .algorithms.ptc_fit import json_value
from .ptc_pairs import DETECTOR, GROUP_DETECTOR
from .ptc_solve import GroupSystemConfig, OneGroupSystem

if TYPE_CHECKING:
    import pyarrow as pa


class LinearitySolveConfig(PipelineTaskConfig):
    """How the linearizers are fitted."""

    order: int = Field(3, ge=2, le=6, description="Degree of each amplifier's polynomial.")
    max_mean: float = Field(
        math.inf, gt=0, description="Highest mean signal (ADU) fitted: below saturation."
    )


def solve_linearity(
    tables: Sequence[pa.Table], instrument: str, detector: int, config: LinearitySolveConfig
) -> dict[str, Any]:
    """The ``linearity`` dataset of one detector from its pair tables; points in order of
    exposure time, then pair name, so the result does not depend on the tables' order."""
    import numpy as np
    import pyarrow as pa

    if not tables:
        raise ValueError(f"no pair measurements for detector {detector}")
    rows = pa.concat_tables(tables).select(["amp", "pair", "exposure_time", "mean"]).to_pylist()
    amps: dict[str, Any] = {}
    for amp in sorted({row["amp"] for row in rows}):
        points = sorted(
            (r for r in rows if r["amp"] == amp), key=lambda r: (r["exposure_time"], r["pair"])
        )
        times = np.array([p["exposure_time"] for p in points], dtype=float)
        means = np.array([math.nan if p["mean"] is None else p["mean"] for p in points])
        fit = fit_linearity(times, means, config.order, config.max_mean)
        amps[amp] = {
            "polynomial": list(fit.polynomial),
            "polynomial_err": list(fit.polynomial_err),
            "rate": fit.rate,
            "rate_err": fit.rate_err,
            "max_residual": fit.max_residual,
            "quality": fit.quality,
            "pairs": [p["pair"] for p in points],
            "exposure_times": times.tolist(),
            "means": [json_value(v) for v in means.tolist()],
            "used": fit.used.tolist(),
            "residuals": [json_value(v) for v in fit.residuals.tolist()],
        }
    return {
        "instrument": instrument,
        "detector": detector,
        "order": config.order,
        "amplifiers": amps,
    }


class LinearitySolveConnections(Connections, dimensions=DETECTOR):
    """Every ``ptcPair`` of a detector in; its ``linearity`` calibration out."""

    pairs = Input("ptcPair", "ArrowTable", DETECTOR, doc="Pair measurements.", multiple=True)
    linearity = Output(
        "linearity",
        "StructuredData",
        DETECTOR,
        doc="Per-amplifier linearizer polynomials, for ISR's do_linearity.",
        is_calibration=True,
    )


class LinearitySolveTask(PipelineTask):
    """``linearitySolve``: the linearizer of every amplifier of a detector."""

    ConfigClass = LinearitySolveConfig
    ConnectionsClass: ClassVar[type[Connections]] = LinearitySolveConnections
    config: LinearitySolveConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Fit the quantum's pair tables; write ``linearity``."""
        result = self.run(
            qio.get("pairs"), str(qio.data_id["instrument"]), int(qio.data_id["detector"])
        )
        qio.put(result, "linearity")

    def run(  # type: ignore[override]
        self, pairs: Sequence[pa.Table], instrument: str, detector: int
    ) -> dict[str, Any]:
        """The ``linearity`` of one detector."""
        return solve_linearity(pairs, instrument, detector, self.config)


class LinearitySolveGroupsConnections(Connections, dimensions=DETECTOR):
    """Every ``ptcGroupPair`` of a detector in; its ``linearity`` calibration out."""

    pairs = Input(
        "ptcGroupPair", "ArrowTable", GROUP_DETECTOR, doc="Pair measurements.", multiple=True
    )
    linearity = Output(
        "linearity",
        "StructuredData",
        DETECTOR,
        doc="Per-amplifier linearizer polynomials, for ISR's do_linearity.",
        is_calibration=True,
    )


class LinearitySolveGroupsConfig(LinearitySolveConfig, GroupSystemConfig):
    """The fit, and the one group system whose pairs it uses."""


class LinearitySolveGroupsTask(OneGroupSystem, LinearitySolveTask):
    """``linearitySolve`` over the groups of one group system (option B1)."""

    ConfigClass = LinearitySolveGroupsConfig
    ConnectionsClass = LinearitySolveGroupsConnections
    config: LinearitySolveGroupsConfig
    solve_label = "linearitySolve"
