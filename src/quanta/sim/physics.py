"""The physics of SimCam as pure functions over arrays: illumination, stars, charge, readout.

Everything is in electrons until :func:`readout` converts to ADU. Coordinates are those
of the assembled detector image (rows ``y``, columns ``x``, 0-based, pixel centres at
integers); a region of it is a :class:`~quanta.core.raw.Section`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ..core.raw import AmpGeometry, Section

#: The flat-field pattern formula, with u, v in [-1, 1] across the detector's columns and rows.
FLAT_MODEL = (
    "(1 - vignetting * r2) * (1 + gradient_x * u + gradient_y * v), "
    "r2 = ((u - center_x)**2 + (v - center_y)**2) / 2, "
    "u = 2 * (x + 0.5) / columns - 1, v = 2 * (y + 0.5) / rows - 1"
)


@dataclass(frozen=True)
class FlatPattern:
    """A smooth flat field: radial vignetting (illumination) times a linear gradient (response).

    ``center_x``, ``center_y`` place the optical axis in normalised coordinates (-1 to 1
    across the detector); ``vignetting`` is the fractional loss at normalised radius 1
    (a corner, for a centred axis); ``gradient_x``, ``gradient_y`` are the fractional
    response change from the centre to the right and top edges. The pattern is 1 on the
    optical axis when the gradient is zero there; see ``FLAT_MODEL``.
    """

    center_x: float
    center_y: float
    vignetting: float
    gradient_x: float
    gradient_y: float

    def to_dict(self) -> dict[str, Any]:
        """The parameters, plus the formula, as stored in ``truth.json``."""
        return {**asdict(self), "model": FLAT_MODEL}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlatPattern:
        """Read the parameters back from a ``truth.json`` mapping (extra keys ignored)."""
        return cls(**{f.name: float(data[f.name]) for f in fields(cls)})


@dataclass(frozen=True)
class Star:
    """A Gaussian star: centre in detector pixels, total electrons, and PSF sigma in pixels."""

    x: float
    y: float
    flux: float
    sigma: float


def flat_pattern(params: FlatPattern | Mapping[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """The flat-field pattern over a whole assembled detector of ``shape`` (rows, columns).

    Tests compare a master flat to this, normalised the same way.
    """
    return pattern_section(params, shape, Section(0, shape[0], 0, shape[1]))


def pattern_section(
    params: FlatPattern | Mapping[str, Any], detector_shape: tuple[int, int], section: Section
) -> np.ndarray:
    """The flat-field pattern over one region of a detector, in detector orientation."""
    p = params if isinstance(params, FlatPattern) else FlatPattern.from_dict(params)
    rows, columns = detector_shape
    v = (2.0 * (np.arange(section.y0, section.y1) + 0.5) / rows - 1.0)[:, np.newaxis]
    u = (2.0 * (np.arange(section.x0, section.x1) + 0.5) / columns - 1.0)[np.newaxis, :]
    r2 = ((u - p.center_x) ** 2 + (v - p.center_y) ** 2) / 2.0
    return (1.0 - p.vignetting * r2) * (1.0 + p.gradient_x * u + p.gradient_y * v)


def render_stars(stars: Sequence[Star], section: Section) -> np.ndarray:
    """Electrons from ``stars`` falling in ``section``, each a Gaussian sampled at pixel centres.

    Stamps reach 6 sigma; a sampled Gaussian with sigma >= 1 pixel sums to its flux to
    far better than 1e-6, so the stars' electrons equal their fluxes (minus what falls
    outside the section).
    """
    image = np.zeros(section.shape)
    for star in stars:
        reach = math.ceil(6 * star.sigma)
        y0, y1 = max(section.y0, round(star.y) - reach), min(section.y1, round(star.y) + reach + 1)
        x0, x1 = max(section.x0, round(star.x) - reach), min(section.x1, round(star.x) + reach + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        gy = np.exp(-0.5 * ((np.arange(y0, y1) - star.y) / star.sigma) ** 2)
        gx = np.exp(-0.5 * ((np.arange(x0, x1) - star.x) / star.sigma) ** 2)
        norm = star.flux / (2.0 * math.pi * star.sigma**2)
        image[y0 - section.y0 : y1 - section.y0, x0 - section.x0 : x1 - section.x0] += norm * (
            gy[:, np.newaxis] * gx[np.newaxis, :]
        )
    return image


def astier_variance(mean: np.ndarray | float, a00: float) -> np.ndarray | float:
    """Pixel variance (e-^2) of a flat of ``mean`` electrons: Astier et al. 2019, eq. 16.

    ``(exp(2 a00 mean) - 1) / (2 a00)``, in electrons (gain 1, no read noise);
    ``mean`` itself when ``a00`` is 0. For a00 < 0 it falls below the Poisson variance:
    ``mean (1 + a00 mean + ...)``.
    """
    if a00 == 0:
        return mean
    return np.expm1(2.0 * a00 * np.asarray(mean)) / (2.0 * a00)


def bf_strength(mean: np.ndarray, a00: float) -> np.ndarray:
    """The exchange strength epsilon that makes :func:`brighter_fatter` follow Astier eq. 16.

    A pixel keeps ``1 + epsilon`` of its Poisson excess and gives ``-epsilon / 4`` to each
    of its four neighbours, so its variance becomes ``mean * ((1 + e)^2 + e^2 / 4)``.
    Solving ``(1 + e)^2 + e^2 / 4 = r`` with ``r = astier_variance(mean) / mean`` gives
    ``e = (sqrt(1.25 r - 0.25) - 1) / 1.25`` (about ``a00 * mean / 2``).
    """
    mean = np.asarray(mean, dtype=float)
    safe = np.where(mean > 0, mean, 1.0)
    ratio = np.where(mean > 0, astier_variance(safe, a00) / safe, 1.0)
    return (np.sqrt(np.maximum(1.25 * ratio - 0.25, 0.0)) - 1.0) / 1.25


def brighter_fatter(electrons: np.ndarray, expected: np.ndarray, a00: float) -> np.ndarray:
    """Redistribute each pixel's excess charge to its neighbours, as the brighter-fatter effect.

    A pixel with ``d = electrons - expected`` more electrons than expected pushes
    ``s * d`` electrons into each of its four neighbours (fewer at the edges), with
    ``s = -bf_strength(expected, a00) / 4``, and receives theirs. Every transfer is a
    move between two pixels, so the total charge is conserved exactly. For an interior
    pixel the variance follows Astier et al. (2019) eq. 16,
    ``C00 = (exp(2 a00 mu) - 1) / (2 a00)`` (see :func:`astier_variance`), and
    neighbouring pixels become positively correlated, ``C01 = -mu e (1 + e) / 2`` or
    about ``-a00 mu^2 / 4`` (the sum rule ``a01 = -a00 / 4`` for four neighbours).
    """
    share = -0.25 * bf_strength(expected, a00) * (electrons - expected)
    result = np.array(electrons, dtype=float)
    across = share[:, :-1] - share[:, 1:]
    result[:, :-1] -= across
    result[:, 1:] += across
    down = share[:-1, :] - share[1:, :]
    result[:-1, :] -= down
    result[1:, :] += down
    return result


def nonlinear(electrons: np.ndarray, coefficient: float) -> np.ndarray:
    """The electrons an amplifier with a quadratic response outputs for ``electrons``
    collected: ``q + coefficient * q^2`` (``electrons`` itself when the coefficient is 0)."""
    if coefficient == 0:
        return electrons
    return electrons + coefficient * np.square(electrons)


def readout_order(region: np.ndarray, detector: Section) -> np.ndarray:
    """The amplifier's view of a detector region: flipped along the axes it reads out reversed.

    Its own inverse: applied to the DATASEC pixels it gives the DETSEC region back.
    """
    return region[:: -1 if detector.flip_y else 1, :: -1 if detector.flip_x else 1]


def hdu_shape(geometry: AmpGeometry) -> tuple[int, int]:
    """Rows and columns of an amplifier's HDU: prescan, imaging and overscan pixels."""
    sections = [geometry.data, geometry.overscan]
    if geometry.prescan is not None:
        sections.append(geometry.prescan)
    return max(s.y1 for s in sections), max(s.x1 for s in sections)


