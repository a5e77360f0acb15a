"""The three raw layouts (one HDU per amplifier, amplifiers sharing an HDU, one detector
of many in a file), plain and tile-compressed, read to the same detector; bad sections;
DECam's CCDSEC (place in the CCD) beside its focal-plane DETSEC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from instruments.real_headers import header as real_header
from instruments.real_headers import write_raw as write_real_raw
from quanta.core.errors import DatastoreError
from quanta.core.raw import AmpGeometry, RawImage, Section
from quanta.cp.algorithms.assembly import assemble, trim
from quanta.cp.isr import IsrConfig, IsrTask
from quanta.datastore import formatter_for
from raw_layout_files import (
    detector_raw,
    side_by_side,
    write_amps_compressed,
    write_detectors,
    write_one_hdu,
)

FORMATTER: Any = formatter_for("RawImage")


def test_amplifiers_sharing_an_hdu_are_named_placed_and_share_its_pixels(tmp_path: Path) -> None:
    raw = detector_raw()
    result = FORMATTER.read(write_one_hdu(raw, tmp_path / "one.fits", "S1"))
    assert [amp.geometry.name for amp in result.amps] == ["S1A", "S1B", "S1C", "S1D"]
    assert result.header == raw.header
    offset = 0
    for original, amp in zip(raw.amps, result.amps, strict=True):
        geometry, source = amp.geometry, original.geometry
        assert geometry.detector == source.detector
        assert geometry.data == Section(0, 10, offset + 2, offset + 14)
        assert geometry.overscan == Section(0, 10, offset + 14, offset + 22)
        assert geometry.prescan == Section(0, 10, offset, offset + 2)
        np.testing.assert_array_equal(
            amp.pixels[geometry.data.slices], original.pixels[source.data.slices]
        )
        np.testing.assert_array_equal(
            amp.pixels[geometry.overscan.slices], original.pixels[source.overscan.slices]
        )
        assert amp.header == original.header  # GAINA... became GAIN, RDNOISE, SATURATE
        assert amp.pixels is result.amps[0].pixels  # one array, no copy per amplifier
        offset += original.pixels.shape[1]
    assert result.amps[0].pixels.shape == (10, offset)
    assert result.amps[0].pixels.dtype == np.uint16
    assert result.detector_shape == (20, 24)


def test_without_extname_amplifiers_are_named_by_their_letter(tmp_path: Path) -> None:
    result = FORMATTER.read(write_one_hdu(detector_raw(), tmp_path / "a.fits", None))
    assert [amp.geometry.name for amp in result.amps] == ["A", "B", "C", "D"]


def test_shared_header_values_stay_and_other_amplifiers_values_do_not(tmp_path: Path) -> None:
    path = write_one_hdu(detector_raw(), tmp_path / "a.fits")
    with fits.open(path, mode="update") as hdus:
        hdus[1].header["CCDTEMP"] = -100.0
        hdus[1].header["GAIN"] = 9.0
    result = FORMATTER.read(path)
    assert result.amp("S1B").header == {
        "CCDTEMP": -100.0,
        "GAIN": 1.5,
        "RDNOISE": 3.0,
        "SATURATE": 60000.0,
    }


def megaprime_like(path: Path, **cards: str) -> Path:
    """Two amplifiers in one HDU with plain DATASEC/BIASSEC and suffixed DETSECs, B left
    of A on the detector: overscan columns 1-8, imaging columns 9-24, 10 rows."""
    data = np.arange(10 * 24, dtype=np.int32).reshape(10, 24)
    hdu = fits.ImageHDU(data, name="CCD07")
    hdu.header.update(
        {
            "DATASEC": "[9:24,1:10]",
            "BIASSEC": "[1:8,1:10]",
            "DETSECA": "[9:16,1:10]",
            "DETSECB": "[1:8,1:10]",
            "GAINA": 1.5,
            "GAINB": 1.6,
            **cards,
        }
    )
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path


def test_plain_sections_are_split_in_the_order_of_the_detsec_columns(tmp_path: Path) -> None:
    result = FORMATTER.read(megaprime_like(tmp_path / "mp.fits"))
    a, b = result.amp("CCD07A").geometry, result.amp("CCD07B").geometry
    # B is left on the detector, so it takes the first pieces of DATASEC and BIASSEC.
    assert (b.data, b.overscan) == (Section(0, 10, 8, 16), Section(0, 10, 0, 4))
    assert (a.data, a.overscan) == (Section(0, 10, 16, 24), Section(0, 10, 4, 8))
    assert a.prescan is None and b.prescan is None
    assert (result.amp("CCD07A").header["GAIN"], result.amp("CCD07B").header["GAIN"]) == (1.5, 1.6)


def test_suffixed_sections_win_over_plain_ones(tmp_path: Path) -> None:
    path = megaprime_like(tmp_path / "mp.fits", BIASSECA="[5:8,1:10]", BIASSECB="[1:4,1:10]")
    result = FORMATTER.read(path)
    assert result.amp("CCD07A").geometry.overscan == Section(0, 10, 4, 8)
    assert result.amp("CCD07B").geometry.overscan == Section(0, 10, 0, 4)


def test_decam_ccdsec_places_amplifiers_in_the_ccd_and_detsec_stays_in_the_header(
    tmp_path: Path,
) -> None:
    # A real DECam extension (CCD S1) at full size: DETSECA/B place its amplifiers in the
    # 62-CCD focal plane, CCDSECA/B in the 2048 x 4096 CCD; B on the left, A on the right.
    values = real_header("fitsheader-decam-raw_dec050441_25.yaml")
    path = write_real_raw(tmp_path / "dec050441.fits", values, full=True)
    raw = FORMATTER.read_hdu(path, 1)
    assert [amp.geometry.name for amp in raw.amps] == ["S1A", "S1B"]
    parse = Section.parse
    assert raw.amp("S1A").geometry == AmpGeometry(
        "S1A",
        parse("[1081:2104,51:4146]"),
        parse("[2105:2154,51:4146]"),
        parse("[1025:2048,1:4096]"),
        parse("[2155:2160,51:4146]"),
    )
    assert raw.amp("S1B").geometry == AmpGeometry(
        "S1B",
        parse("[57:1080,51:4146]"),
        parse("[7:56,51:4146]"),
        parse("[1:1024,1:4096]"),
        parse("[1:6,51:4146]"),
    )
    assert raw.detector_shape == (4096, 2048)
    for letter in "AB":
        own = raw.amp(f"S1{letter}").header
        assert own["DETSEC"] == values[f"DETSEC{letter}"]
        assert (own["GAIN"], own["RDNOISE"]) == (
            values[f"GAIN{letter}"],
            values[f"RDNOISE{letter}"],
        )
    pieces = [(trim(amp.pixels, amp.geometry.data), amp.geometry.detector) for amp in raw.amps]
    assembled = assemble(pieces, raw.detector_shape, np.float64)
    # The stored pixels are 1000 + 100 x the amplifier's number in its DATASEC (A 1, B 2).
    assert np.all(assembled[:, :1024] == 1200.0) and np.all(assembled[:, 1024:] == 1100.0)

    FORMATTER.write(raw, tmp_path / "again.fits")
    with fits.open(tmp_path / "again.fits") as hdus:
        written = hdus["S1A"].header
        assert (written["CCDSEC"], written["DETSEC"]) == ("[1025:2048,1:4096]", values["DETSECA"])
    again = FORMATTER.read(tmp_path / "again.fits")
    for before, after in zip(raw.amps, again.amps, strict=True):
        assert (after.geometry, after.header) == (before.geometry, before.header)


def test_one_amplifier_hdu_with_ccdsec_uses_it_and_needs_no_valid_detsec(tmp_path: Path) -> None:
    path = tmp_path / "amps.fits"
    FORMATTER.write(detector_raw(), path)
    with fits.open(path, mode="update") as hdus:
        hdus[2].header["CCDSEC"] = hdus[2].header["DETSEC"]
        hdus[2].header["DETSEC"] = "[5001:5012,1:10]"  # in a focal plane: not this detector
    raw = FORMATTER.read(path)
    assert raw.amps[1].geometry == detector_raw().amps[1].geometry
    assert raw.amps[1].header["DETSEC"] == "[5001:5012,1:10]"
    assert "DETSEC" not in raw.amps[0].header
    assert raw.detector_shape == (20, 24)


def _pipeline_views(raw: RawImage) -> tuple[np.ndarray, Any]:
    """What a bug in any layout would change: the assembled raw and ISR's output."""
    pieces = [(trim(amp.pixels, amp.geometry.data), amp.geometry.detector) for amp in raw.amps]
    assembled = assemble(pieces, raw.detector_shape, np.float64)
    config = IsrConfig(do_bias=False, do_dark=False, do_flat=False, edge_width=0)
    return assembled, IsrTask(config).run(raw)["post_isr"]


