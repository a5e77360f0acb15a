"""The RawImage formatter: round trips, readout flips, files written by others, bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from quanta.core.errors import DatastoreError
from quanta.core.raw import AmpGeometry, RawAmp, RawImage, Section
from quanta.datastore import FileDatastore, formatter_for
from quanta.instruments.simcam_layout import amp_geometry

from .conftest import MakeRef

PRIMARY = {
    "INSTRUME": "SimCam",
    "EXPTIME": 1.2345678901234567e-05,
    "DETECTOR": 3,
    "SHUTTER": True,
    "Long key": "kept with its case",
}


def raw_image(dtypes: tuple[str, ...] = ("uint16", "int32", "float32", "uint16")) -> RawImage:
    """Four SimCam-like amplifiers of 6x5 imaging pixels, one per dtype."""
    amps = []
    for index, geometry in enumerate(amp_geometry(4, 6, 5, prescan=2, overscan=3)):
        shape = (geometry.data.y1, geometry.overscan.x1)
        pixels = (np.arange(shape[0] * shape[1]).reshape(shape) + 100 * index).astype(dtypes[index])
        if index == 3:
            geometry = AmpGeometry(
                geometry.name, geometry.data, geometry.overscan, geometry.detector
            )
        amps.append(RawAmp(geometry, pixels, {"GAIN": 1.1 + index, "AMPNAME": geometry.name}))
    return RawImage(amps, dict(PRIMARY))


@pytest.mark.parametrize(
    "dtypes",
    [("uint16", "int32", "float32", "uint16"), ("int8", "uint8", "int16", "uint32")],
    ids=["camera", "more"],
)
def test_round_trip_is_exact(
    datastore: FileDatastore, make_ref: MakeRef, dtypes: tuple[str, ...]
) -> None:
    original = raw_image(dtypes)
    stored = datastore.write(original, make_ref("raw", storage_class="RawImage"))
    assert stored.path.endswith(".fits")
    result = datastore.read(stored)
    assert isinstance(result, RawImage)
    assert result.header == PRIMARY
    assert len(result.amps) == 4
    for mine, theirs in zip(original.amps, result.amps, strict=True):
        assert theirs.geometry == mine.geometry
        assert theirs.header == mine.header
        assert theirs.pixels.dtype == mine.pixels.dtype
        assert theirs.pixels.dtype.isnative and theirs.pixels.flags.writeable
        np.testing.assert_array_equal(theirs.pixels, mine.pixels)
    assert result.amps[3].geometry.prescan is None
    assert result.detector_shape == (10, 12)


def test_readout_flips_come_from_reversed_detsec(tmp_path: Path) -> None:
    path = tmp_path / "camera.fits"
    amp = fits.ImageHDU(np.zeros((4, 9), dtype=">i4"), name="C11")
    amp.header.update(DATASEC="[2:7,1:4]", BIASSEC="[8:9,1:4]", DETSEC="[12:7,8:5]")
    fits.HDUList([fits.PrimaryHDU(), amp]).writeto(path)
    raw = formatter_for("RawImage").read(path)
    assert isinstance(raw, RawImage)
    geometry = raw.amp("C11").geometry
    assert geometry.detector == Section(4, 8, 6, 12, flip_y=True, flip_x=True)
    assert geometry.data == Section(0, 4, 1, 7)
    assert geometry.overscan == Section(0, 4, 7, 9)
    assert geometry.prescan is None
    assert raw.amp("C11").pixels.dtype == np.dtype("int32")


def test_scaled_data_reads_as_astropy_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "scaled.fits"
    amp = fits.ImageHDU(np.linspace(-5, 5, 36, dtype=np.float32).reshape(4, 9), name="C00")
    amp.scale("int16", bscale=0.01, bzero=1.0)
    amp.header.update(DATASEC="[2:7,1:4]", BIASSEC="[8:9,1:4]", DETSEC="[1:6,1:4]")
    fits.HDUList([fits.PrimaryHDU(), amp]).writeto(path)
    with fits.open(path) as hdus:
        expected = hdus[1].data.copy()
    pixels = formatter_for("RawImage").read(path).amp("C00").pixels  # type: ignore[attr-defined]
    assert pixels.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(pixels, expected)


def write_amp(path: Path, **sections: str) -> Path:
    """A one-amplifier file with the given section keywords."""
    amp = fits.ImageHDU(np.zeros((4, 9), dtype=np.uint16), name="C00")
    amp.header.update(sections)
    fits.HDUList([fits.PrimaryHDU(), amp]).writeto(path)
    return path


def test_bad_section_keyword_names_file_hdu_and_keyword(tmp_path: Path) -> None:
    path = write_amp(
        tmp_path / "bad.fits", DATASEC="[2:7;1:4]", BIASSEC="[8:9,1:4]", DETSEC="[1:6,1:4]"
    )
    with pytest.raises(DatastoreError, match=r"bad\.fits, HDU 1 \(C00\).*DATASEC: invalid FITS"):
        formatter_for("RawImage").read(path)


def test_missing_section_keyword_is_an_error(tmp_path: Path) -> None:
    path = write_amp(tmp_path / "nodet.fits", DATASEC="[2:7,1:4]", BIASSEC="[8:9,1:4]")
    with pytest.raises(DatastoreError, match=r"nodet\.fits.*no DETSEC keyword"):
        formatter_for("RawImage").read(path)


def test_truncated_and_empty_files_are_errors(tmp_path: Path) -> None:
    formatter = formatter_for("RawImage")
    path = tmp_path / "raw.fits"
    formatter.write(raw_image(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3000])
    with pytest.raises(DatastoreError, match=r"cannot read .*raw\.fits as RawImage"):
        formatter.read(path)
    only_primary = tmp_path / "primary.fits"
    fits.PrimaryHDU().writeto(only_primary)
    with pytest.raises(DatastoreError, match="no amplifier HDU"):
        formatter.read(only_primary)


def test_write_refuses_other_objects_and_reserved_keywords(tmp_path: Path) -> None:
    formatter = formatter_for("RawImage")
    with pytest.raises(DatastoreError, match=r"needs a quanta\.core\.raw\.RawImage"):
        formatter.write(np.zeros(3), tmp_path / "a.fits")
    image = raw_image()
    image.amps[0].header["DATASEC"] = "[1:2,1:2]"
    with pytest.raises(DatastoreError, match="amplifier 'C00' cannot hold 'DATASEC'"):
        formatter.write(image, tmp_path / "b.fits")
    image = raw_image()
    image.header["BAD"] = float("nan")
    with pytest.raises(DatastoreError, match="BAD=nan cannot be written"):
        formatter.write(image, tmp_path / "c.fits")
    assert not any(tmp_path.iterdir())


def test_finding_the_formatter_loads_no_astropy() -> None:
    code = (
        "import sys; from quanta.datastore import formatter_for\n"
        "formatter_for('RawImage'); print('astropy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
