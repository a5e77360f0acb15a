"""What one amplifier collects during one exposure, in electrons, before readout.

The expected signal is ``dark_current * DARKTIME + pattern * illumination``, where the
illumination is the flat lamp (flats), the sky plus Gaussian stars (science frames) or
nothing (biases, darks), and ``pattern`` is the detector's flat-field pattern (the same
vignetting dims the sky and the stars). The collected charge is a Poisson draw of it;
flats then get the brighter-fatter redistribution (see ``physics.brighter_fatter``).
It models the statistics a Photon Transfer Curve measures, not the broadening of bright
stars. In zero-noise mode the expected signal itself is returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.raw import Section
from .physics import FlatPattern, Star, brighter_fatter, pattern_section, render_stars
from .schedule import HALF_LIT_BOOST, Exposure
from .truth import AmpTruth

#: Stars per science frame are between these many electrons, uniform in log.
STAR_FLUX_RANGE = (1e3, 1e5)
#: The seeing of a science frame (Gaussian sigma, pixels) is drawn in this range.
SIGMA_RANGE = (1.2, 2.0)


def draw_stars(rng: np.random.Generator, count: int, detector_shape: tuple[int, int]) -> list[Star]:
    """``count`` stars anywhere on a detector, sharing one seeing, fluxes uniform in log."""
    rows, columns = detector_shape
    sigma = float(rng.uniform(*SIGMA_RANGE))
    ys = rng.uniform(0, rows - 1, count)
    xs = rng.uniform(0, columns - 1, count)
    low, high = np.log10(STAR_FLUX_RANGE)
    fluxes = 10 ** rng.uniform(low, high, count)
    return [
        Star(float(x), float(y), float(f), sigma) for x, y, f in zip(xs, ys, fluxes, strict=True)
    ]


def expected_electrons(
    exposure: Exposure,
    amp: AmpTruth,
    flat: FlatPattern,
    detector_shape: tuple[int, int],
    section: Section,
    stars: Sequence[Star],
) -> np.ndarray:
    """The mean electrons per pixel of ``section`` (in detector orientation); for a
    half-lit flat, the right half of the section's columns get ``HALF_LIT_BOOST`` times
    the lamp."""
    dark = np.full(section.shape, amp.dark_current * exposure.darktime)
    if exposure.signal == 0 and not stars:
        return dark
    illumination = exposure.signal + render_stars(stars, section)
    if exposure.half_lit:
        illumination = np.broadcast_to(illumination, section.shape).copy()
        illumination[:, section.shape[1] // 2 :] *= HALF_LIT_BOOST
    return dark + pattern_section(flat, detector_shape, section) * illumination


def collected_electrons(
    exposure: Exposure, expected: np.ndarray, amp: AmpTruth, rng: np.random.Generator | None
) -> np.ndarray:
    """The charge actually collected: Poisson, then brighter-fatter for flats; exact if no rng.

    Where nothing is expected (biases) nothing is collected, and no random numbers are drawn.
    """
    if rng is None or (exposure.darktime == 0 and exposure.signal == 0):
        return expected
    electrons = rng.poisson(expected).astype(float)
    if exposure.imgtype == "flat":
        return brighter_fatter(electrons, expected, amp.a00)
    return electrons