def test_the_three_layouts_give_the_same_detector(tmp_path: Path) -> None:
    raw = detector_raw()
    others = {"S1": detector_raw(1, (500.0, 600.0, 700.0, 800.0)), "S2": raw}
    FORMATTER.write(raw, tmp_path / "amps.fits")
    reads = {
        "one HDU per amplifier": FORMATTER.read(tmp_path / "amps.fits"),
        "compressed, one HDU per amplifier": FORMATTER.read(
            write_amps_compressed(raw, tmp_path / "amps.fits.fz")
        ),
        "amplifiers in one HDU": FORMATTER.read(write_one_hdu(raw, tmp_path / "one.fits")),
        "HDU 2 of many detectors": FORMATTER.read_hdu(
            write_detectors({**others, "S3": others["S1"]}, tmp_path / "mef.fits", raw.header), 2
        ),
        "compressed HDU 2 of many detectors": FORMATTER.read_hdu(
            write_detectors(others, tmp_path / "mef.fits.fz", raw.header, compressed=True), 2
        ),
    }
    expected_assembly, expected = _pipeline_views(reads.pop("one HDU per amplifier"))
    rows, columns = np.indices((20, 24))
    np.testing.assert_allclose(expected.image, 1000.0 + 10.0 * rows + columns, atol=12)
    for layout, read in reads.items():
        assert read.header == raw.header, layout
        assembled, post_isr = _pipeline_views(read)
        np.testing.assert_array_equal(assembled, expected_assembly, err_msg=layout)
        np.testing.assert_array_equal(post_isr.image, expected.image, err_msg=layout)
        np.testing.assert_array_equal(post_isr.variance, expected.variance, err_msg=layout)
        np.testing.assert_array_equal(post_isr.mask, expected.mask, err_msg=layout)


