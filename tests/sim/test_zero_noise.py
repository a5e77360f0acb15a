"""Zero-noise frames against the model computed here from truth.json, and the pixel geometry.

The model is re-derived independently of ``quanta.sim.scene``: the expected electrons of
a pixel at detector position (y, x) are ``dark_current * DARKTIME + pattern(y, x) *
(signal + stars(y, x))``, and its ADU value ``electrons / gain + bias_level``. Raws are
read with astropy and assembled by DETSEC, so a wrong flip, a swapped amplifier or an
off-by-one section breaks the comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta.sim import PRESETS, SimulationSummary, flat_pattern, simulate
from sim.raws import amp_section, assemble, exposures, load_truth


def model_electrons(truth: dict[str, Any], record: dict[str, Any], det: str) -> np.ndarray:
    """The expected electrons of every pixel of one detector, computed on the full grid."""
    detector = truth["detectors"][det]
    shape = tuple(truth["camera"]["detector_shape"])
    illumination = np.full(shape, record["signal"])
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    for star in record.get("stars", {}).get(det, []):
        r2 = (x - star["x"]) ** 2 + (y - star["y"]) ** 2
        illumination += (
            star["flux"] / (2 * np.pi * star["sigma"] ** 2) * np.exp(-r2 / (2 * star["sigma"] ** 2))
        )
    electrons = flat_pattern(detector["flat"], shape) * illumination
    width, height = truth["camera"]["amp_width"], truth["camera"]["amp_height"]
    for name, amp in detector["amps"].items():
        row, column = int(name[1]), int(name[2:])
        region = np.s_[row * height : (row + 1) * height, column * width : (column + 1) * width]
        electrons[region] += amp["dark_current"] * record["darktime"]
    return electrons


def to_electrons(truth: dict[str, Any], det: str) -> Callable[[str, np.ndarray], np.ndarray]:
    """ADU of one amplifier's imaging pixels to electrons, by its true bias and gain."""
    amps = truth["detectors"][det]["amps"]
    return lambda name, adu: (adu - amps[name]["bias_level"]) * amps[name]["gain"]


def test_every_zero_noise_frame_recovers_the_model_electrons(zero: SimulationSummary) -> None:
    """ISR arithmetic ((ADU - bias) * gain) on float32 pixels gives the model electrons
    to float32 rounding: within 1e-6 relative plus 0.01 e- (ADU values reach ~1e5, whose
    float32 spacing is 0.008 ADU)."""
    truth = load_truth(zero.outdir)
    assert exposures(truth, "science")[0]["stars"]["1"], "science frames should hold stars"
    for record in truth["exposures"]:
        for det, name in record["files"].items():
            expected = model_electrons(truth, record, det)
            electrons = assemble(zero.outdir / name, to_electrons(truth, det))
            np.testing.assert_allclose(electrons, expected, rtol=1e-6, atol=0.01, err_msg=name)


def test_zero_noise_pixels_equal_the_model_adu_to_one_float32_step(zero: SimulationSummary) -> None:
    """Each pixel is the float32 nearest to ``electrons / gain + bias_level`` (at most one
    float32 step away, for float64 rounding differences); prescan and overscan hold the
    bias level exactly."""
    truth = load_truth(zero.outdir)
    record = exposures(truth, "science")[0]
    amps = truth["detectors"]["1"]["amps"]
    pixels = assemble(zero.outdir / record["files"]["1"], lambda _, adu: adu)
    expected = model_electrons(truth, record, "1")
    for name in amps:
        row, column = int(name[1]), int(name[2:])
        region = np.s_[row * 48 : (row + 1) * 48, column * 64 : (column + 1) * 64]
        expected[region] = expected[region] / amps[name]["gain"] + amps[name]["bias_level"]
        for section in ("BIASSEC", "PRESEC"):
            values = amp_section(zero.outdir / record["files"]["1"], name, section)
            assert (values == np.float32(amps[name]["bias_level"])).all()
    np.testing.assert_array_max_ulp(pixels.astype(np.float32), expected.astype(np.float32), 1)


def test_flat_pattern_lands_at_detsec_with_flips(zero: SimulationSummary) -> None:
    """A zero-noise flat, bias removed, gain applied, dark removed and divided by its signal,
    is ``flat_pattern`` at every detector pixel (to 1e-6). The pattern is asymmetric (off
    centre, with gradients), so un-flipped or misplaced amplifiers would differ by >1%."""
    truth = load_truth(zero.outdir)
    record = exposures(truth, "flat")[-1]
    shape = tuple(truth["camera"]["detector_shape"])
    for det, detector in truth["detectors"].items():
        electrons = assemble(zero.outdir / record["files"][det], to_electrons(truth, det))
        dark = model_electrons(truth, {**record, "signal": 0.0}, det)
        measured = (electrons - dark) / record["signal"]
        pattern = flat_pattern(detector["flat"], shape)
        np.testing.assert_allclose(measured, pattern, rtol=1e-6)
        assert np.abs(pattern - pattern[::-1, ::-1]).max() > 0.01
        assert np.abs(pattern - pattern[:, ::-1]).max() > 0.01


def test_a_nonlinear_amplifier_bends_the_zero_noise_flats_as_its_truth_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a preset's non-linearity on, every zero-noise flat is ``q + c q^2`` of the model
    electrons ``q`` (c each amplifier's ``nonlinearity``), which differs from ``q``."""
    bent = replace(PRESETS["quick"], nonlinearity=2e-7)
    monkeypatch.setitem(PRESETS, "quick", bent)
    summary = simulate(tmp_path, preset="quick", zero_noise=True, detectors=1)
    truth = load_truth(summary.outdir)
    amps = truth["detectors"]["0"]["amps"]
    assert all(-3e-7 <= amp["nonlinearity"] <= -1e-7 for amp in amps.values())
    record = exposures(truth, "flat")[-1]
    expected = model_electrons(truth, record, "0")
    electrons = assemble(summary.outdir / record["files"]["0"], to_electrons(truth, "0"))
    width, height = truth["camera"]["amp_width"], truth["camera"]["amp_height"]
    for name, amp in amps.items():
        row, column = int(name[1]), int(name[2:])
        region = np.s_[row * height : (row + 1) * height, column * width : (column + 1) * width]
        q = expected[region]
        bent_q = q + amp["nonlinearity"] * q**2
        np.testing.assert_allclose(electrons[region], bent_q, rtol=1e-6, atol=0.01)
        assert np.max(np.abs(bent_q - q)) > 100.0
