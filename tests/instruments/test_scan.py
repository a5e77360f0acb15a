"""``quanta scan``: FITS raws written from real headers give, for every detector, what the
library itself reports; processed, unknown and broken files are refused with one line;
the exit code says whether everything would be accepted."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astro_metadata_translator import ObservationInfo as LibraryObservation
from astropy.io import fits
from click.testing import CliRunner, Result

from instruments.real_headers import PROCESSED, RAW, data_sections, header, write_raw
from instruments.simcam_raws import header as simcam_header
from instruments.simcam_raws import write_exposures
from instruments.simcam_raws import write_raw as write_simcam_raw
from quanta.cli.main import cli
from quanta.instruments import HeaderError
from quanta.instruments.headers import LazyHeader
from quanta.instruments.scan import COLUMNS, scan

#: Quanta's observation type of each raw header.
TYPES = {name: "science" for name in RAW} | {"fitsheader-decam-0160496.yaml": "bias"}
#: Two more CCDs of a DECam multi-extension file, besides the stored one (CCDNUM 25, S1).
MORE_CCDS = [
    {"CCDNUM": 1, "DETPOS": "S29", "EXTNAME": "S29"},
    {"CCDNUM": 62, "DETPOS": "N31", "EXTNAME": "N31"},
]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def fits_name(name: str) -> str:
    """The raw written from the stored header ``name``."""
    return name.replace(".", "_") + ".fits"


def expected_row(path: Path, hdu: int | None, values: dict[str, Any], kind: str) -> dict:
    """The row the library's own translation of ``values`` calls for."""
    library = LibraryObservation(dict(values), quiet=True)
    assert library.exposure_time is not None and library.datetime_begin is not None
    return {
        "file": str(path),
        "hdu": hdu,
        "instrument": library.instrument,
        "detector": library.detector_num,
        "obs_id": library.observation_id,
        "observation_type": kind,
        "physical_filter": library.physical_filter,
        "exposure_time": library.exposure_time.to_value("s"),
        "start_utc": library.datetime_begin.utc.isot,
        "refused": None,
    }


def refused_row(path: Path, reason: str) -> dict:
    return {column: None for column in COLUMNS} | {"file": str(path), "refused": reason}


@pytest.fixture(scope="module")
def raws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of raws written from every stored raw and processed header."""
    directory = tmp_path_factory.mktemp("real_raws")
    for name in [*RAW, *PROCESSED]:
        write_raw(directory / fits_name(name), header(name))
    return directory


@pytest.mark.parametrize("jobs", [1, 2])
def test_scan_reports_what_the_library_reads_and_refuses_processed_images(
    raws: Path, jobs: int
) -> None:
    result = invoke("scan", raws, "--format", "json", "-j", jobs)
    assert result.exit_code == 1
    rows = {row["file"]: row for row in json.loads(result.stdout)}
    assert len(rows) == len(RAW) + len(PROCESSED)
    for name in RAW:
        path = raws / fits_name(name)
        # Multi-extension raws give their detector's extension; the others the primary.
        hdu = 1 if "XTENSION" in header(name) else None
        assert rows[str(path)] == expected_row(path, hdu, header(name), TYPES[name]), name
    for name, reason in PROCESSED.items():
        path = raws / fits_name(name)
        message = f"a processed image, not a raw: {reason}"
        assert rows[str(path)] == refused_row(path, message)
    expected = sorted(
        f"refused: {raws / fits_name(name)}: a processed image, not a raw: {reason}"
        for name, reason in PROCESSED.items()
    )
    assert result.stderr.splitlines() == expected


def test_scan_of_raws_only_exits_0_and_prints_a_table(raws: Path) -> None:
    files = [raws / fits_name(name) for name in sorted(RAW)]
    result = invoke("scan", *files)
    assert (result.exit_code, result.stderr) == (0, "")
    header_line = result.stdout.splitlines()[1]
    assert [cell.strip() for cell in header_line.strip("┃").split("┃")] == list(COLUMNS)
    for name in RAW:
        assert str(raws / fits_name(name)) in result.stdout
    assert "ct4m20121211t220632" in result.stdout and "HSCA90402400" in result.stdout


def test_scan_as_csv(raws: Path) -> None:
    result = invoke("scan", raws / fits_name("fitsheader-hsc.yaml"), "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(COLUMNS)
    assert rows[1][2:9] == [
        "HSC",
        "50",
        "HSCA90402400",
        "science",
        "HSC-I",
        "30.0",
        "2013-11-02T06:15:55.908",
    ]
    assert rows[1][9] == ""


def test_a_multi_extension_file_gives_one_row_per_detector(tmp_path: Path) -> None:
    values = header("fitsheader-decam.yaml")
    path = write_raw(tmp_path / "decam_mef.fits", values, extensions=[{}, *MORE_CCDS])
    report = scan([path], jobs=1)
    assert [(row.hdu, row.info and row.info.detector) for row in report.rows] == [
        (1, 25),
        (2, 1),
        (3, 62),
    ]
    assert [row.label for row in report.rows] == [f"{path}[{n}]" for n in (1, 2, 3)]
    for row, changes in zip(report.rows, [{}, *MORE_CCDS], strict=True):
        expected = expected_row(path, row.hdu, values | changes, "science")
        assert dict(zip(COLUMNS, row.values(), strict=True)) == expected


def test_the_primary_header_alone_lacks_the_detector(tmp_path: Path) -> None:
    """Why an extension is merged: DECam's primary header has no CCDNUM."""
    path = write_raw(tmp_path / "decam.fits", header("fitsheader-decam.yaml"))
    with fits.open(path) as hdus:
        assert "CCDNUM" not in hdus[0].header and hdus[1].header["CCDNUM"] == 25


