"""Photon Transfer Curve, second step: fit every amplifier's curve from all its pairs.

``solve_detector`` turns the pair tables of one detector into the ``ptc`` dataset: per
amplifier the fitted gain (e-/ADU), read noise (e-), brighter-fatter ``a00`` (1/e-),
turnoff (ADU), their errors, and the pairs' means and variances with which of them the
fit used. Three tasks call it:

- ``PtcSolveTask`` gathers the ``ptcPair`` tables of task-defined pairs (option B3);
- ``PtcSolveGroupsTask`` gathers the ``ptcGroupPair`` tables of a group system (B1);
- ``PtcInlineTask`` (option A) reads every flat of a detector itself, pairs them in
  ``run`` by the same rule, measures each pair while only that pair is in memory, and
  fits, without per-pair outputs.

Each also writes ``ptcPlot``, a PNG of the curves and their residuals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from ..core.image import Image
from ..core.pairing import Flat, flat_pairs
from ..pipe import Input, Output, PipelineTask, PipelineTaskConfig
from ..pipe import PipelineTaskConnections as Connections
from ..pipe.quantum_io import QuantumIO
from .algorithms.ptc import SolveOptions, fit_ptc
from .ptc_pairs import (
    DETECTOR,
    EXPOSURE,
    GROUP_DETECTOR,
    PairingConfig,
    PtcPairConfig,
    measure_exposure_pair,
)
from .ptc_plot import render_ptc

if TYPE_CHECKING:
    import pyarrow as pa


class PtcSolveConfig(PipelineTaskConfig):
    """How the curves are fitted."""

    model: Literal["astier", "polynomial"] = Field(
        "astier", description="Astier et al. (2019) eq. 16, or a quadratic polynomial."
    )
    reject_nsigma: float = Field(5.0, gt=0, description="Outlier rejection threshold (sigma).")
    reject_iter: int = Field(10, ge=1, description="Outlier rejection iterations.")
    turnoff: bool = Field(True, description="Detect the turnoff and fit below it only.")
    min_points: int = Field(5, ge=3, description="Fewest pairs an amplifier's fit needs.")

    def solve_options(self) -> SolveOptions:
        """The fit options of ``cp.algorithms.ptc``."""
        return SolveOptions(
            self.model, self.reject_nsigma, self.reject_iter, self.turnoff, self.min_points
        )


def solve_detector(
    tables: Sequence[pa.Table], instrument: str, detector: int, options: SolveOptions
) -> dict[str, Any]:
    """The ``ptc`` dataset of one detector from its pair tables (any order: points are
    sorted by mean, then pair name, so the result does not depend on it)."""
    import pyarrow as pa

    if not tables:
        raise ValueError(f"no pair measurements for detector {detector}")
    table = pa.concat_tables(tables).select(["amp", "pair", "mean", "variance"])
    columns = table.to_pydict()
    by_amp: dict[str, list[tuple[float, str, float]]] = {}
    for amp, pair, mean, variance in zip(*columns.values(), strict=True):
        by_amp.setdefault(amp, []).append((mean, pair, variance))
    amps = {}
    for amp in sorted(by_amp):
        points = sorted(by_amp[amp])
        means = np.array([p[0] for p in points])
        variances = np.array([p[2] for p in points])
        fit = fit_ptc(means, variances, options)
        amps[amp] = {
            **fit.to_dict(),
            "pairs": [p[1] for p in points],
            "means": means.tolist(),
            "variances": variances.tolist(),
        }
    return {"instrument": instrument, "detector": detector, "model": options.model, "amps": amps}


def curve_outputs(
    tables: Sequence[pa.Table], instrument: str, detector: int, options: SolveOptions
) -> dict[str, Any]:
    """The outputs every solving task writes: ``ptc`` and its ``plot``."""
    ptc = solve_detector(tables, instrument, detector, options)
    return {"ptc": ptc, "plot": render_ptc(ptc)}


def write_outputs(qio: QuantumIO, outputs: Mapping[str, Any]) -> None:
    """Put every output ``run`` returned, by connection name."""
    for name, value in outputs.items():
        qio.put(value, name)


class SolveTask(PipelineTask):
    """Fit and plot one detector's curves; subclasses say where the measurements come from."""

    ConfigClass = PtcSolveConfig
    config: PtcSolveConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Fit the quantum's pair tables; write ``ptc`` and ``ptcPlot``."""
        outputs = self.run(
            qio.get("pairs"), str(qio.data_id["instrument"]), int(qio.data_id["detector"])
        )
        write_outputs(qio, outputs)

    def run(  # type: ignore[override]
        self, pairs: Sequence[pa.Table], instrument: str, detector: int
    ) -> dict[str, Any]:
        """The ``ptc`` of one detector and its plot."""
        return curve_outputs(pairs, instrument, detector, self.config.solve_options())


