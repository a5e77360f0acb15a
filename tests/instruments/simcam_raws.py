"""Small SimCam raw files written with astropy, following ``quanta.core.raw``'s layout,
good and bad ones, and what the tests check after ingesting them.

Exposure ``seq`` of night ``DAY_OBS`` has id ``DAY_OBS * 100000 + seq``, starts at
03:00 UTC plus ``seq`` minutes on the next calendar day, and lasts its exposure time.
Pixels are ``uint16``: ``1000 * detector + 10 * amplifier index + seq`` plus a ramp, so
every amplifier of every raw is different and known.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from quanta.butler import Butler
from quanta.instruments.simcam_layout import amp_geometry

DAY_OBS = 20250301
N_AMPS = 4
AMP_SIZE = (16, 12)


def exposure_id(seq: int) -> int:
    """The SimCam exposure id of sequence number ``seq`` on ``DAY_OBS``."""
    return DAY_OBS * 100_000 + seq


def header(
    seq: int,
    detector: int,
    imgtype: str = "science",
    exptime: float = 15.0,
    physical_filter: str = "SimCam-r",
    **changes: Any,
) -> dict[str, Any]:
    """A SimCam primary header; ``changes`` override keywords (``None`` removes one)."""
    start = datetime.datetime(2025, 3, 2, 3, 0) + datetime.timedelta(minutes=seq)
    end = start + datetime.timedelta(seconds=exptime)
    values: dict[str, Any] = {
        "INSTRUME": "SimCam",
        "DETECTOR": detector,
        "DETNAME": f"S{detector:02d}",
        "EXPID": exposure_id(seq),
        "OBSID": f"SC_{DAY_OBS}_{seq:06d}",
        "IMGTYPE": imgtype,
        "EXPTIME": exptime,
        "DARKTIME": exptime + 0.5,
        "FILTER": physical_filter,
        "DATE-OBS": start.isoformat(timespec="milliseconds"),
        "DATE-END": end.isoformat(timespec="milliseconds"),
        "DAYOBS": DAY_OBS,
        "SEQNUM": seq,
        "GROUPID": f"group{seq // 2}",
        "OBJECT": "field1" if imgtype == "science" else None,
    }
    values.update({k.replace("_", "-"): v for k, v in changes.items()})
    return {k: v for k, v in values.items() if v is not None}


def amp_pixels(seq: int, detector: int, index: int) -> np.ndarray:
    """The stored pixels of one amplifier (prescan, data and overscan)."""
    width, height = AMP_SIZE
    geometry = amp_geometry(N_AMPS, width, height)[index]
    rows, columns = geometry.overscan.y1, geometry.overscan.x1
    ramp = np.arange(rows * columns, dtype=np.uint16).reshape(rows, columns)
    return ramp + np.uint16(1000 * detector + 10 * index + seq)


def write_raw(path: Path, primary: dict[str, Any]) -> Path:
    """Write a raw MEF file: ``primary`` header, then one HDU per amplifier."""
    width, height = AMP_SIZE
    seq, detector = primary.get("SEQNUM", 0), primary.get("DETECTOR", 0)
    hdus: list[Any] = [fits.PrimaryHDU(header=fits.Header(list(primary.items())))]
    for index, geometry in enumerate(amp_geometry(N_AMPS, width, height)):
        amp = fits.ImageHDU(amp_pixels(seq, detector, index), name=geometry.name)
        amp.header["DATASEC"] = geometry.data.to_fits()
        amp.header["BIASSEC"] = geometry.overscan.to_fits()
        if geometry.prescan is not None:
            amp.header["PRESEC"] = geometry.prescan.to_fits()
        amp.header["DETSEC"] = geometry.detector.to_fits()
        amp.header["GAIN"] = 1.5 + index / 10
        hdus.append(amp)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path)
    return path


def write_exposures(
    directory: Path, seqs: tuple[int, ...] = (1, 2, 3), detectors: tuple[int, ...] = (0, 1)
) -> list[Path]:
    """Good raws for every sequence number and detector, one file each, under ``directory``."""
    return [
        write_raw(directory / f"raw_{seq:03d}_{det:02d}.fits", header(seq, det))
        for seq in seqs
        for det in detectors
    ]


def exposure_ids(butler: Butler) -> set[int]:
    """Ids of every SimCam exposure record."""
    records = butler.query_dimension_records("exposure", data_id={"instrument": "SimCam"})
    return {r.id for r in records}


def write_bad_files(directory: Path) -> dict[str, str]:
    """A truncated file, one missing EXPTIME, one from an unknown instrument and one whose
    EXPID no 64-bit column holds, each the only file of its exposure; returns file name ->
    expected start of the reason."""
    truncated = write_raw(directory / "truncated.fits", header(10, 0))
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) - 2000])
    write_raw(directory / "no_exptime.fits", header(11, 0, EXPTIME=None))
    write_raw(directory / "unknown.fits", header(12, 0, INSTRUME="NoCam"))
    write_raw(directory / "huge_expid.fits", header(13, 0, EXPID=99999999999999999999))
    return {
        "truncated.fits": "truncated: HDU 4 ends at byte",
        "no_exptime.fits": "missing keyword EXPTIME",
        "unknown.fits": "unknown instrument 'NoCam'; known instruments: SimCam",
        "huge_expid.fits": "exposure record key 'id': 99999999999999999999 is outside the 64-bit",
    }
