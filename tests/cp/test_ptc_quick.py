"""The PTC on the ``quick`` preset (6 pairs, the faintest at ~1000 e-): an intercept that
cannot pin the read noise is flagged, and the read noise comes from the overscan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quanta.butler import Butler
from quanta.demo import run_calibration_flow


def test_a_noise_the_curve_cannot_measure_is_flagged_and_the_overscan_used(
    tmp_path: Path,
) -> None:
    result = run_calibration_flow(tmp_path, design="inline", preset="quick", processes=2)
    truth = json.loads((tmp_path / "raws" / "truth.json").read_text())
    butler = Butler(result.repo)
    suspects = 0
    for ref in butler.query_datasets("ptc", [result.ptc_collection]):
        amps = truth["detectors"][str(ref.data_id["detector"])]["amps"]
        for amp, fit in butler.get(ref)["amps"].items():
            # Seed 0 puts some intercepts below zero: the noise ends on its bound, and
            # used to be reported as 0.000 +- 1e-9 e- without a word.
            if fit["noise"] < 1e-6:
                assert "noise on its bound" in fit["quality"], (amp, fit["quality"])
            suspects += fit["quality"] != "good"
            assert fit["read_noise_source"] == "overscan"
            # The overscan noise carries the PTC gain's error (2-3% on 6 pairs).
            expected = amps[amp]["read_noise"]
            assert fit["read_noise"] == pytest.approx(expected, abs=3 * fit["read_noise_err"])
    assert suspects >= 2
    flagged = [a for a in result.amps if a.quality != "good"]
    assert len(flagged) == suspects and all(a.noise_overscan is not None for a in result.amps)