class PtcSolveConnections(Connections, dimensions=DETECTOR):
    """Every ``ptcPair`` of a detector in; its curve and plot out."""

    pairs = Input("ptcPair", "ArrowTable", DETECTOR, doc="Pair measurements.", multiple=True)
    ptc = Output("ptc", "StructuredData", DETECTOR, doc="The fitted curves.")
    plot = Output("ptcPlot", "Plot", DETECTOR, doc="Curves and residuals, as PNG.")


class PtcSolveTask(SolveTask):
    """``ptcSolve`` over task-defined pairs (option B3)."""

    ConnectionsClass = PtcSolveConnections


class PtcSolveGroupsConnections(Connections, dimensions=DETECTOR):
    """Every ``ptcGroupPair`` of a detector in; its curve and plot out."""

    pairs = Input(
        "ptcGroupPair", "ArrowTable", GROUP_DETECTOR, doc="Pair measurements.", multiple=True
    )
    ptc = Output("ptc", "StructuredData", DETECTOR, doc="The fitted curves.")
    plot = Output("ptcPlot", "Plot", DETECTOR, doc="Curves and residuals, as PNG.")


class PtcSolveGroupsTask(SolveTask):
    """``ptcSolve`` over the groups of a group system (option B1)."""

    ConnectionsClass = PtcSolveGroupsConnections


# -- option A: pairing inside one task -------------------------------------------------------


class PtcInlineConfig(PtcPairConfig, PtcSolveConfig, PairingConfig):
    """Pair measurement and fit options, and how ``run`` pairs the flats."""

    exposure_time_key: str = Field("EXPTIME", description="Header keyword of the exposure time.")
    day_obs_key: str = Field("DAYOBS", description="Header keyword of the night (YYYYMMDD).")


class PtcInlineConnections(Connections, dimensions=DETECTOR):
    """Every ISR'd flat of a detector in (deferred); its curve and plot out."""

    inputs = Input(
        "postISRCCD",
        "Image",
        EXPOSURE,
        doc="ISR'd flats in ADU, read a pair at a time.",
        multiple=True,
        defer_load=True,
    )
    ptc = Output("ptc", "StructuredData", DETECTOR, doc="The fitted curves.")
    plot = Output("ptcPlot", "Plot", DETECTOR, doc="Curves and residuals, as PNG.")


class PtcInlineTask(PipelineTask):
    """The whole curve of one detector in one quantum (option A): pairs made in ``run``."""

    ConfigClass = PtcInlineConfig
    ConnectionsClass = PtcInlineConnections
    config: PtcInlineConfig

    def run_quantum(self, qio: QuantumIO) -> None:
        """Pair and measure the deferred flats, fit, write."""
        exposures = [int(ref.data_id["exposure"]) for ref in qio.refs("inputs")]
        handles = dict(zip(exposures, qio.get("inputs"), strict=True))
        write_outputs(
            qio, self.run(handles, str(qio.data_id["instrument"]), int(qio.data_id["detector"]))
        )

    def run(  # type: ignore[override]
        self, flats: Mapping[int, Any], instrument: str, detector: int
    ) -> dict[str, Any]:
        """Pair ``flats`` (exposure id -> deferred handle or ``Image``) by their headers,
        measure each pair with only its two images in memory, and fit."""
        pairs = flat_pairs([self._flat(exposure, f) for exposure, f in flats.items()])
        for left in pairs.left_out:
            self.log.info("exposure %d left out: %s", left.exposure, left.reason)
        options, bits = self.config.pair_options(), self.config.bad_bits()
        tables = [
            measure_exposure_pair(_whole(flats[a]), _whole(flats[b]), (a, b), options, bits)
            for a, b in pairs.pairs
        ]
        return curve_outputs(tables, instrument, detector, self.config.solve_options())

    def _flat(self, exposure: int, flat: Any) -> Flat:
        """What the pair rule needs of a flat, from its header alone."""
        header = flat.header if isinstance(flat, Image) else flat.get(rows=(0, 0)).header
        try:
            day_obs = int(header[self.config.day_obs_key])
            exposure_time = float(header[self.config.exposure_time_key])
        except KeyError as err:
            raise ValueError(f"flat {exposure} has no {err.args[0]} header keyword") from None
        return Flat(exposure, day_obs, exposure_time)


def _whole(flat: Any) -> Any:
    """The whole image of a deferred handle (or the image itself)."""
    return flat if isinstance(flat, Image) else flat.get()
