"""The ``ptc`` preset's saturated pair and half-lit pair, read back from the raws: what
saturates is exactly what the truth says, so ISR masks it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from quanta.core.raw import Section
from quanta.sim import SimulationSummary, simulate
from quanta.sim.schedule import HALF_LIT_BOOST
from sim.raws import exposures, load_truth


@pytest.fixture(scope="module")
def small_ptc(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """The ``ptc`` night on one small detector (4 amplifiers of 24 x 16)."""
    return simulate(tmp_path_factory.mktemp("ptc"), "ptc", detectors=1, amp_size=(24, 16))


def _saturated(path: Path) -> dict[str, np.ndarray]:
    """Per amplifier, which DATASEC pixels sit at SATURATE, in detector orientation."""
    result = {}
    with fits.open(path) as hdus:
        for hdu in hdus[1:]:
            pixels = hdu.data[Section.parse(hdu.header["DATASEC"]).slices]
            detsec = Section.parse(hdu.header["DETSEC"])
            at = pixels >= hdu.header["SATURATE"]
            result[hdu.header["EXTNAME"]] = at[
                :: -1 if detsec.flip_y else 1, :: -1 if detsec.flip_x else 1
            ]
    return result


def test_the_ptc_night_ends_with_a_saturated_and_a_half_lit_pair(
    small_ptc: SimulationSummary,
) -> None:
    flats = exposures(load_truth(small_ptc.outdir), "flat")
    assert len(flats) == 2 * 22
    saturated, half_lit = flats[-4:-2], flats[-2:]
    assert [f["exptime"] for f in saturated] == [250.0, 250.0]
    assert [f["exptime"] for f in half_lit] == [25.0, 25.0]
    assert all(f["half_lit"] == HALF_LIT_BOOST for f in half_lit)
    assert not any("half_lit" in f for f in flats[:-2])
    assert len({f["group"] for f in half_lit}) == 1


def test_the_saturated_pair_saturates_every_pixel(small_ptc: SimulationSummary) -> None:
    flat = exposures(load_truth(small_ptc.outdir), "flat")[-4]
    for amp, at in _saturated(small_ptc.outdir / flat["files"]["0"]).items():
        assert at.all(), amp


def test_the_half_lit_pair_saturates_the_right_half_of_every_amplifier(
    small_ptc: SimulationSummary,
) -> None:
    flats = exposures(load_truth(small_ptc.outdir), "flat")
    for flat in flats[-2:]:
        for amp, at in _saturated(small_ptc.outdir / flat["files"]["0"]).items():
            half = at.shape[1] // 2
            assert at[:, half:].all() and not at[:, :half].any(), amp
    # The flat before them (85 s, ~85% of the full well) saturates nowhere.
    for amp, at in _saturated(small_ptc.outdir / flats[-6]["files"]["0"]).items():
        assert not at.any(), amp
