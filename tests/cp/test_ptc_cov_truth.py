"""a_01 and a_10 within 15% of SimCam's truth with the full covariance model, through the
simulator, ISR and the ``ptc_pairs`` pipeline, on the ``ptc`` preset's night with one
amplifier of 800 x 800 pixels.

Why not the preset's own 200 x 200: with b_ij fitted, the smallest error any unbiased
fit of its 20 pairs can reach (the Cramer-Rao bound of eq. 20 over ~38,000 pixels per
pair) is 28% of a_01 (9% if b were known), and the fit reaches it: over 150 simulated
curves of that size a_01 / truth averages 0.99 +- 0.03 with a scatter of 33%, so there
is no bias to remove, only pixels to add. The error falls as one over the side of the
amplifier: 6-7% at 800 x 800, where 15% is more than twice it. At the preset's size the pipeline
test (``test_ptc_end_to_end``) holds a_01 and a_10 to 3 of the fit's own errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from quanta.butler import Butler
from quanta.core.timespan import Timespan
from quanta.demo import CALIB, RAW
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.planning import RunRequest
from quanta.instruments import get_instrument
from quanta.instruments.ingest import ingest_raws
from quanta.sim import simulate

SIDE = 800
FULL_COVARIANCE = (("ptcSolve", "model", "full-covariance"), ("ptcSolve", "cov_max_lag", "2"))


@dataclass
class Fitted:
    """The amplifier's PTC and its truth."""

    fit: dict[str, Any]
    truth: dict[str, Any]


def _run(
    butler: Butler, pipeline: str, inputs: list[str], where: str, overrides: tuple = ()
) -> str:
    request = RunRequest(f"u/test/{pipeline}", pipeline, inputs, where, overrides=overrides)
    report = run_pipeline(butler, request, ExecutionSettings(), 1)
    assert report.ok, report.failures
    return report.run


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    root = tmp_path_factory.mktemp("cov_truth")
    summary = simulate(root / "raws", preset="ptc", detectors=1, amps=1, amp_size=(SIDE, SIDE))
    butler = Butler.create(root / "repo")
    get_instrument("SimCam").register(butler)
    ingest_raws(butler, [root / "raws"])
    for calibration in ("bias", "dark"):
        inputs = [RAW] if calibration == "bias" else [RAW, CALIB]
        where = f"exposure.observation_type = '{calibration}'"
        run = _run(butler, f"cp_{calibration}", inputs, where)
        butler.certify(CALIB, butler.query_datasets(calibration, [run]), Timespan(None, None))
    flats = "exposure.observation_type = 'flat'"
    run = _run(butler, "ptc_pairs", [RAW, CALIB], flats, FULL_COVARIANCE)
    ptc = butler.get("ptc", instrument="SimCam", detector=0, collections=[run])
    truth = json.loads(summary.truth_path.read_text())["detectors"]["0"]["amps"]
    ((amp, fit),) = ptc["amps"].items()
    return Fitted(fit, truth[amp])


def test_a01_and_a10_are_within_15_percent_of_the_truth(fitted: Fitted) -> None:
    cov_fit, truth = fitted.fit["covariance_fit"], fitted.truth
    assert cov_fit["quality"] == "good" and fitted.fit["quality"] == "good"
    for i, j in ((0, 1), (1, 0)):
        true = truth["a"][i][j]
        assert cov_fit["a"][i][j] == pytest.approx(true, rel=0.15), (i, j)
        # The fit's own error is the bound's ~6%: 15% is not a lucky draw.
        assert cov_fit["a_err"][i][j] < 0.08 * abs(true), (i, j)


def test_a00_and_the_gain_match_the_truth(fitted: Fitted) -> None:
    """a00 within 10% (its error is ~3% here), the gain within 0.5%."""
    cov_fit, truth = fitted.fit["covariance_fit"], fitted.truth
    assert cov_fit["a"][0][0] == pytest.approx(truth["a"][0][0], rel=0.10)
    assert fitted.fit["gain"] == pytest.approx(truth["gain"], rel=0.005)
