"""The calibration workflow against simulated truth, through the real pipeline machinery.

``quick`` SimCam raws are ingested, then ``cp_bias``, ``cp_dark`` and ``cp_flat`` each
build a quantum graph, run inline and have their master certified into
``SimCam/calib`` (valid forever) before the next step, as the README's workflow does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core import Timespan
from quanta.core.image import Image
from quanta.exec import ExecutionSettings, InlineExecutor, execute
from quanta.graph.builder import build_graph
from quanta.instruments import get_instrument
from quanta.instruments.ingest import ingest_raws
from quanta.instruments.simcam_layout import amp_geometry
from quanta.pipe.pipeline import Pipeline
from quanta.sim import flat_pattern, simulate

RAW = "SimCam/raw/all"
CALIB = "SimCam/calib"
FOREVER = Timespan(None, None)
STEPS = (("cp_bias", "bias"), ("cp_dark", "dark"), ("cp_flat", "flat"))


@dataclass
class Repo:
    """A repository after the workflow, with the simulation's truth."""

    butler: Butler
    truth: dict[str, Any]

    def master(self, name: str, detector: str) -> Image:
        data_id = {"instrument": "SimCam", "detector": int(detector)}
        if name == "flat":
            data_id["physical_filter"] = "SimCam-r"
        image = self.butler.get(name, data_id, collections=CALIB, timespan=FOREVER)
        assert isinstance(image, Image)
        return image

    def amp_regions(self) -> dict[str, tuple[slice, slice]]:
        camera = self.truth["camera"]
        geometry = amp_geometry(camera["amps"], camera["amp_width"], camera["amp_height"])
        return {g.name: g.detector.slices for g in geometry}


def run_pipeline(butler: Butler, name: str, inputs: list[str], output: str, where: str) -> str:
    """Build and execute ``name`` inline into ``output/run``; the run's name."""
    run = f"{output}/run"
    pipeline = Pipeline.load(name).resolve(butler.universe)
    graph = build_graph(butler, pipeline, inputs, run, output, where)
    report = execute(butler, graph, InlineExecutor(), ExecutionSettings())
    assert report.ok, report.failures
    return run


def calibrate(root: Path, zero_noise: bool) -> Repo:
    """Simulate, ingest, and run bias -> certify -> dark -> certify -> flat -> certify."""
    summary = simulate(root / "raws", preset="quick", seed=0, zero_noise=zero_noise)
    butler = Butler.create(root / "repo")
    get_instrument("SimCam").register(butler)
    assert not ingest_raws(butler, [root / "raws"]).refused
    for pipeline, calibration in STEPS:
        inputs = [RAW] if calibration == "bias" else [RAW, CALIB]
        where = f"exposure.observation_type = '{calibration}'"
        run = run_pipeline(butler, pipeline, inputs, f"u/cp/{calibration}", where)
        butler.certify(CALIB, butler.query_datasets(calibration, [run]), FOREVER)
    return Repo(butler, json.loads(summary.truth_path.read_text()))


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return calibrate(tmp_path_factory.mktemp("noisy"), zero_noise=False)


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return calibrate(tmp_path_factory.mktemp("exact"), zero_noise=True)


def test_master_bias_level_and_read_noise_within_3_percent(noisy: Repo) -> None:
    # Tolerance 3% (issue 4). Each level averages 5 x 1,536 overscan pixels (error ~0.001%);
    # the read noise has 5 x 1,488 degrees of freedom (~0.8%), and the ADU rounding of the
    # raws adds 1/12 ADU^2 (+0.3%). Measured at seed 0: levels within 0.0002%, noise
    # within 1.2%.
    for detector, truth in noisy.truth["detectors"].items():
        master = noisy.master("bias", detector)
        for amp, expected in truth["amps"].items():
            level = master.header[f"OSLEVEL {amp}"]
            noise = master.header[f"RDNOISE {amp}"]
            assert level == pytest.approx(expected["bias_level"], rel=0.03), (detector, amp)
            assert noise == pytest.approx(expected["read_noise"], rel=0.03), (detector, amp)
        assert master.header["BUNIT"] == "electron" and master.header["NCOMBINE"] == 5


