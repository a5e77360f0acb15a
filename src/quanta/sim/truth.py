"""The true parameters of every simulated detector and amplifier, drawn from the seed.

Each detector's parameters come from their own random stream (seed, detector), so a
detector's truth does not depend on how many detectors are simulated. ``truth.json``
stores them in electrons and ADU as documented in ``simulate``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .bf_truth import bf_coefficients
from .physics import FlatPattern

#: Electrons a pixel holds before the amplifier output saturates.
FULL_WELL = 100_000.0
#: Stream tag of the truth draws (the noise of each exposure uses another).
TRUTH_STREAM = 1
#: Stream tag of the non-linearity draws: a separate stream, so that turning the
#: non-linearity on changes no other parameter.
NONLINEARITY_STREAM = 4


@dataclass(frozen=True)
class AmpTruth:
    """One amplifier's true parameters.

    ``gain`` in e-/ADU, ``read_noise`` in electrons, ``bias_level`` in ADU,
    ``dark_current`` in e-/s/pixel, ``a00`` (1/e-, negative) the brighter-fatter
    coefficient of flats, ``full_well`` in electrons and ``saturation`` the ADU level
    at which the output clips (``floor(bias_level + full_well / gain)``, also the
    ``SATURATE`` header keyword). ``nonlinearity`` (1/e-, 0 unless the preset asks for
    it) is the quadratic term of the amplifier's response: it outputs
    ``q + nonlinearity * q^2`` electrons for ``q`` collected (``physics.nonlinear``).
    """

    gain: float
    read_noise: float
    bias_level: float
    dark_current: float
    a00: float
    full_well: float
    saturation: float
    nonlinearity: float = 0.0


@dataclass(frozen=True)
class DetectorTruth:
    """One detector's name, its amplifiers' truths in file order, and its flat-field pattern."""

    id: int
    name: str
    amps: dict[str, AmpTruth]
    flat: FlatPattern

    def to_dict(self) -> dict[str, Any]:
        """The ``truth.json`` entry of this detector; each amplifier also carries the true
        a_ij and b_ij of its brighter-fatter effect (``bf_truth``) as ``a`` and ``b``,
        nested lists indexed ``[i][j]``, i the lag along y (rows), j along x."""
        amps = {}
        for name, amp in self.amps.items():
            a, b = bf_coefficients(amp.a00)
            amps[name] = {**asdict(amp), "a": a.tolist(), "b": b.tolist()}
        return {"name": self.name, "amps": amps, "flat": self.flat.to_dict()}


def detector_name(detector: int) -> str:
    """The ``DETNAME`` of a SimCam detector: ``S00``, ``S01``, ..."""
    return f"S{detector:02d}"


def draw_amp(rng: np.random.Generator) -> AmpTruth:
    """Plausible parameters of a modern CCD amplifier, rounded so ``truth.json`` reads well."""
    gain = round(float(rng.uniform(1.2, 1.8)), 4)
    bias_level = round(float(rng.uniform(15_000.0, 25_000.0)), 2)
    return AmpTruth(
        gain=gain,
        read_noise=round(float(rng.uniform(4.0, 8.0)), 3),
        bias_level=bias_level,
        dark_current=round(float(rng.uniform(0.1, 0.3)), 4),
        a00=round(float(rng.uniform(-2.5e-6, -1.5e-6)), 9),
        full_well=FULL_WELL,
        saturation=float(math.floor(bias_level + FULL_WELL / gain)),
    )


def draw_flat(rng: np.random.Generator) -> FlatPattern:
    """A flat-field pattern with 10-20% vignetting and gradients of up to 4%."""
    return FlatPattern(
        center_x=round(float(rng.uniform(-0.2, 0.2)), 4),
        center_y=round(float(rng.uniform(-0.2, 0.2)), 4),
        vignetting=round(float(rng.uniform(0.10, 0.20)), 4),
        gradient_x=round(float(rng.uniform(-0.04, 0.04)), 4),
        gradient_y=round(float(rng.uniform(-0.04, 0.04)), 4),
    )


def draw_detector(
    seed: int, detector: int, name: str, amp_names: list[str], nonlinearity: float = 0.0
) -> DetectorTruth:
    """The truth of ``detector`` (called ``name``), from the stream (seed, TRUTH_STREAM,
    detector); amplifiers are drawn in the order of ``amp_names``. A ``nonlinearity``
    scale (1/e-) gives each amplifier a quadratic coefficient of ``-nonlinearity`` times
    0.5 to 1.5, drawn from the stream (seed, NONLINEARITY_STREAM, detector)."""
    rng = np.random.default_rng([seed, TRUTH_STREAM, detector])
    amps = {amp: draw_amp(rng) for amp in amp_names}
    if nonlinearity:
        factors = np.random.default_rng([seed, NONLINEARITY_STREAM, detector])
        amps = {
            amp: replace(
                truth, nonlinearity=float(f"{-nonlinearity * factors.uniform(0.5, 1.5):.4g}")
            )
            for amp, truth in amps.items()
        }
    return DetectorTruth(detector, name, amps, draw_flat(rng))