def test_an_unrecognised_header_is_one_line_naming_the_file(tmp_path: Path) -> None:
    values = {"INSTRUME": "NoSuchCam", "EXPTIME": 3.0, "DATE-OBS": "2026-01-01T00:00:00"}
    path = tmp_path / "mystery.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.uint16), fits.Header(list(values.items()))).writeto(path)
    result = invoke("scan", path, "--format", "json")
    assert result.exit_code == 1
    reason = (
        "unknown instrument 'NoSuchCam'; known instruments: SimCam, and no header translator "
        "recognises this header (known translators: DECam, HSC, MegaPrime, SDSS, SuprimeCam, "
        "VisitInfo)"
    )
    assert json.loads(result.stdout) == [refused_row(path, reason)]
    assert result.stderr == f"refused: {path}: {reason}\n"


def test_broken_and_truncated_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.fits").write_bytes(b"")
    truncated = write_raw(tmp_path / "truncated.fits", header("fitsheader-hsc.yaml"))
    size = truncated.stat().st_size
    truncated.write_bytes(truncated.read_bytes()[:-100])
    report = scan([tmp_path])
    assert [(row.path.name, row.hdu, row.reason) for row in report.rows] == [
        ("empty.fits", None, "unreadable: empty file"),
        (
            "truncated.fits",
            None,
            f"truncated: HDU 0 ends at byte {size} but the file has {size - 100} bytes",
        ),
    ]


def test_a_value_the_exposure_record_cannot_hold_is_refused(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "hsc.fits", header("fitsheader-hsc.yaml", OBJECT="x" * 65))
    (row,) = scan([path]).rows
    assert row.info is None and row.reason is not None
    assert "target_name" in row.reason and "64" in row.reason


def test_simcam_raws_give_one_row_per_file(tmp_path: Path) -> None:
    write_exposures(tmp_path, seqs=(1,), detectors=(0, 1))
    report = scan([tmp_path], jobs=2)
    assert [(row.hdu, row.info and row.info.instrument, row.reason) for row in report.rows] == [
        (None, "SimCam", None),
        (None, "SimCam", None),
    ]
    assert [row.info.detector for row in report.rows if row.info] == [0, 1]


def test_header_corrections_apply_to_scan(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "raws" / "decam.fits", header("fitsheader-decam.yaml"))
    fixes = tmp_path / "fixes"
    fixes.mkdir()
    (fixes / "DECam-ct4m20130901t060255.yaml").write_text("OBSTYPE: zero\nEXPTIME: 0.0\n")
    plain = json.loads(invoke("scan", path, "--format", "json").stdout)[0]
    fixed = invoke("scan", path, "--format", "json", "--header-corrections", fixes)
    assert fixed.exit_code == 0
    row = json.loads(fixed.stdout)[0]
    assert (plain["observation_type"], plain["exposure_time"]) == ("science", 200.0)
    assert (row["observation_type"], row["exposure_time"]) == ("bias", 0.0)


