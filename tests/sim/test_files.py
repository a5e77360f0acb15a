"""What ``simulate`` writes: file names, headers, the night's plan, truth.json, reproducibility."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from quanta.core.errors import ConfigError
from quanta.core.raw import Section
from quanta.instruments.simcam_layout import HEADER_KEYWORDS, OVERSCAN, PRESCAN, amp_names
from quanta.sim import PRESETS, SimulationSummary, simulate
from quanta.sim.schedule import plan_night
from sim.raws import exposures, load_truth

AMP_KEYS = {
    "gain",
    "read_noise",
    "bias_level",
    "dark_current",
    "a00",
    "full_well",
    "saturation",
    "nonlinearity",
    "a",
    "b",
}


def headers(path: Path) -> list[fits.Header]:
    """Every HDU's header of one raw."""
    with fits.open(path) as hdus:
        return [hdu.header.copy() for hdu in hdus]


def test_quick_writes_one_file_per_exposure_and_detector(quick: SimulationSummary) -> None:
    preset = PRESETS["quick"]
    pairs = len(preset.flat_times)
    assert {kind: len(paths) for kind, paths in quick.files.items()} == {
        "bias": 2 * preset.n_bias,
        "dark": 2 * preset.n_dark,
        "flat": 2 * 2 * pairs,
        "science": 2 * preset.n_science,
    }
    on_disk = sorted(p.name for p in quick.outdir.glob("SimCam_*.fits"))
    assert on_disk == sorted(p.name for paths in quick.files.values() for p in paths)
    assert quick.truth_path == quick.outdir / "truth.json"
    first = quick.files["bias"][0].name
    assert first == "SimCam_2026030100001_00.fits"


def test_truth_has_the_documented_shape(quick: SimulationSummary) -> None:
    truth = load_truth(quick.outdir)
    assert truth["instrument"] == "SimCam"
    assert set(truth["detectors"]) == {"0", "1"}
    for detector in truth["detectors"].values():
        assert list(detector["amps"]) == amp_names(4)
        for amp in detector["amps"].values():
            assert set(amp) == AMP_KEYS
            assert 1.0 < amp["gain"] < 2.0 and amp["read_noise"] > 0 and amp["a00"] < 0
        assert {"center_x", "center_y", "vignetting", "gradient_x", "gradient_y"} <= set(
            detector["flat"]
        )
    assert len(truth["exposures"]) == quick.n_files // 2
    science = exposures(truth, "science")[0]
    assert len(science["stars"]["0"]) == PRESETS["quick"].n_stars
    assert truth["camera"]["detector_shape"] == [2 * 48, 2 * 64]


def test_headers_carry_every_keyword_and_the_amplifier_layout(quick: SimulationSummary) -> None:
    truth = load_truth(quick.outdir)
    for path in (quick.files["flat"][1], quick.files["science"][0]):
        primary, *amps = headers(path)
        assert set(HEADER_KEYWORDS) <= set(primary)
        detector = str(primary["DETECTOR"])
        assert primary["INSTRUME"] == "SimCam" and primary["DETNAME"] == f"S{int(detector):02d}"
        assert [h["EXTNAME"] for h in amps] == amp_names(4)
        for header in amps:
            amp = truth["detectors"][detector]["amps"][header["EXTNAME"]]
            assert header["GAIN"] == amp["gain"] and header["RDNOISE"] == amp["read_noise"]
            assert Section.parse(header["DATASEC"]).shape == (48, 64)
            assert Section.parse(header["BIASSEC"]).shape == (48, OVERSCAN)
            assert Section.parse(header["PRESEC"]).shape == (48, PRESCAN)
            assert (header["NAXIS2"], header["NAXIS1"]) == (48, PRESCAN + 64 + OVERSCAN)
            assert header["BITPIX"] == 32  # int32 ADU
    flips = {h["EXTNAME"]: h["DETSEC"] for h in headers(quick.files["bias"][0])[1:]}
    assert flips == {
        "C00": "[1:64,1:48]",
        "C01": "[128:65,1:48]",
        "C10": "[1:64,96:49]",
        "C11": "[128:65,96:49]",
    }


