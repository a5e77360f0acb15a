"""The simulator's DECam-like and LSST-like layouts, read back as ISR reads them.

Raws are read by the ``RawImage`` formatter; a zero-noise frame, its bias removed and its
gain applied per amplifier with the values of ``truth.json``, must give the model
electrons (``dark_current * DARKTIME + pattern * signal``) at every detector pixel, so a
misplaced section, a wrong flip or a swapped amplifier breaks it. DECam headers go
through ``quanta scan`` (astro-metadata-translator's DECam translator) and the written
``camera.yaml`` must describe the raws.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from click.testing import CliRunner

from quanta.cli.commands_sim import LAYOUT_NAMES
from quanta.cli.main import cli
from quanta.core.errors import ConfigError
from quanta.core.raw import RawImage, Section
from quanta.cp.algorithms.assembly import assemble, trim
from quanta.datastore import formatter_for
from quanta.instruments.camera import load_camera
from quanta.instruments.scan import scan
from quanta.sim import SimulationSummary, flat_pattern, simulate
from quanta.sim.layouts import LAYOUTS
from sim.raws import exposures, load_truth

FORMATTER: Any = formatter_for("RawImage")
LSST_ORDER = [f"C1{c}" for c in range(8)] + [f"C0{c}" for c in range(7, -1, -1)]
DECAM_TYPES = {"bias": "bias", "dark": "dark", "flat": "flat", "science": "science"}


@pytest.fixture(scope="module")
def decam_zero(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    return simulate(tmp_path_factory.mktemp("decam_zero"), "quick", zero_noise=True, layout="decam")


@pytest.fixture(scope="module")
def lsst_zero(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    return simulate(tmp_path_factory.mktemp("lsst_zero"), "quick", zero_noise=True, layout="lsst")


def read(summary: SimulationSummary, record: dict[str, Any], detector: str) -> RawImage:
    """One detector of one exposure, as the datastore reads it (its HDU of a shared file)."""
    path = summary.outdir / record["files"][detector]
    hdu = record.get("hdus", {}).get(detector)
    raw = FORMATTER.read(path) if hdu is None else FORMATTER.read_hdu(path, hdu)
    assert isinstance(raw, RawImage)
    return raw


def electrons(raw: RawImage, amps: dict[str, Any]) -> np.ndarray:
    """The detector image in electrons: each amplifier's imaging pixels, bias subtracted
    and gain applied with its true values, un-flipped and placed by its detector section."""
    pieces = [
        (
            (trim(amp.pixels, amp.geometry.data) - amps[name]["bias_level"]) * amps[name]["gain"],
            amp.geometry.detector,
        )
        for amp in raw.amps
        for name in [amp.geometry.name]
    ]
    return assemble(pieces, raw.detector_shape, np.float64)


def model(truth: dict[str, Any], record: dict[str, Any], raw: RawImage, det: str) -> np.ndarray:
    """The model electrons of a frame without stars, from ``truth.json`` alone."""
    detector = truth["detectors"][det]
    shape = tuple(truth["camera"]["detector_shape"])
    expected = flat_pattern(detector["flat"], shape) * record["signal"]
    for amp in raw.amps:
        dark = detector["amps"][amp.geometry.name]["dark_current"] * record["darktime"]
        expected[amp.geometry.detector.slices] += dark
    return expected


@pytest.mark.parametrize("layout", ["decam", "lsst"])
def test_zero_noise_frames_give_the_model_electrons(
    layout: str, decam_zero: SimulationSummary, lsst_zero: SimulationSummary
) -> None:
    """Float32 pixels: within 1e-6 relative plus 0.01 e- (as SimCam's zero-noise test)."""
    summary = {"decam": decam_zero, "lsst": lsst_zero}[layout]
    truth = load_truth(summary.outdir)
    records = [r for r in truth["exposures"] if r["imgtype"] != "science"]
    assert {r["imgtype"] for r in records} == {"bias", "dark", "flat"}
    for record in records:
        for det in truth["detectors"]:
            raw = read(summary, record, det)
            assert raw.detector_shape == tuple(truth["camera"]["detector_shape"])
            found = electrons(raw, truth["detectors"][det]["amps"])
            np.testing.assert_allclose(
                found, model(truth, record, raw, det), rtol=1e-6, atol=0.01, err_msg=str(record)
            )


def test_decam_ccds_hold_two_amplifiers_side_by_side_like_decam(
    decam_zero: SimulationSummary,
) -> None:
    truth = load_truth(decam_zero.outdir)
    assert (truth["instrument"], truth["layout"]) == ("SimDECam", "decam")
    assert list(truth["detectors"]) == ["1", "2"]
    assert [d["name"] for d in truth["detectors"].values()] == ["S1", "S2"]
    assert truth["camera"] | {"detector_shape": None} == {
        "detectors": 2,
        "amps": 2,
        "amp_width": 64,
        "amp_height": 96,
        "prescan": 6,
        "overscan": 50,
        "detector_shape": None,
    }
    flat = exposures(truth, "flat")[0]
    assert flat["files"] == {"1": f"SimDECam_{flat['expid']}.fits"} | {"2": flat["files"]["1"]}
    assert flat["hdus"] == {"1": 1, "2": 2}
    assert len(list(decam_zero.outdir.glob("SimDECam_*.fits"))) == len(truth["exposures"])
    raw = read(decam_zero, flat, "2")
    assert [amp.geometry.name for amp in raw.amps] == ["S2A", "S2B"]
    a, b = (amp.geometry for amp in raw.amps)
    # Columns: PRESECB | BIASSECB | DATASECB | DATASECA | BIASSECA | PRESECA.
    assert b.prescan == Section(0, 96, 0, 6) and b.overscan == Section(0, 96, 6, 56)
    assert b.data == Section(0, 96, 56, 120) and a.data == Section(0, 96, 120, 184)
    assert a.overscan == Section(0, 96, 184, 234) and a.prescan == Section(0, 96, 234, 240)
    assert (b.detector, a.detector) == (Section(0, 96, 0, 64), Section(0, 96, 64, 128))
    assert raw.amps[0].pixels.shape == (96, 240)
    amps = truth["detectors"]["2"]["amps"]
    for amp in raw.amps:
        true = amps[amp.geometry.name]
        assert (amp.header["GAIN"], amp.header["RDNOISE"], amp.header["SATURATE"]) == (
            true["gain"],
            true["read_noise"],
            true["saturation"],
        )
        for section in (amp.geometry.overscan, amp.geometry.prescan):
            assert section is not None
            assert np.all(amp.pixels[section.slices] == np.float32(true["bias_level"]))
    # CCD 2 lies right of CCD 1 in the focal plane: DETSEC is CCDSEC moved by one CCD.
    assert (raw.amp("S2B").header["DETSEC"], raw.amp("S2A").header["DETSEC"]) == (
        "[129:192,1:96]",
        "[193:256,1:96]",
    )
    with fits.open(decam_zero.outdir / flat["files"]["2"]) as hdus:
        assert [h.header.get("EXTNAME") for h in hdus[1:]] == ["S1", "S2"]
        assert [h.header["CCDNUM"] for h in hdus[1:]] == [1, 2]
        assert hdus[0].data is None


def test_decam_headers_translate_as_decam_to_the_truth(decam_zero: SimulationSummary) -> None:
    """astro-metadata-translator's DECam translator reads every CCD of every file."""
    truth = load_truth(decam_zero.outdir)
    report = scan([decam_zero.outdir])
    assert not report.refused
    rows = {(row.info.obs_id, row.info.detector): row for row in report.rows if row.info}
    assert len(rows) == len(report.rows) == 2 * len(truth["exposures"])
    for record in truth["exposures"]:
        for det, name in record["files"].items():
            row = rows[(record["obsid"], int(det))]
            assert row.info is not None
            assert (row.path.name, row.hdu) == (name, record["hdus"][det])
            assert row.info.exposure_id == record["expid"]
            assert row.info.observation_type == DECAM_TYPES[record["imgtype"]]
            assert row.info.physical_filter == record["filter"]
            assert row.info.exposure_time == record["exptime"]
            assert row.info.day_obs == truth["day_obs"]
    filters = {r["imgtype"]: r["filter"] for r in truth["exposures"]}
    assert filters["bias"] == filters["dark"] == "solid plate 0.0 0.0"
    assert filters["flat"] == filters["science"] == "r DECam SDSS c0002 6415.0 1480.0"


def test_decam_camera_file_loads_and_describes_the_raws(decam_zero: SimulationSummary) -> None:
    assert decam_zero.camera_path == decam_zero.outdir / "camera.yaml"
    camera = load_camera(decam_zero.camera_path)
    truth = load_truth(decam_zero.outdir)
    assert (camera.name, camera.translator) == ("SimDECam", "DECam")
    assert dict(camera.filters) == {
        "r DECam SDSS c0002 6415.0 1480.0": "r",
        "solid plate 0.0 0.0": None,
    }
    assert [(d.id, d.full_name) for d in camera.detectors] == [(1, "S1"), (2, "S2")]
    record = exposures(truth, "bias")[0]
    for info in camera.detectors:
        raw = read(decam_zero, record, str(info.id))
        for amp, described in zip(raw.amps, info.amplifiers, strict=True):
            assert amp.geometry.name == f"{info.full_name}{described.geometry.name}"
            assert described.geometry == type(amp.geometry)(
                described.geometry.name,
                amp.geometry.data,
                amp.geometry.overscan,
                amp.geometry.detector,
                amp.geometry.prescan,
            )


def test_lsst_detectors_have_sixteen_amplifier_hdus_in_lsst_order(
    lsst_zero: SimulationSummary,
) -> None:
    truth = load_truth(lsst_zero.outdir)
    assert (truth["instrument"], truth["layout"]) == ("SimCam", "lsst")
    camera = truth["camera"]
    assert (camera["detectors"], camera["amps"], camera["amp_width"], camera["amp_height"]) == (
        1,
        16,
        32,
        48,
    )
    assert (camera["prescan"], camera["overscan"], camera["parallel_overscan"]) == (3, 64, 48)
    assert camera["detector_shape"] == [96, 256]
    assert list(truth["detectors"]["0"]["amps"]) == LSST_ORDER
    record = exposures(truth, "flat")[-1]
    assert record["files"] == {"0": f"SimCam_{record['expid']}_00.fits"}
    raw = read(lsst_zero, record, "0")
    assert [amp.geometry.name for amp in raw.amps] == LSST_ORDER
    amps = truth["detectors"]["0"]["amps"]
    for amp in raw.amps:
        g, top = amp.geometry, amp.geometry.name[1] == "0"
        column = int(amp.geometry.name[2])
        assert amp.pixels.shape == (48 + 48, 3 + 32 + 64)
        assert (g.prescan, g.data, g.overscan) == (
            Section(0, 48, 0, 3),
            Section(0, 48, 3, 35),
            Section(0, 48, 35, 99),
        )
        assert g.detector == Section(
            48 if top else 0, 96 if top else 48, 32 * column, 32 * (column + 1), top, not top
        )
        # Parallel overscan rows above the imaging rows read out the bias level alone.
        assert np.all(amp.pixels[48:, :] == np.float32(amps[g.name]["bias_level"]))
    with fits.open(lsst_zero.outdir / record["files"]["0"]) as hdus:
        assert [h.header["EXTNAME"] for h in hdus[1:]] == LSST_ORDER
        assert hdus[0].header["INSTRUME"] == "SimCam"


@pytest.mark.parametrize("layout", ["decam", "lsst"])
def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    tmp_path: Path, layout: str
) -> None:
    first = simulate(tmp_path / "first", "quick", seed=5, layout=layout, detectors=1)
    again = simulate(tmp_path / "again", "quick", seed=5, layout=layout, detectors=1)
    other = simulate(tmp_path / "other", "quick", seed=6, layout=layout, detectors=1)
    names = sorted(p.name for p in first.outdir.iterdir())
    assert names == sorted(p.name for p in again.outdir.iterdir())
    for name in names:
        assert (again.outdir / name).read_bytes() == (first.outdir / name).read_bytes(), name
    for path in (first.files["bias"][0], first.files["flat"][0], first.truth_path):
        assert (other.outdir / path.name).read_bytes() != path.read_bytes(), path.name


