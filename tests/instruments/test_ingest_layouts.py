"""Ingest of real cameras' file layouts: a file of many detectors becomes one raw per
detector extension sharing one placed file, tile-compressed files are found and keep
their ``.fz``, and a camera file registered in the repository translates and checks the
headers of the library's translator it names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.io import fits
from click.testing import CliRunner, Result

from instruments.real_headers import BIAS, header, write_raw
from quanta.cli.main import cli
from quanta.cli.operations import open_butler

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
    raw = write_raw(tmp_path / "raws" / "amps.fits", header(DECAM), extensions=amps)
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stdout) == (0, "ingested: 1, already present: 0, refused: 0\n")
    with open_butler(repo) as butler:
        (ref,) = butler.query_datasets("raw", "MyDECam/raw/all")
        assert butler.registry.get_files([ref.id])[ref.id].hdu is None