def detector_shape(geometry: Sequence[AmpGeometry]) -> tuple[int, int]:
    """Rows and columns of the assembled detector image the amplifiers tile."""
    return max(g.detector.y1 for g in geometry), max(g.detector.x1 for g in geometry)


def readout(
    imaging: np.ndarray,
    geometry: AmpGeometry,
    gain: float,
    bias_level: float,
    saturation: float,
    read_noise: np.ndarray | None,
    shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """One amplifier's pixels in ADU from its imaging electrons (in detector orientation).

    The pixels are an array of ``shape`` (default ``hdu_shape(geometry)``; larger when the
    amplifier reads out rows of parallel overscan too). The electrons go to DATASEC in
    readout order; every other pixel holds none.
    ``read_noise`` (electrons, of that shape) is added to every pixel; then
    ``ADU = electrons / gain + bias_level``, clipped at ``saturation`` (the full well
    in ADU), rounded and stored as int32. Without read noise (zero-noise mode) nothing is
    rounded and the pixels are float32.
    """
    electrons = np.zeros(hdu_shape(geometry) if shape is None else shape)
    electrons[geometry.data.slices] = readout_order(imaging, geometry.detector)
    if read_noise is not None:
        electrons += read_noise
    adu = electrons  # converted in place: one HDU-sized buffer at a time
    adu /= gain
    adu += bias_level
    np.minimum(adu, saturation, out=adu)
    if read_noise is None:
        return adu.astype(np.float32)
    return np.rint(adu, out=adu).astype(np.int32)