def test_master_dark_current_within_5_percent(noisy: Repo) -> None:
    # Tolerance 5% (issue 4). 5 darks of 100 s, 3,072 pixels per amplifier: the Poisson and
    # read noise of the mean is ~0.5%, the master bias adds ~0.4%. Measured: within 1.3%.
    for detector, truth in noisy.truth["detectors"].items():
        master = noisy.master("dark", detector)
        assert master.header["BUNIT"] == "electron/s"
        for amp, region in noisy.amp_regions().items():
            measured = float(np.mean(master.image[region]))
            assert measured == pytest.approx(truth["amps"][amp]["dark_current"], rel=0.05)


def test_master_flat_pattern_residual_below_half_a_percent(noisy: Repo) -> None:
    # Tolerance 0.5% RMS (issue 4). 12 flats of 1,000 to 85,000 e-, weighted by depth:
    # ~384,000 e- per pixel, a noise of 0.16%. Measured: 0.16%.
    for detector, truth in noisy.truth["detectors"].items():
        master = noisy.master("flat", detector)
        pattern = flat_pattern(truth["flat"], master.shape)
        residual = master.image / (pattern / pattern.mean()) - 1.0
        assert np.mean(master.image) == pytest.approx(1.0, abs=1e-6)
        assert np.sqrt(np.mean(residual**2)) < 0.005
        assert not master.mask.any()


def _expected_electrons(repo: Repo, detector: str, exposure: dict[str, Any]) -> np.ndarray:
    truth = repo.truth["detectors"][detector]
    shape = tuple(repo.truth["camera"]["detector_shape"])
    electrons = flat_pattern(truth["flat"], shape) * exposure["signal"]
    for amp, region in repo.amp_regions().items():
        electrons[region] += truth["amps"][amp]["dark_current"] * exposure["darktime"]
    return electrons


def test_zero_noise_isr_gives_the_expected_electrons(exact: Repo) -> None:
    # Exact to float rounding: the raws are float32 (ADU = e-/gain + bias), so each pixel
    # may be off by the raw's float32 spacing times the gain, plus the float32 spacing
    # of the output.
    exposures = {e["expid"]: e for e in exact.truth["exposures"]}
    refs = exact.butler.query_datasets("postISRCCD", ["u/cp/bias/run", "u/cp/dark/run"])
    refs += exact.butler.query_datasets("postISRCCD", ["u/cp/flat/run"])
    assert len(refs) == 2 * (5 + 5 + 12)
    for ref in refs:
        detector = str(ref.data_id["detector"])
        exposure = exposures[ref.data_id["exposure"]]
        image = exact.butler.get(ref)
        expected = _expected_electrons(exact, detector, exposure)
        if exposure["imgtype"] == "flat":  # ISR of flats also subtracts bias and dark
            expected -= _expected_electrons(exact, detector, {**exposure, "signal": 0.0})
        tolerance = np.spacing(np.float32(expected)).astype(float)
        for amp, region in exact.amp_regions().items():
            amp_truth = exact.truth["detectors"][detector]["amps"][amp]
            raw = expected[region] / amp_truth["gain"] + amp_truth["bias_level"]
            tolerance[region] += 2 * amp_truth["gain"] * np.spacing(np.float32(raw))
        assert np.all(np.abs(image.image - expected) <= tolerance), exposure["obsid"]


def test_zero_noise_masters_are_exact(exact: Repo) -> None:
    # Float rounding only. The master bias is exactly 0. A dark pixel holds 10-30 e- in a
    # float32 raw of ~20,000 ADU: it is known to the raw's float32 spacing times the gain
    # (~0.004 e-), divided by the dark time. The flat (values about 1, from flats of at
    # least 1,000 e-) is good to a relative 1e-5.
    dark_time = next(e["darktime"] for e in exact.truth["exposures"] if e["imgtype"] == "dark")
    for detector, truth in exact.truth["detectors"].items():
        assert not exact.master("bias", detector).image.any()
        dark = exact.master("dark", detector)
        for amp, region in exact.amp_regions().items():
            amp_truth = truth["amps"][amp]
            raw = (
                amp_truth["bias_level"] + amp_truth["dark_current"] * dark_time / amp_truth["gain"]
            )
            tolerance = 2 * amp_truth["gain"] * np.spacing(np.float32(raw)) / dark_time
            np.testing.assert_allclose(
                dark.image[region], amp_truth["dark_current"], rtol=0, atol=tolerance
            )
        flat = exact.master("flat", detector)
        pattern = flat_pattern(truth["flat"], flat.shape)
        np.testing.assert_allclose(flat.image, pattern / pattern.mean(), rtol=1e-5)
