"""The whole calibration flow on the DECam-like and LSST-like layouts, against truth.

``run_calibration_flow(layout=...)`` with the ``ptc`` preset (20 flat pairs from 100 e- to
85% of the full well, brighter-fatter on, a saturated pair and a half-lit one) at each
layout's default size: ``decam``, two
CCDs of two 200 x 400 amplifiers sharing one HDU, in one DECam-dialect file per
exposure, registered from the camera file the simulator wrote; ``lsst``, one detector of
16 amplifier HDUs of 200 x 400 with parallel overscan. ISR, the masters and the PTC run
unchanged; each flow runs once per module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from quanta.butler import Butler
from quanta.demo import FlowResult, calib_collection, raw_collection, run_calibration_flow

LAYOUTS = {"decam": "SimDECam", "lsst": "SimCam"}


@dataclass
class Flow:
    """One layout's flow, its repository and the truth of its simulation."""

    layout: str
    result: FlowResult
    butler: Butler
    truth: dict[str, Any]


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def flow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Flow:
    layout = request.param
    root = tmp_path_factory.mktemp(layout)
    result = run_calibration_flow(root, preset="ptc", processes=2, layout=layout)
    truth = json.loads((root / "raws" / "truth.json").read_text())
    return Flow(layout, result, Butler(result.repo), truth)


def test_every_amplifier_gain_and_noise_match_the_truth(flow: Flow) -> None:
    # Tolerances as SimCam's: gain 0.5%, read noise 2% from the overscan (5% from the
    # intercept). Each amplifier has 80,000 imaging pixels: the fit gives its gain to
    # ~0.2% and the intercept noise to ~1.5%; the overscan noise is known to ~0.2%.
    expected = {(int(det), amp) for det, d in flow.truth["detectors"].items() for amp in d["amps"]}
    assert {(a.detector, a.amp) for a in flow.result.amps} == expected
    assert len(expected) == {"decam": 2 * 2, "lsst": 16}[flow.layout]
    for amp in flow.result.amps:
        assert amp.gain == pytest.approx(amp.gain_truth, rel=0.005), amp
        assert amp.noise_overscan == pytest.approx(amp.noise_truth, rel=0.02), amp
        assert amp.noise == pytest.approx(amp.noise_truth, rel=0.05), amp
        assert amp.quality == "good", amp


def test_the_flow_ingested_every_raw_and_certified_every_master(flow: Flow) -> None:
    instrument = LAYOUTS[flow.layout]
    assert flow.result.instrument == instrument
    detectors = sorted(int(d) for d in flow.truth["detectors"])
    raws = flow.butler.query_datasets("raw", [raw_collection(instrument)])
    assert len(raws) == len(flow.truth["exposures"]) * len(detectors)
    assert {ref.data_id["instrument"] for ref in raws} == {instrument}
    for calibration in ("bias", "dark", "flat"):
        masters = flow.butler.query_datasets(calibration, [calib_collection(instrument)])
        assert sorted(int(ref.data_id["detector"]) for ref in masters) == detectors
    ptc = flow.butler.query_datasets("ptc", [flow.result.ptc_collection])
    assert sorted(int(ref.data_id["detector"]) for ref in ptc) == detectors
    assert len(flow.result.plots) == len(detectors)
    assert all(path.is_file() for path in flow.result.plots)


def test_each_amplifier_used_every_pair_below_the_turnoff(flow: Flow) -> None:
    for ref in flow.butler.query_datasets("ptc", [flow.result.ptc_collection]):
        curve = flow.butler.get(ref)
        assert isinstance(curve, dict)
        for fit in curve["amps"].values():
            assert len(fit["pairs"]) == 22 and fit["n_pairs_used"] >= 16
            assert fit["flags"].count("not measured") == 1
            assert sum(f.startswith("partly masked") for f in fit["pair_flags"]) == 1