def test_sizes_can_be_overridden(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "d", "ptc", detectors=3, amp_size=(20, 30), layout="decam")
    assert (summary.preset.detectors, summary.preset.amps, summary.preset.amp_size) == (
        3,
        2,
        (20, 30),
    )
    raw = read(summary, exposures(load_truth(summary.outdir), "flat")[0], "3")
    assert [amp.geometry.name for amp in raw.amps] == ["S3A", "S3B"]
    assert raw.detector_shape == (30, 40)
    assert [d.id for d in load_camera(tmp_path / "d" / "camera.yaml").detectors] == [1, 2, 3]
    lsst = simulate(tmp_path / "l", "quick", detectors=2, amp_size=(10, 12), layout="lsst")
    assert load_truth(lsst.outdir)["camera"]["detector_shape"] == [24, 80]
    assert len(lsst.files["bias"]) == 2 * 5


BAD = [
    ({"layout": "hsc"}, "unknown simulation layout 'hsc'; layouts: simcam, decam, lsst"),
    ({"layout": "decam", "amps": 4}, "the decam layout always has 2 per detector"),
    ({"layout": "lsst", "amps": 2}, "the lsst layout always has 16 per detector"),
    ({"layout": "decam", "detectors": 17}, "invalid number of detectors 17"),
    ({"layout": "lsst", "amp_size": (4, 100)}, "invalid amplifier size (4, 100)"),
    ({"layout": "decam", "preset": "huge"}, "unknown simulation preset 'huge'"),
]


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_layout_settings_are_user_errors(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        simulate(tmp_path, **changes)
    assert message in str(info.value)
    assert not list(tmp_path.iterdir())


def test_cli_offers_the_layouts_and_reports_errors_in_one_line(tmp_path: Path) -> None:
    assert tuple(LAYOUTS) == LAYOUT_NAMES
    runner = CliRunner()
    result = runner.invoke(
        cli, ["simulate", str(tmp_path / "x"), "--layout", "decam", "--amps", "4"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: invalid number of amplifiers 4: the decam layout always has 2 per detector\n"
    )
    result = runner.invoke(
        cli, ["simulate", str(tmp_path / "d"), "--layout", "decam", "--detectors", "1"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "preset quick, layout decam: 1 detector(s) x 2 amplifier(s) of 64x96 pixels, seed 0"
    )
    assert (tmp_path / "d" / "camera.yaml").is_file()