def test_the_night_is_ordered_timed_and_numbered(quick: SimulationSummary) -> None:
    records = [headers(path)[0] for path in sorted(quick.outdir.glob("*_00.fits"))]
    previous_end = None
    for seqnum, header in enumerate(records, 1):
        assert header["SEQNUM"] == seqnum
        assert header["EXPID"] == header["DAYOBS"] * 100_000 + seqnum == 2026030100000 + seqnum
        start = datetime.fromisoformat(header["DATE-OBS"])
        end = datetime.fromisoformat(header["DATE-END"])
        assert end - start == timedelta(seconds=header["EXPTIME"])
        assert header["DARKTIME"] == header["EXPTIME"]
        if previous_end is not None:
            assert start > previous_end  # a readout gap between exposures
        previous_end = end
    assert [h["IMGTYPE"] for h in records] == (
        ["bias"] * 5 + ["dark"] * 5 + ["flat"] * 12 + ["science"] * 2
    )


def test_flats_come_in_consecutive_pairs_sharing_time_and_group(quick: SimulationSummary) -> None:
    flats = exposures(load_truth(quick.outdir), "flat")
    groups = set()
    for first, second in zip(flats[::2], flats[1::2], strict=True):
        assert second["seqnum"] == first["seqnum"] + 1
        assert first["exptime"] == second["exptime"]  # exactly, well within 5 ms
        assert first["group"] == second["group"]
        for record in (first, second):
            assert headers(quick.outdir / record["files"]["1"])[0]["GROUPID"] == first["group"]
        groups.add(first["group"])
    assert len(groups) == len(flats) // 2


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_flat_pairs_are_told_apart_by_a_5_ms_tolerance(name: str) -> None:
    """The pairing rule (flat-pairs, 5 ms) must find each pair and never join two pairs."""
    flats = [e for e in plan_night(PRESETS[name]) if e.imgtype == "flat"]
    times = [e.exptime for e in flats]
    assert times[::2] == times[1::2]
    assert min(np.abs(np.diff(times[::2]))) > 0.005  # the half-lit pairs come last


def test_the_simcam_instrument_translates_every_header(quick: SimulationSummary) -> None:
    from quanta.instruments.simcam import SimCam

    for paths in quick.files.values():
        for path in paths[:2]:
            info = SimCam().translate(headers(path)[0])
            assert info.exposure_id == fits.getval(path, "EXPID")


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    quick: SimulationSummary, tmp_path: Path
) -> None:
    again = simulate(tmp_path / "again", "quick", seed=0)
    for path in sorted(quick.outdir.iterdir()):
        assert (again.outdir / path.name).read_bytes() == path.read_bytes(), path.name
    other = simulate(tmp_path / "other", "quick", seed=1)
    for path in (*quick.files["bias"][:1], *quick.files["flat"][:1], quick.truth_path):
        assert (other.outdir / path.name).read_bytes() != path.read_bytes(), path.name


def test_overrides_change_the_camera_size(tmp_path: Path) -> None:
    summary = simulate(tmp_path, "quick", detectors=1, amps=2, amp_size=(20, 10))
    truth = load_truth(tmp_path)
    assert list(truth["detectors"]) == ["0"]
    assert truth["camera"]["detector_shape"] == [20, 20]
    _, *amps = headers(summary.files["flat"][0])
    assert [(h["EXTNAME"], h["NAXIS1"], h["NAXIS2"]) for h in amps] == [
        ("C00", PRESCAN + 20 + OVERSCAN, 10),
        ("C10", PRESCAN + 20 + OVERSCAN, 10),
    ]


def test_zero_noise_pixels_are_float32(zero: SimulationSummary) -> None:
    with fits.open(zero.files["flat"][0]) as hdus:
        assert hdus[1].data.dtype == np.dtype(">f4")
    assert load_truth(zero.outdir)["zero_noise"] is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"preset": "huge"}, "unknown simulation preset 'huge'; presets: quick, ptc, full"),
        ({"amps": 3}, "1 or an even number of amplifiers, not 3"),
        ({"detectors": 0}, "invalid number of detectors 0"),
        ({"amp_size": (4, 100)}, "invalid amplifier size (4, 100)"),
        ({"seed": -1}, "invalid seed -1"),
    ],
)
def test_bad_settings_are_user_errors(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        simulate(tmp_path, **changes)
    assert message in str(info.value)
    assert not list(tmp_path.iterdir())