def _overwrite_data(path: Path, index: int) -> None:
    """Fill HDU ``index``'s data bytes with 0xFF, leaving every header intact."""
    with fits.open(path) as hdus:
        info = hdus.fileinfo(index)
    start, span = info["datLoc"], info["datSpan"]
    with open(path, "r+b") as stream:
        stream.seek(start)
        stream.write(b"\xff" * span)


def test_one_detector_is_read_without_touching_the_other_extensions(tmp_path: Path) -> None:
    raws = {f"S{i}": detector_raw(i) for i in (1, 2, 3)}
    path = write_detectors(raws, tmp_path / "mef.fits.fz", compressed=True)
    _overwrite_data(path, 2)
    for index, name in ((1, "S1"), (3, "S3")):
        read = FORMATTER.read_hdu(path, index)
        assert read.amps[0].geometry.name == f"{name}A"
        np.testing.assert_array_equal(read.amps[0].pixels, side_by_side(raws[name])[0])
    with pytest.raises(DatastoreError, match=r"mef\.fits\.fz, HDU 2 \(S2\) as RawImage: bad data"):
        FORMATTER.read_hdu(path, 2)
    with pytest.raises(DatastoreError, match=r"mef\.fits\.fz, HDU 2 \(S2\)"):
        FORMATTER.read(path)


def test_one_detector_of_a_truncated_file_reads_if_its_hdu_is_whole(tmp_path: Path) -> None:
    raws = {f"S{i}": detector_raw(i) for i in (1, 2, 3)}
    path = write_detectors(raws, tmp_path / "mef.fits")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 2000])  # into the last detector's pixels
    np.testing.assert_array_equal(
        FORMATTER.read_hdu(path, 1).amps[0].pixels, side_by_side(raws["S1"])[0]
    )
    with pytest.raises(DatastoreError, match=r"cannot read .*mef\.fits as RawImage"):
        FORMATTER.read_hdu(path, 3)


def test_hdu_outside_the_file_or_primary_is_refused(tmp_path: Path) -> None:
    path = write_detectors({"S1": detector_raw()}, tmp_path / "mef.fits")
    with pytest.raises(
        DatastoreError, match=r"mef\.fits, HDU 2 as RawImage: the file has HDUs 0 to 1"
    ):
        FORMATTER.read_hdu(path, 2)
    with pytest.raises(DatastoreError, match="never the primary HDU"):
        FORMATTER.read_hdu(path, 0)


def test_compressed_integers_keep_their_dtype_and_values(tmp_path: Path) -> None:
    raw = detector_raw()
    raw.amps[1].pixels = raw.amps[1].pixels.astype(np.int32) - 5000
    raw.amps[2].pixels = raw.amps[2].pixels.astype(np.int16)
    path = write_amps_compressed(raw, tmp_path / "raw.fits.fz")
    with fits.open(path) as hdus:
        assert isinstance(hdus[1], fits.CompImageHDU) and hdus[1].header["BZERO"] == 32768
    read = FORMATTER.read(path)
    for original, amp in zip(raw.amps, read.amps, strict=True):
        assert amp.pixels.dtype == original.pixels.dtype and amp.pixels.dtype.isnative
        np.testing.assert_array_equal(amp.pixels, original.pixels)
        assert amp.geometry == original.geometry and amp.header == original.header


