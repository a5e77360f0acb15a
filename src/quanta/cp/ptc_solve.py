"""Photon Transfer Curve, second step: fit every amplifier's curve from all its pairs.

``solve_detector`` (``ptc_curve``) turns the pair tables of one detector into the ``ptc``
dataset. Three tasks call it:

- ``PtcSolveTask`` gathers the ``ptcPair`` tables of task-defined pairs (option B3);
- ``PtcSolveGroupsTask`` gathers the ``ptcGroupPair`` tables of one group system (B1),
  and refuses, while the graph is built, pairs of any other system;
- ``PtcInlineTask`` (option A) reads every flat of a detector itself, pairs them in
  ``run`` by the same rule, measures each pair while only that pair is in memory, and
  fits, without per-pair outputs.

Each also writes ``ptcPlot``, a PNG of the curves and their residuals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ..core.errors import ConfigError
from ..core.image import Image
from ..core.pairing import Flat, flat_pairs, pair_name
from ..pipe import Input, Output, PipelineTask, PipelineTaskConfig, parallel
from ..pipe import PipelineTaskConnections as Connections
from ..pipe.quantum_io import QuantumIO
from .algorithms.ptc import PairOptions
from .algorithms.ptc_fit import SolveOptions
from .ptc_curve import solve_detector
from .ptc_pairs import (
    DETECTOR,
    EXPOSURE,
    GROUP_DETECTOR,
    PairingConfig,
    PtcPairConfig,
    measure_exposure_pair,
    read_pairs_file,
)
from .ptc_plot import render_ptc

if TYPE_CHECKING:
    import pyarrow as pa

    from ..core.data_id import DataCoordinate
    from ..core.refs import DatasetRef

#: What reading a flat and measuring a pair import on first use (``Workers.map``'s preload).
READERS = ("astropy.io.fits", "scipy.fft")
#: The key of ``min_mean`` and ``max_mean`` that applies to every amplifier not named.
EVERY_AMP = "*"


class PtcSolveConfig(PipelineTaskConfig):
    """How the curves are fitted."""

    model: Literal["astier", "polynomial", "full-covariance"] = Field(
        "astier",
        description="Astier et al. (2019) eq. 16, a quadratic polynomial, or full-covariance "
        "(eq. 20: a_ij, b_ij, n_ij and the gain from the covariances of every pair).",
    )
    cov_max_lag: int = Field(
        7, ge=0, description="The full covariance model fits lags 0..cov_max_lag in x and y."
    )
    reject_nsigma: float = Field(5.0, gt=0, description="Outlier rejection threshold (sigma).")
    reject_iter: int = Field(
        10, ge=1, description="Most fits of the outlier rejection (one point rejected per fit)."
    )
    turnoff: bool = Field(True, description="Detect the turnoff and fit below it only.")
    min_points: int = Field(5, ge=3, description="Fewest pairs an amplifier's fit needs.")
    min_mean: dict[str, float] = Field(
        default_factory=dict,
        description=f"Lowest mean (ADU) fitted, by amplifier name ('{EVERY_AMP}': the others).",
    )
    max_mean: dict[str, float] = Field(
        default_factory=dict,
        description=f"Highest mean (ADU) fitted, by amplifier name ('{EVERY_AMP}': the others).",
    )

    def solve_options(self, amp: str) -> SolveOptions:
        """The fit options of ``cp.algorithms.ptc_fit`` for one amplifier."""
        low = self.min_mean.get(amp, self.min_mean.get(EVERY_AMP, 0.0))
        high = self.max_mean.get(amp, self.max_mean.get(EVERY_AMP, math.inf))
        try:
            return SolveOptions(
                self.model,
                self.reject_nsigma,
                self.reject_iter,
                self.turnoff,
                self.min_points,
                low,
                high,
                self.cov_max_lag,
            )
        except ValueError as err:
            raise ConfigError(f"amplifier {amp!r}: {err}") from err


def curve_outputs(
    tables: Sequence[pa.Table], instrument: str, detector: int, config: PtcSolveConfig
) -> dict[str, Any]:
    """The outputs every solving task writes: ``ptc`` and its ``plot``."""
    ptc = solve_detector(tables, instrument, detector, config.solve_options)
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
        return curve_outputs(pairs, instrument, detector, self.config)


class PtcSolveConnections(Connections, dimensions=DETECTOR):
    """Every ``ptcPair`` of a detector in; its curve and plot out."""

    pairs = Input("ptcPair", "ArrowTable", DETECTOR, doc="Pair measurements.", multiple=True)
    ptc = Output("ptc", "StructuredData", DETECTOR, doc="The fitted curves.", is_calibration=True)
    plot = Output("ptcPlot", "Plot", DETECTOR, doc="Curves and residuals, as PNG.")


class PtcSolveTask(SolveTask):
    """``ptcSolve`` over task-defined pairs (option B3)."""

    ConnectionsClass = PtcSolveConnections


class PtcSolveGroupsConnections(Connections, dimensions=DETECTOR):
    """Every ``ptcGroupPair`` of a detector in; its curve and plot out."""

    pairs = Input(
        "ptcGroupPair", "ArrowTable", GROUP_DETECTOR, doc="Pair measurements.", multiple=True
    )
    ptc = Output("ptc", "StructuredData", DETECTOR, doc="The fitted curves.", is_calibration=True)
    plot = Output("ptcPlot", "Plot", DETECTOR, doc="Curves and residuals, as PNG.")


class GroupSystemConfig(PipelineTaskConfig):
    """The one group system whose pairs a fit over groups uses."""

    group_system: str | None = Field(
        None, description="The group system of the pairs; null: whichever one the graph has."
    )


class OneGroupSystem:
    """The graph-time hook of a fit over groups (option B1), whose ``pairs`` input must all
    come from one group system: two systems over the same flats would count every flat
    twice. ``solve_label`` names the fit in the error."""

    solve_label: ClassVar[str]

    @classmethod
    def adjust_quantum(
        cls,
        config: PipelineTaskConfig,
        data_id: DataCoordinate,
        inputs: dict[str, list[DatasetRef]],
    ) -> dict[str, list[DatasetRef]]:
        """Refuse pairs from several group systems, or from another than the configured one."""
        assert isinstance(config, GroupSystemConfig)
        refuse_other_systems(cls.solve_label, config.group_system, data_id, inputs.get("pairs", []))
        return inputs


class PtcSolveGroupsConfig(PtcSolveConfig, GroupSystemConfig):
    """The fit, and the one group system whose pairs it uses."""


class PtcSolveGroupsTask(OneGroupSystem, SolveTask):
    """``ptcSolve`` over the groups of one group system (option B1)."""

    ConfigClass = PtcSolveGroupsConfig
    ConnectionsClass = PtcSolveGroupsConnections
    config: PtcSolveGroupsConfig
    solve_label = "ptcSolve"


def refuse_other_systems(
    label: str, wanted: str | None, data_id: DataCoordinate, pairs: Sequence[DatasetRef]
) -> None:
    """Raise unless every pair of ``pairs`` is of one group system, ``wanted`` if given."""
    systems = sorted({str(ref.data_id["group_system"]) for ref in pairs})
    if len(systems) > 1 or (wanted is not None and systems and systems != [wanted]):
        named = " and ".join(repr(s) for s in systems)
        choose = wanted or systems[0]
        raise ConfigError(
            f"{label} of {data_id} would fit pairs of group systems {named}"
            + (f" (configured: {wanted!r})" if wanted is not None else "")
            + f"; one fit uses one system: select it with -d \"group.system = '{choose}'\""
        )


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
    ptc = Output("ptc", "StructuredData", DETECTOR, doc="The fitted curves.", is_calibration=True)
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
        """Pair ``flats`` (exposure id -> deferred handle or ``Image``) by their headers
        (or as the pairs file says), measure each pair, and fit."""
        return curve_outputs(self.measure(flats), instrument, detector, self.config)

    def measure(self, flats: Mapping[int, Any]) -> list[pa.Table]:
        """The ``ptcPair`` table of every pair, in pair order, measured on the quantum's
        workers (forked processes: reading a FITS file is mostly astropy parsing its
        headers in Python; as many pairs in memory as workers, each pair's amplifiers in
        turn)."""
        measure = partial(
            _measure_pair, options=self.config.pair_options(), bad_bits=self.config.bad_bits()
        )
        pairs = [(name, (a, flats[a]), (b, flats[b])) for name, a, b in self._pairs(flats)]
        return parallel.current().map(
            measure, pairs, kind="forked", label=lambda p: f"pair {p[0]}", preload=READERS
        )

    def _pairs(self, flats: Mapping[int, Any]) -> list[tuple[str, int, int]]:
        """(name, first, second) of every pair: from the pairs file, or the flat-pair rule
        on the flats' headers. The headers are read in turn: forking workers for them cost
        more than the fifth of a second the 44 headers of the ``ptc`` preset take."""
        if self.config.pairs_file is not None:
            return read_pairs_file(Path(self.config.pairs_file), set(flats))
        keys = (self.config.day_obs_key, self.config.exposure_time_key)
        values = _header_values(flats.values(), keys)
        records = [self._flat(e, found) for e, found in zip(flats, values, strict=True)]
        pairs = flat_pairs(records, self.config.tolerance)
        for left in pairs.left_out:
            self.log.info("exposure %d left out: %s", left.exposure, left.reason)
        return [(pair_name(a, b), a, b) for a, b in pairs.pairs]

    def _flat(self, exposure: int, values: Mapping[str, Any]) -> Flat:
        """What the pair rule needs of a flat, from its header's ``values`` (None: absent)."""
        missing = [key for key, value in values.items() if value is None]
        if missing:
            raise ValueError(f"flat {exposure} has no {missing[0]} header keyword")
        return Flat(
            exposure,
            int(values[self.config.day_obs_key]),
            float(values[self.config.exposure_time_key]),
        )


def _header_values(flats: Iterable[Any], keys: Sequence[str]) -> list[dict[str, Any]]:
    """The values of ``keys`` in each flat's header (None if absent), reading no pixels."""
    headers = (f.header if isinstance(f, Image) else f.get(rows=(0, 0)).header for f in flats)
    return [{key: header.get(key) for key in keys} for header in headers]


def _measure_pair(
    pair: tuple[str, tuple[int, Any], tuple[int, Any]], options: PairOptions, bad_bits: int
) -> pa.Table:
    """One pair's ``ptcPair`` table, its two flats read whole (a worker's map item)."""
    _, (a, first), (b, second) = pair
    return measure_exposure_pair(_whole(first), _whole(second), (a, b), options, bad_bits)


def _whole(flat: Any) -> Any:
    """The whole image of a deferred handle (or the image itself)."""
    return flat if isinstance(flat, Image) else flat.get()
