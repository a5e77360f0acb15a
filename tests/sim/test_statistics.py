"""Noisy ``quick`` frames measured against truth.json, with the tolerances stated per test.

Each tolerance is a few standard errors of the estimate at the ``quick`` size (64 x 48
imaging pixels per amplifier, 8 amplifiers), and far tighter than what a wrong gain,
swapped amplifier, missing noise term or missing brighter-fatter effect would give.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta.sim import SimulationSummary
from sim.raws import amp_section, exposures, load_truth


def amps(truth: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, float]]]:
    """(detector, amplifier name, amplifier truth) of every amplifier."""
    for detector, entry in truth["detectors"].items():
        for name, amp in entry["amps"].items():
            yield detector, name, amp


def stack(outdir: Path, records: list[dict[str, Any]], det: str, amp: str, key: str) -> np.ndarray:
    """One section of one amplifier from every listed exposure, stacked."""
    return np.stack([amp_section(outdir / r["files"][det], amp, key) for r in records])


def pair_statistics(
    outdir: Path, pair: list[dict[str, Any]], det: str, amp: str
) -> tuple[float, float, np.ndarray]:
    """Mean signal (ADU, overscan-subtracted, both flats) and the flat difference image."""
    images = [
        amp_section(outdir / r["files"][det], amp, "DATASEC")
        - amp_section(outdir / r["files"][det], amp, "BIASSEC").mean()
        for r in pair
    ]
    difference = images[0] - images[1]
    return float(np.mean(images)), float(difference.var()), difference


def poisson_ratio(mean: float, variance: float, amp: dict[str, float]) -> float:
    """Flat-pair difference variance over its Poisson expectation, read noise removed.

    ``Var(F1 - F2) = 2 mean / g + 2 (read_noise / g)^2 + 2 / 12`` (rounding) without
    brighter-fatter; this returns ``(Var - 2 (rn/g)^2 - 1/6) / (2 mean / g)``.
    """
    gain, noise = amp["gain"], amp["read_noise"]
    return (variance - 2 * (noise / gain) ** 2 - 1 / 6) / (2 * mean / gain)


def test_bias_level_and_read_noise(quick: SimulationSummary) -> None:
    """Overscan and imaging mean within 0.5 ADU of bias_level; overscan std within 5% of
    read_noise / gain (7,680 overscan pixels per amplifier: the mean is good to ~0.1 ADU,
    the std to ~1%, and rounding to integers adds under 1%)."""
    truth = load_truth(quick.outdir)
    biases = exposures(truth, "bias")
    for det, name, amp in amps(truth):
        overscan = stack(quick.outdir, biases, det, name, "BIASSEC")
        imaging = stack(quick.outdir, biases, det, name, "DATASEC")
        assert abs(overscan.mean() - amp["bias_level"]) < 0.5, (det, name)
        assert abs(imaging.mean() - amp["bias_level"]) < 0.5, (det, name)
        assert overscan.std() == pytest.approx(amp["read_noise"] / amp["gain"], rel=0.05)


def test_dark_current(quick: SimulationSummary) -> None:
    """(mean dark - mean bias) * gain / DARKTIME within 5% of dark_current per amplifier
    (5 darks of 100 s and 5 biases: 10-30 e- of signal known to ~0.1 e-)."""
    truth = load_truth(quick.outdir)
    biases, darks = exposures(truth, "bias"), exposures(truth, "dark")
    for det, name, amp in amps(truth):
        dark = stack(quick.outdir, darks, det, name, "DATASEC").mean()
        bias = stack(quick.outdir, biases, det, name, "DATASEC").mean()
        per_second = (dark - bias) * amp["gain"] / darks[0]["darktime"]
        assert per_second == pytest.approx(amp["dark_current"], rel=0.05), (det, name)


def test_low_signal_flat_pair_variance_is_poisson(quick: SimulationSummary) -> None:
    """At ~1,000 e- (brighter-fatter: 0.2%) Var(F1 - F2) = 2 mu / g: the mean ratio over the 8
    amplifiers within 3% of 1 (its standard error is 0.9%), each amplifier within 10%."""
    truth = load_truth(quick.outdir)
    pair = exposures(truth, "flat")[:2]
    ratios = []
    for det, name, amp in amps(truth):
        mean, variance, _ = pair_statistics(quick.outdir, pair, det, name)
        ratios.append(poisson_ratio(mean, variance, amp))
        assert ratios[-1] == pytest.approx(1.0, abs=0.10), (det, name)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.03)


def test_high_signal_flat_pair_variance_shows_brighter_fatter(quick: SimulationSummary) -> None:
    """At ~80,000 e- the variance falls 10-20% below Poisson, as Astier et al. (2019) eq. 16
    predicts from a00: ``C00 = (exp(2 a00 mu g) - 1) / (2 a00 g^2)`` (ADU). The mean ratio
    to Poisson is below 0.93; the ratio to eq. 16 is within 3% of 1 on average (standard
    error 0.9%) and within 10% per amplifier."""
    truth = load_truth(quick.outdir)
    pair = exposures(truth, "flat")[-2:]
    to_poisson, to_astier = [], []
    for det, name, amp in amps(truth):
        mean, variance, _ = pair_statistics(quick.outdir, pair, det, name)
        gain, a00 = amp["gain"], amp["a00"]
        astier = math.expm1(2 * a00 * mean * gain) / (2 * a00 * gain**2)
        to_poisson.append(poisson_ratio(mean, variance, amp))
        to_astier.append(poisson_ratio(mean, variance, amp) * mean / gain / astier)
        assert to_astier[-1] == pytest.approx(1.0, abs=0.10), (det, name)
    assert np.mean(to_poisson) < 0.93
    assert np.mean(to_astier) == pytest.approx(1.0, abs=0.03)


def test_high_signal_flats_have_nearest_neighbour_covariance(quick: SimulationSummary) -> None:
    """Brighter-fatter correlates neighbours: Cov(x, x+1) of a flat ≈ -a00 mu^2 / 4 (e-^2,
    the sum rule a01 = -a00 / 4, first order). Averaged over both axes and 8 amplifiers the
    measured/predicted ratio is within 30% of 1 (standard error ~10%); at low signal
    there is no correlation (|ratio of covariance to variance| < 3%)."""
    truth = load_truth(quick.outdir)
    flats = exposures(truth, "flat")
    ratios, low = [], []
    for det, name, amp in amps(truth):
        gain = amp["gain"]
        mean, _, diff = pair_statistics(quick.outdir, flats[-2:], det, name)
        diff = (diff - diff.mean()) * gain  # electrons; the pair holds twice one flat's noise
        predicted = -amp["a00"] * (mean * gain) ** 2 / 4
        for lagged in ((diff[:, :-1], diff[:, 1:]), (diff[:-1, :], diff[1:, :])):
            ratios.append(np.mean(lagged[0] * lagged[1]) / 2 / predicted)
        _, _, diff = pair_statistics(quick.outdir, flats[:2], det, name)
        diff = diff - diff.mean()
        low.append(np.mean(diff[:, :-1] * diff[:, 1:]) / diff.var())
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.30)
    assert abs(np.mean(low)) < 0.03