BAD_HDUS = {
    "overscan beyond NAXIS1": (
        {"BIASSECB": "[37:89,1:10]"},
        r"BIASSECB \[37:89,1:10\] falls outside the 88x10 array \(NAXIS1 x NAXIS2\)",
    ),
    "overlapping amplifiers": (
        {"DATASECB": "[10:21,1:10]"},
        r"DATASECA \[3:14,1:10\] overlaps DATASECB \[10:21,1:10\]",
    ),
    "overlapping detector sections": (
        {"DETSECB": "[1:12,1:10]"},
        r"DETSECA \[1:12,1:10\] overlaps DETSECB \[1:12,1:10\]",
    ),
    "data section without its detector section": (
        {"DETSECA": None},
        r"DATASECA is given but not DETSECA",
    ),
    "a suffixed keyword missing for one amplifier": (
        {"BIASSECC": None},
        r"BIASSECA is given but not BIASSECC",
    ),
    "imaging pixels the wrong size": (
        {"DATASECA": "[3:13,1:10]"},
        r"DATASECA \[3:13,1:10\] is 11x10 pixels but DETSECA \[1:12,1:10\] is 12x10",
    ),
    "malformed section": ({"PRESECD": "[1:2;1:10]"}, r"PRESECD: invalid FITS section"),
    "CCDSEC for some amplifiers only": (
        {"CCDSECB": "[13:24,1:10]"},
        r"CCDSECB is given but not CCDSECA",
    ),
    "overlapping CCD sections": (
        {f"CCDSEC{letter}": "[1:12,1:10]" for letter in "ABCD"},
        r"CCDSECA \[1:12,1:10\] overlaps CCDSECB \[1:12,1:10\]",
    ),
}


@pytest.mark.parametrize("cards, message", BAD_HDUS.values(), ids=BAD_HDUS.keys())
def test_bad_sections_in_a_shared_hdu_name_file_hdu_and_keyword(
    tmp_path: Path, cards: dict[str, Any], message: str
) -> None:
    path = write_detectors({"S1": detector_raw(), "S2": detector_raw(2)}, tmp_path / "bad.fits")
    with fits.open(path, mode="update") as hdus:
        for key, value in cards.items():
            if value is None:
                del hdus[2].header[key]
            else:
                hdus[2].header[key] = value
    with pytest.raises(DatastoreError) as raised:
        FORMATTER.read_hdu(path, 2)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"cannot read {path}, HDU 2 (S2) as RawImage: ")
    assert raised.match(message)
    assert FORMATTER.read_hdu(path, 1).amps[0].geometry.name == "S1A"


PLAIN_SPLITS = {
    "plain overscan not splittable equally": (
        {"BIASSEC": "[1:7,1:10]"},
        r"BIASSEC \[1:7,1:10\] \(7 columns\) cannot be split equally between 2 amplifiers",
    ),
    "plain data section of the wrong width": (
        {"DATASEC": "[9:23,1:10]"},
        r"DATASEC \[9:23,1:10\] is 15 columns wide but the amplifiers' DETSECs are 16",
    ),
    "amplifiers not side by side": (
        {"DETSECB": "[9:16,11:20]"},
        r"DATASEC \[9:24,1:10\] cannot be split between amplifiers that are not side by side",
    ),
    "no data section at all": ({"DATASEC": None}, r"no DATASECA, nor a DATASEC to split"),
}


@pytest.mark.parametrize("cards, message", PLAIN_SPLITS.values(), ids=PLAIN_SPLITS.keys())
def test_plain_sections_that_cannot_be_split_are_refused(
    tmp_path: Path, cards: dict[str, Any], message: str
) -> None:
    path = megaprime_like(tmp_path / "mp.fits")
    with fits.open(path, mode="update") as hdus:
        for key, value in cards.items():
            if value is None:
                del hdus[1].header[key]
            else:
                hdus[1].header[key] = value
    with pytest.raises(DatastoreError, match=rf"mp\.fits, HDU 1 \(CCD07\) as RawImage: {message}"):
        FORMATTER.read(path)


def test_one_amplifier_per_hdu_sections_are_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "amps.fits"
    FORMATTER.write(detector_raw(), path)
    with fits.open(path, mode="update") as hdus:
        hdus[3].header["BIASSEC"] = "[12:22,1:10]"
    with pytest.raises(
        DatastoreError,
        match=r"amps\.fits, HDU 3 \(C10\) as RawImage: DATASEC \[3:14,1:10\] overlaps "
        r"BIASSEC \[12:22,1:10\]",
    ):
        FORMATTER.read(path)


def test_two_amplifiers_of_the_same_name_are_refused(tmp_path: Path) -> None:
    path = write_detectors({"S1": detector_raw(), "S2": detector_raw(1)}, tmp_path / "twice.fits")
    with fits.open(path, mode="update") as hdus:
        hdus[2].header["EXTNAME"] = "S1"
    with pytest.raises(DatastoreError, match=r"twice\.fits as RawImage: two amplifiers 'S1A'"):
        FORMATTER.read(path)
