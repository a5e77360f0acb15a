"""Ingest of real cameras' file layouts: a file of many detectors becomes one raw per
detector extension sharing one placed file, tile-compressed files are found and keep
their ``.fz``, and a camera file registered in the repository translates and checks the
headers of the library's translator it names: every stored real raw ingests as its
translator reports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.io import fits
from click.testing import CliRunner, Result

from instruments.real_headers import BIAS, RAW, header, write_raw
from quanta.cli.main import cli
from quanta.cli.operations import open_butler
from quanta.core.timespan import utc_iso_from_tai_ns

DECAM = "fitsheader-decam-raw_dec050441_25.yaml"
#: The stored DECam raw: exposure 177764, detector 25 (S1), and its filter.
EXPOSURE, DETECTOR, FILTER = 177764, 25, "g DECam SDSS c0001 4720.0 1520.0"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def camera_file(path: Path, name: str = "MyDECam", detectors: tuple[int, ...] = (1, 25)) -> Path:
    """A camera file for DECam raws: two-amplifier detectors as DECam's sections say."""
    amps = [
        {
            "name": "A",
            "prescan": "[2155:2160,51:4146]",
            "data": "[1081:2104,51:4146]",
            "overscan": "[2105:2154,51:4146]",
            "detector": "[1025:2048,1:4096]",
        },
        {
            "name": "B",
            "prescan": "[1:6,51:4146]",
            "data": "[57:1080,51:4146]",
            "overscan": "[7:56,51:4146]",
            "detector": "[1:1024,1:4096]",
        },
    ]
    camera = {
        "name": name,
        "translator": "DECam",
        "filters": [{"name": FILTER, "band": "g"}],
        "amplifier_layouts": {"ccd": amps},
        "detectors": [{"id": d, "name": f"D{d}", "layout": "ccd"} for d in detectors],
    }
    path.write_text(yaml.safe_dump(camera, sort_keys=False))
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a DECam camera file registered as ``MyDECam``."""
    root = tmp_path / "repo"
    assert invoke("create", root).exit_code == 0
    result = invoke("register-instrument", root, "--camera", camera_file(tmp_path / "cam.yaml"))
    assert result.exit_code == 0, result.output
    return root


def mef(path: Path, detectors: list[tuple[int, str]], compressed: bool = False) -> Path:
    """A DECam-style file of one image extension per (CCDNUM, DETPOS), full-size pixels."""
    extensions = [{"CCDNUM": n, "DETPOS": pos, "EXTNAME": pos} for n, pos in detectors]
    plain = write_raw(path.with_suffix(".plain"), header(DECAM), extensions=extensions, full=True)
    if not compressed:
        return plain.rename(path)
    with fits.open(plain) as hdus:
        packed = [fits.PrimaryHDU(header=hdus[0].header)]
        packed += [fits.CompImageHDU(hdu.data, hdu.header) for hdu in hdus[1:]]
        fits.HDUList(packed).writeto(path)
    plain.unlink()
    return path


def test_a_file_of_many_detectors_is_one_raw_per_extension_in_one_file(
    repo: Path, tmp_path: Path
) -> None:
    raw = mef(tmp_path / "raws" / "c4d.fits", [(25, "S1"), (1, "S29")])
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stdout) == (0, "ingested: 2, already present: 0, refused: 0\n")
    with open_butler(repo) as butler:
        refs = sorted(butler.query_datasets("raw", "MyDECam/raw/all"), key=lambda r: r.id)
        assert {(r.data_id["detector"], r.data_id["exposure"]) for r in refs} == {
            (1, EXPOSURE),
            (25, EXPOSURE),
        }
        files = butler.registry.get_files([ref.id for ref in refs])
        assert len({stored.path for stored in files.values()}) == 1
        by_detector = {ref.data_id["detector"]: files[ref.id].hdu for ref in refs}
        assert by_detector == {25: 1, 1: 2}
        for detector, name in ((25, "S1"), (1, "S29")):
            image = butler.get(
                "raw",
                instrument="MyDECam",
                detector=detector,
                exposure=EXPOSURE,
                collections="MyDECam/raw/all",
            )
            assert [amp.geometry.name for amp in image.amps] == [f"{name}A", f"{name}B"]
            assert image.amps[0].header["CCDNUM"] == detector
            a_data = image.amps[0].pixels[image.amps[0].geometry.data.slices]
            assert np.all(a_data == BIAS + 100)
        (exposure,) = butler.query_dimension_records("exposure", data_id={"instrument": "MyDECam"})
        assert (exposure.physical_filter, exposure.observation_type) == (FILTER, "science")
    again = invoke("ingest-raws", repo, raw)
    assert again.stdout == "ingested: 0, already present: 2, refused: 0\n"


def test_one_bad_extension_is_refused_and_the_others_go_in(repo: Path, tmp_path: Path) -> None:
    raw = mef(tmp_path / "raws" / "c4d.fits", [(25, "S1"), (7, "S7"), (25, "N1")])
    result = invoke("ingest-raws", repo, raw)
    assert result.exit_code == 1
    assert result.stdout == "ingested: 1, already present: 0, refused: 2\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"refused: {raw}: HDU 2: ")
    assert "detector 7" in lines[0]
    assert lines[1] == f"refused: {raw}: HDU 3: detector 25 again (HDU 1 holds it)"


def test_compressed_files_are_found_and_keep_their_extension(repo: Path, tmp_path: Path) -> None:
    mef(tmp_path / "raws" / "c4d.fits.fz", [(25, "S1")], compressed=True)
    result = invoke("ingest-raws", repo, tmp_path / "raws")
    assert (result.exit_code, result.stdout) == (0, "ingested: 1, already present: 0, refused: 0\n")
    with open_butler(repo) as butler:
        (ref,) = butler.query_datasets("raw", "MyDECam/raw/all")
        assert butler.registry.get_files([ref.id])[ref.id].path.endswith(".fits.fz")
        image = butler.get(ref)
        assert np.all(image.amps[1].pixels[image.amps[1].geometry.data.slices] == BIAS + 200)


def test_a_filter_the_camera_file_lacks_is_refused_by_name(repo: Path, tmp_path: Path) -> None:
    values = header(DECAM, FILTER="VR DECam c0007 6300.0 2600.0")
    raw = write_raw(tmp_path / "raws" / "vr.fits", values)
    result = invoke("ingest-raws", repo, raw)
    assert result.exit_code == 1
    assert "VR DECam c0007 6300.0 2600.0" in result.stderr and str(raw) in result.stderr


def test_two_camera_files_with_one_translator_are_ambiguous(repo: Path, tmp_path: Path) -> None:
    other = camera_file(tmp_path / "other.yaml", name="OtherDECam")
    assert invoke("register-instrument", repo, "--camera", other).exit_code == 0
    raw = write_raw(tmp_path / "raws" / "r.fits", header(DECAM))
    result = invoke("ingest-raws", repo, raw)
    assert result.exit_code == 1
    assert "camera files MyDECam and OtherDECam both use the DECam translator" in result.stderr


def test_scan_reads_headers_through_camera_files(tmp_path: Path) -> None:
    raw = mef(tmp_path / "raws" / "c4d.fits", [(25, "S1"), (3, "S3")])
    camera = camera_file(tmp_path / "cam.yaml")
    result = invoke("scan", raw, "--camera", camera, "--format", "csv")
    rows = result.stdout.splitlines()[1:]
    assert result.exit_code == 1
    assert rows[0].startswith(f"{raw},1,MyDECam,25,")
    assert rows[1].startswith(f"{raw},2,") and "detector 3" in rows[1]
    plain = invoke("scan", raw, "--format", "csv").stdout.splitlines()[1:]
    assert [row.split(",")[2:4] for row in plain] == [["DECam", "25"], ["DECam", "3"]]


def test_a_bad_camera_file_for_scan_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nfilters: []\n")
    result = invoke("scan", tmp_path, "--camera", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad}")


def test_a_detector_spread_over_extensions_is_one_raw_of_the_whole_file(
    repo: Path, tmp_path: Path
) -> None:
    amps = [{"CCDNUM": 25, "EXTNAME": name} for name in ("S1", "S1B")]
    raw = write_raw(tmp_path / "raws" / "amps.fits", header(DECAM), extensions=amps, full=True)
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stdout) == (0, "ingested: 1, already present: 0, refused: 0\n")
    with open_butler(repo) as butler:
        (ref,) = butler.query_datasets("raw", "MyDECam/raw/all")
        assert butler.registry.get_files([ref.id])[ref.id].hdu is None


def test_sections_agreeing_with_the_camera_file_give_no_warning(repo: Path, tmp_path: Path) -> None:
    raw = mef(tmp_path / "raws" / "c4d.fits", [(25, "S1")])
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stderr) == (0, "")


def test_sections_differing_from_the_camera_file_are_ingested_with_a_warning(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    assert invoke("create", root).exit_code == 0
    camera = camera_file(tmp_path / "cam.yaml")
    text = camera.read_text().replace("'[2105:2154,51:4146]'", "'[2105:2150,51:4146]'")
    camera.write_text(text)
    assert invoke("register-instrument", root, "--camera", camera).exit_code == 0
    raw = mef(tmp_path / "raws" / "c4d.fits", [(25, "S1"), (1, "S29")])
    result = invoke("ingest-raws", root, raw)
    assert result.exit_code == 0
    assert result.stdout == "ingested: 2, already present: 0, refused: 0\n"
    assert result.stderr.splitlines() == [
        f"warning: {raw}: HDU {hdu}: amplifier {name}A: overscan section [2105:2154,51:4146] "
        "in the raw, [2105:2150,51:4146] in the camera file"
        for hdu, name in ((1, "S1"), (2, "S29"))
    ]
    scanned = invoke("scan", raw, "--camera", camera, "--format", "csv")
    assert scanned.exit_code == 0
    assert scanned.stderr.count("overscan section [2105:2154,51:4146] in the raw") == 2


def test_sections_outside_the_pixels_refuse_that_detector_only(repo: Path, tmp_path: Path) -> None:
    extensions = [
        {"CCDNUM": 25, "DETPOS": "S1", "EXTNAME": "S1"},
        {"CCDNUM": 1, "DETPOS": "S29", "EXTNAME": "S29", "DATASECA": "[2181:3204,51:4146]"},
    ]
    raw = write_raw(tmp_path / "raws" / "c4d.fits", header(DECAM), extensions=extensions, full=True)
    result = invoke("ingest-raws", repo, raw)
    assert result.exit_code == 1
    assert result.stdout == "ingested: 1, already present: 0, refused: 1\n"
    assert result.stderr == (
        f"refused: {raw}: HDU 2: bad sections: DATASECA [2181:3204,51:4146] falls outside "
        "the 2160x4146 array (NAXIS1 x NAXIS2)\n"
    )


def test_megaprime_vendor_sections_give_its_two_amplifiers(tmp_path: Path) -> None:
    from quanta.datastore.formatters.raw import FORMATTER

    raw = write_raw(tmp_path / "mp.fits", header("fitsheader-megaprime.yaml"), full=True)
    image = FORMATTER.read(raw)
    a, b = image.amps
    assert (a.geometry.data.to_fits(), a.geometry.overscan.to_fits()) == (
        "[33:1056,1:4612]",
        "[1:32,1:4644]",
    )
    assert b.geometry.detector.to_fits() == "[1025:2048,1:4612]"
    assert np.all(a.pixels[a.geometry.data.slices] == BIAS + 100)
    assert np.all(b.pixels[b.geometry.data.slices] == BIAS + 200)
    assert a.header["DETSEC"] == "[8394:7371,19353:14742]"


def test_geometry_differences_name_missing_and_unknown_amplifiers(tmp_path: Path) -> None:
    from quanta.instruments.camera import load_camera
    from quanta.instruments.geometry import geometry_differences

    detector = load_camera(camera_file(tmp_path / "cam.yaml")).detector(25)
    a, b = (amp.geometry for amp in detector.amplifiers)
    assert geometry_differences([("S1", replace(a, name="S1A")), (None, b)], detector) == []
    assert geometry_differences([("S1", replace(a, name="S1C"))], detector) == [
        "amplifier S1C is not in the camera file's detector D25 (amplifiers A, B)",
        "the raw has no amplifier A, B of the camera file",
    ]
    assert geometry_differences([(None, replace(a, prescan=None)), (None, b)], detector) == [
        "amplifier A: prescan section none in the raw, [2155:2160,51:4146] in the camera file"
    ]


@pytest.mark.parametrize("name", sorted(RAW))
def test_each_real_raw_ingests_as_its_translator_reports(tmp_path: Path, name: str) -> None:
    from astro_metadata_translator import ObservationInfo as Library

    values = header(name)
    truth = Library(dict(values), quiet=True)
    instrument = str(truth.instrument)
    amp = {"name": "A", "data": "[2:3,1:4]", "overscan": "[4:6,1:4]", "detector": "[1:2,1:4]"}
    camera = {
        "name": instrument,
        "filters": [{"name": str(truth.physical_filter)}],
        "detectors": [{"id": int(truth.detector_num), "name": "D", "amplifiers": [amp]}],
    }
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(camera))
    root = tmp_path / "repo"
    assert invoke("create", root).exit_code == 0
    assert invoke("register-instrument", root, "--camera", tmp_path / "cam.yaml").exit_code == 0
    result = invoke("ingest-raws", root, write_raw(tmp_path / "raw.fits", values))
    assert (result.exit_code, result.stdout) == (0, "ingested: 1, already present: 0, refused: 0\n")
    with open_butler(root) as butler:
        (ref,) = butler.query_datasets("raw", f"{instrument}/raw/all")
        (record,) = butler.query_dimension_records("exposure", data_id={"instrument": instrument})
    assert ref.data_id["detector"] == truth.detector_num
    assert ref.data_id["exposure"] == truth.exposure_id == record.id
    assert record.physical_filter == truth.physical_filter
    assert record.exposure_time == truth.exposure_time.to_value("s")
    assert record.observation_type == ("bias" if "0160496" in name else "science")
    begin = record.timespan.begin
    assert utc_iso_from_tai_ns(begin) == truth.datetime_begin.utc.isot


def test_a_camera_files_raw_without_sections_is_ingested_with_a_warning(
    repo: Path, tmp_path: Path
) -> None:
    raw = write_raw(tmp_path / "raws" / "tiny.fits", header(DECAM))
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stdout) == (0, "ingested: 1, already present: 0, refused: 0\n")
    assert result.stderr == (
        f"warning: {raw}: HDU 1: the raw gives no amplifier sections (DATASEC...): "
        "ISR cannot read it\n"
    )