def test_a_bad_path_is_a_user_error(tmp_path: Path) -> None:
    result = invoke("scan", tmp_path / "nothing")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: cannot scan {tmp_path / 'nothing'}: no such file or directory\n",
    )
    result = invoke("scan", tmp_path, "--header-corrections", tmp_path / "none")
    assert result.exit_code == 2 and "'--header-corrections'" in result.stderr


#: Amplifier keywords each layout keeps, in the HDU that has the pixels.
AMP_KEYWORDS = {
    "fitsheader-decam.yaml": ("DATASECA", "DATASECB", "BIASSECA", "BIASSECB", "GAINA", "GAINB"),
    "fitsheader-hsc.yaml": ("T_EFMN11", "T_EFMX42", "T_OSMN11", "T_GAIN4"),
    "fitsheader-megaprime.yaml": ("DSECA", "DSECB", "BSECA", "BSECB", "GAINA", "GAINB"),
}


@pytest.mark.parametrize("name", sorted(AMP_KEYWORDS))
def test_full_size_raws_have_the_camera_layout(tmp_path: Path, name: str) -> None:
    values = header(name)
    path = write_raw(tmp_path / fits_name(name), values, full=True)
    with fits.open(path) as hdus:
        assert len(hdus) == (2 if "XTENSION" in values else 1)
        pixels, written = hdus[-1].data, hdus[-1].header
        assert {k: written[k] for k in AMP_KEYWORDS[name]} == {
            k: values[k] for k in AMP_KEYWORDS[name]
        }
    shape = (values.get("ZNAXIS2", values["NAXIS2"]), values.get("ZNAXIS1", values["NAXIS1"]))
    assert pixels.shape == shape and pixels.dtype == np.uint16
    sections = data_sections(values)
    assert len(sections) >= 2
    for number, (y, x) in enumerate(sections, 1):
        assert np.all(pixels[y, x] == 1000 + 100 * number)
    assert np.count_nonzero(pixels == 1000) > 0  # overscan and prescan keep the bias level
    (row,) = scan([path]).rows
    hdu = 1 if "XTENSION" in values else None
    assert dict(zip(COLUMNS, row.values(), strict=True)) == expected_row(
        path, hdu, values, "science"
    )


def card_header(*cards: str) -> fits.Header:
    """An astropy header parsed from card images, as a FITS file holds them."""
    return fits.Header.fromstring("".join(c.ljust(80) for c in [*cards, "END"]).ljust(2880))


def test_a_lazy_header_layers_headers_and_parses_values_on_use() -> None:
    primary = card_header("SIMPLE  =                    T", "EXPTIME =                 12.5")
    extension = card_header("XTENSION= 'IMAGE   '", "EXPTIME =                 30.0")
    both = LazyHeader(primary, extension)
    assert list(both) == ["SIMPLE", "EXPTIME", "XTENSION"] and len(both) == 3
    assert both["EXPTIME"] == 30.0 and LazyHeader(primary)["EXPTIME"] == 12.5
    assert "XTENSION" in both and "OBJECT" not in both
    assert both.get("OBJECT") is None


def test_an_unparsable_card_is_a_header_error_naming_it(tmp_path: Path) -> None:
    broken = LazyHeader(card_header("SIMPLE  =                    T", "EXPTIME = 12.3.4 / bad"))
    with pytest.raises(HeaderError, match=r"^keyword EXPTIME: unreadable value: Unparsable"):
        broken["EXPTIME"]
    path = tmp_path / "simcam.fits"
    values = simcam_header(1, 0)
    write_simcam_raw(path, values)
    data = path.read_bytes()
    exptime = data.index(b"EXPTIME =")
    path.write_bytes(data[:exptime] + b"EXPTIME = 12.3.4".ljust(80) + data[exptime + 80 :])
    (row,) = scan([path]).rows
    assert row.reason is not None
    assert row.reason.startswith("keyword EXPTIME: unreadable value: Unparsable card (EXPTIME)")
