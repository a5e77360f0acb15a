"""The linearizer from a flat series, against simulated truth: the algorithm on exact
means, then the whole path on a ``quick`` simulation with non-linear amplifiers (ISR,
pairs, ``linearitySolve``, certification, and ISR applying it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core import Timespan
from quanta.cp.algorithms.linearity import fit_linearity
from quanta.cp.linearity import LinearitySolveConfig, solve_linearity
from quanta.demo import CALIB, RAW, certify_masters
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.planning import RunRequest
from quanta.instruments import get_instrument
from quanta.instruments.ingest import ingest_raws
from quanta.sim import PRESETS, simulate

GAIN, C = 1.5, -2e-7  # e-/ADU; the quadratic term, 1/e-
TIMES = np.array([1.0, 4.0, 12.0, 30.0, 60.0, 85.0])
FLATS = "exposure.observation_type = 'flat'"
FOREVER = Timespan(None, None)


def bent_means(times: np.ndarray, coefficient: float = C) -> np.ndarray:
    """The mean ADU of flats of 1000 e-/s through a quadratic amplifier response."""
    q = 1000.0 * times
    return (q + coefficient * q**2) / GAIN


def test_the_linearizer_inverts_a_quadratic_response() -> None:
    """In ADU the response is A + c g A^2, whose inverse is A - c g A^2 + 2 (c g)^2 A^3 - ...:
    a cubic linearizer gives d2 within 0.2% and d3 within 5% of that series and leaves
    residuals below 1e-5 (the quadratic alone: d2 within 5%, residuals below 3e-4)."""
    cubic = fit_linearity(TIMES, bent_means(TIMES), order=3)
    cg = C * GAIN
    assert cubic.polynomial[:2] == (0.0, 1.0)
    assert cubic.polynomial[2] == pytest.approx(-cg, rel=0.002)
    assert cubic.polynomial[3] == pytest.approx(2 * cg**2, rel=0.05)
    assert cubic.rate == pytest.approx(1000.0 / GAIN, rel=1e-5)
    assert cubic.max_residual < 1e-5 and cubic.quality == "good"
    quadratic = fit_linearity(TIMES, bent_means(TIMES), order=2)
    assert quadratic.polynomial[2] == pytest.approx(-cg, rel=0.05)
    assert 1e-5 < quadratic.max_residual < 3e-4
    linear = fit_linearity(TIMES, bent_means(TIMES, 0.0), order=2)
    assert abs(linear.polynomial[2]) < 1e-15


def test_unusable_points_are_left_out_and_too_few_refused() -> None:
    means = bent_means(TIMES)
    means[2] = np.nan  # a saturated pair
    fit = fit_linearity(TIMES, means, order=2, max_mean=50_000.0)
    assert fit.used.tolist() == [True, True, False, True, True, False]
    assert np.isnan(fit.residuals[2])
    with pytest.raises(ValueError, match="only 4 usable flats for a linearizer of degree 3"):
        fit_linearity(TIMES, means, order=3, max_mean=50_000.0)
    with pytest.raises(ValueError, match="degree 1 corrects nothing"):
        fit_linearity(TIMES, means, order=1)


@dataclass
class Repo:
    """A repository of non-linear ``quick`` raws with masters certified, and the truth."""

    butler: Butler
    truth: dict[str, Any]

    def run(self, pipeline: str, output: str, overrides: list[tuple[str, str, Any]]) -> str:
        """Run ``pipeline`` on the flats into ``output``; the run's name."""
        request = RunRequest(output, pipeline, [RAW, CALIB], FLATS, overrides=overrides)
        report = run_pipeline(self.butler, request, ExecutionSettings(), 1)
        assert report.ok, report.failures
        return report.run


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("linearity")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PRESETS, "quick", replace(PRESETS["quick"], nonlinearity=2e-7))
        summary = simulate(root / "raws", preset="quick", detectors=1)
    butler = Butler.create(root / "repo")
    get_instrument("SimCam").register(butler)
    ingest_raws(butler, [root / "raws"])
    certify_masters(butler)
    return Repo(butler, json.loads(summary.truth_path.read_text()))


def test_the_certified_linearity_makes_isr_linear(repo: Repo) -> None:
    """Each amplifier's d2 within 10% of -nonlinearity x gain (its truth to first order;
    non-linearity ~1.7% at 85,000 e-; measured: 1-4.5% off with seed 0, six pairs of
    64 x 48 pixels); certified and applied by ISR, the flats' means are
    proportional to the exposure time: refitted, d2 is under 3% of what it was, and the
    signal per second of the 85 s and 30 s flats agrees to 3e-4 (it differed by ~1%;
    the photon noise of those means is ~6e-5)."""
    run = repo.run("cp_linearity", "u/test/linearity", [])
    before = repo.butler.get("linearity", instrument="SimCam", detector=0, collections=[run])
    assert isinstance(before, dict)
    amps = repo.truth["detectors"]["0"]["amps"]
    for amp, fit in before["amplifiers"].items():
        expected = -amps[amp]["nonlinearity"] * amps[amp]["gain"]
        assert fit["polynomial"][2] == pytest.approx(expected, rel=0.10), amp
        assert fit["quality"] == "good" and len(fit["pairs"]) == 6
    repo.butler.certify(CALIB, repo.butler.query_datasets("linearity", [run]), FOREVER)
    # ISR may not apply a linearity its own pipeline makes: the pairs come from ptc_pairs.
    linearized = repo.run("ptc_pairs", "u/test/linearized", [("isr", "do_linearity", "true")])
    tables = [repo.butler.get(ref) for ref in repo.butler.query_datasets("ptcPair", [linearized])]
    after = solve_linearity(tables, "SimCam", 0, LinearitySolveConfig())
    for amp, fit in after["amplifiers"].items():
        first = before["amplifiers"][amp]["polynomial"][2]
        assert abs(fit["polynomial"][2]) < 0.03 * abs(first), amp
        assert (
            abs(rate_ratio(fit) - 1) < 3e-4 < 5e-3 < abs(rate_ratio(before["amplifiers"][amp]) - 1)
        )


def rate_ratio(fit: dict[str, Any]) -> float:
    """The mean signal per second of the 85 s flats over that of the 30 s flats."""
    rate = {t: m / t for t, m in zip(fit["exposure_times"], fit["means"], strict=True)}
    return float(rate[85.0] / rate[30.0])
