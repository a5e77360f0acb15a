"""The ``bfKernel`` calibration of one detector from the a_ij of its full-covariance PTC.

``BfKernelSolveTask`` (``bfKernelSolve``, pipeline ``cp_bfk``) reads a ``ptc`` fitted with
``model: full-covariance`` (a prerequisite: from a run's output or certified), averages
the a_ij of the amplifiers whose eq. 20 fit is good, each lag weighted by the inverse
square of its errors, and solves ``laplacian(K) = a`` for the kernel
(``cp.algorithms.bf_kernel``) that ISR's ``do_brighter_fatter`` applies once ``bfKernel``
is certified. With ``per_amp`` every such amplifier also gets the kernel of its own a_ij,
which ISR then applies to that amplifier's pixels.

``bfKernel`` is ``StructuredData`` (JSON), not ``NumpyArray``: the kernel is small (a few
hundred numbers) and travels with what it was made from (the a_ij and their errors, the
amplifiers used and left out, the ``ptc``'s lag range), which a bare array would lose::

    {"instrument": "SimCam", "detector": 0, "half_size": 9, "max_lag": 7,
     "amps": ["C00", ...], "left_out": {"C03": "why"}, "a": [[...]], "a_err": [[...]],
     "kernel": [[...]], "amplifiers": {"C00": {"a": [[...]], "kernel": [[...]]}}}

``kernel`` is ``2 half_size + 1`` square, centred, in 1/e- (it acts on electrons);
``amplifiers`` is there only with ``per_amp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from ..pipe import Output, PipelineTask, PipelineTaskConfig, PrerequisiteInput
from ..pipe import PipelineTaskConnections as Connections
from ..pipe.quantum_io import QuantumIO
from .algorithms.bf_kernel import average_a, solve_kernel
from .ptc_pairs import DETECTOR


class BfKernelSolveConfig(PipelineTaskConfig):
    """Which a_ij make the kernel, and how far it reaches."""

    max_lag: int | None = Field(
        None, ge=0, description="Use the a_ij of lags 0..max_lag (null: every lag fitted)."
    )
    pad: int = Field(
        2, ge=0, description="The kernel reaches this many lags beyond the a_ij (0 outside)."
    )
    per_amp: bool = Field(False, description="Also a kernel per amplifier from its own a_ij.")


def _lags(matrix: Any, lags: int) -> np.ndarray:
    """A stored ``[i][j]`` quadrant as an array over lags 0..``lags``-1 (null: NaN)."""
    values = np.array(
        [[np.nan if v is None else v for v in row] for row in matrix], dtype=np.float64
    )
    return values[:lags, :lags]


def solve_bf_kernel(ptc: Mapping[str, Any], config: BfKernelSolveConfig) -> dict[str, Any]:
    """The ``bfKernel`` dataset from a full-covariance ``ptc``; an amplifier without a good
    eq. 20 fit is left out (and said why), a PTC with none is an error."""
    fits: dict[str, Mapping[str, Any]] = {}
    left_out: dict[str, str] = {}
    for amp, entry in sorted(ptc.get("amps", {}).items()):
        cov_fit = entry.get("covariance_fit")
        if cov_fit is None:
            left_out[amp] = "no covariance_fit (fit the PTC with model: full-covariance)"
        elif cov_fit.get("quality") != "good":
            left_out[amp] = f"covariance fit not good: {cov_fit.get('quality')}"
        else:
            fits[amp] = cov_fit
    if not fits:
        raise ValueError(
            f"the PTC of detector {ptc.get('detector')} has no amplifier with a good "
            f"full-covariance fit: {left_out}"
        )
    fitted = min(int(f["max_lag"]) for f in fits.values())
    max_lag = fitted if config.max_lag is None else config.max_lag
    if max_lag > fitted:
        raise ValueError(f"max_lag {max_lag} is beyond the PTC's fitted lags (0..{fitted})")
    a_amps = np.stack([_lags(f["a"], max_lag + 1) for f in fits.values()])
    err_amps = np.stack([_lags(f["a_err"], max_lag + 1) for f in fits.values()])
    a, a_err = average_a(a_amps, err_amps)
    half = max_lag + config.pad
    result: dict[str, Any] = {
        "instrument": ptc.get("instrument"),
        "detector": ptc.get("detector"),
        "half_size": half,
        "max_lag": max_lag,
        "amps": list(fits),
        "left_out": left_out,
        "a": a.tolist(),
        "a_err": a_err.tolist(),
        "kernel": solve_kernel(a, half).tolist(),
    }
    if config.per_amp:
        result["amplifiers"] = {
            amp: {"a": own.tolist(), "kernel": solve_kernel(own, half).tolist()}
            for amp, own in zip(fits, a_amps, strict=True)
        }
    return result


class BfKernelSolveConnections(Connections, dimensions=DETECTOR):
    """A detector's full-covariance ``ptc`` in; its ``bfKernel`` calibration out."""

    ptc = PrerequisiteInput(
        "ptc",
        "StructuredData",
        DETECTOR,
        doc="A PTC fitted with model: full-covariance (a run's output or certified).",
        is_calibration=True,
    )
    kernel = Output(
        "bfKernel",
        "StructuredData",
        DETECTOR,
        doc="The brighter-fatter kernel, for ISR's do_brighter_fatter.",
        is_calibration=True,
    )


class BfKernelSolveTask(PipelineTask):
    """``bfKernelSolve``: the brighter-fatter kernel of a detector from its PTC."""

    ConfigClass = BfKernelSolveConfig
    ConnectionsClass = BfKernelSolveConnections
    config: BfKernelSolveConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Solve the quantum's PTC; write ``bfKernel``."""
        qio.put(self.run(qio.get("ptc")), "kernel")

    def run(self, ptc: Mapping[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        """The ``bfKernel`` of one detector."""
        return solve_bf_kernel(ptc, self.config)
