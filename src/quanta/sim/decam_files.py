"""Writing SimDECam raws and camera file: DECam's header dialect and CCD extensions.

A file holds one exposure: a primary HDU without pixels whose header has the keywords
astro-metadata-translator's DECam translator reads (``INSTRUME = 'DECam'``, ``EXPNUM``,
``OBSID``, ``OBSTYPE``, ``DATE-OBS``...), then one image HDU per CCD (``EXTNAME`` =
``DETPOS``, ``CCDNUM``) with its amplifiers side by side in the order of their columns on
the CCD, each described by letter-suffixed keywords: ``DATASEC``, ``BIASSEC``, ``PRESEC``
(in the HDU), ``CCDSEC`` (in the CCD), ``DETSEC`` (in the focal plane, where the CCDs lie
in one row), ``GAIN``, ``RDNOISE`` and ``SATURAT``. Nothing time-dependent is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.raw import AmpGeometry, Section
from .raw_files import AmpImage
from .schedule import Exposure, iso
from .truth import DetectorTruth

INSTRUMENT = "SimDECam"
#: The file ``simulate`` writes beside the raws: the camera, for ``register-instrument``.
CAMERA_FILE = "camera.yaml"
#: DECam's ``OBSTYPE`` of each simulated image type.
OBSTYPES = {"bias": "zero", "dark": "dark", "flat": "dome flat", "science": "object"}
#: The amplifier layout name every CCD of the camera file shares.
LAYOUT_NAME = "two"


def raw_filename(expid: int) -> str:
    """``SimDECam_<EXPNUM>.fits``."""
    return f"{INSTRUMENT}_{expid}.fits"


def primary_header(exposure: Exposure) -> list[tuple[str, Any, str]]:
    """The primary-header cards of one exposure, in the DECam dialect."""
    return [
        ("INSTRUME", "DECam", "instrument (DECam dialect; a SimDECam camera)"),
        ("EXPNUM", exposure.expid, "exposure number"),
        ("OBSID", exposure.obsid, "observation id, unique per exposure"),
        ("OBSTYPE", OBSTYPES[exposure.imgtype], "zero, dark, dome flat or object"),
        ("PROCTYPE", "RAW", "processing type"),
        ("DATE-OBS", iso(exposure.date_obs), "start of the exposure"),
        ("TIMESYS", "UTC", "time system of DATE-OBS"),
        ("EXPTIME", exposure.exptime, "exposure time (s)"),
        ("DARKTIME", exposure.darktime, "dark time (s)"),
        ("FILTER", exposure.filter, "filter"),
        ("OBJECT", exposure.object, "target name"),
    ]


def shared_hdu_geometry(amps: Sequence[AmpGeometry]) -> list[AmpGeometry]:
    """Each amplifier's sections in an HDU holding every amplifier's block side by side, in
    the order of their columns on the CCD; in the order given."""
    widths = {g.name: max(s.x1 for s in (g.data, g.overscan, g.prescan) if s) for g in amps}
    offsets, offset = {}, 0
    for geometry in sorted(amps, key=lambda g: g.detector.x0):
        offsets[geometry.name] = offset
        offset += widths[geometry.name]
    return [
        dataclasses.replace(
            g,
            data=_shift(g.data, offsets[g.name]),
            overscan=_shift(g.overscan, offsets[g.name]),
            prescan=None if g.prescan is None else _shift(g.prescan, offsets[g.name]),
        )
        for g in amps
    ]


def _shift(section: Section, columns: int) -> Section:
    return dataclasses.replace(section, x0=section.x0 + columns, x1=section.x1 + columns)


def ccd_hdu(detector: DetectorTruth, amps: Sequence[AmpImage]) -> Any:
    """One CCD's image HDU: its amplifiers' pixels side by side, with their keywords."""
    from astropy.io import fits

    geometry = shared_hdu_geometry([amp.geometry for amp in amps])
    by_column = sorted(zip(geometry, amps, strict=True), key=lambda pair: pair[0].detector.x0)
    hdu = fits.ImageHDU(np.hstack([amp.pixels for _, amp in by_column]))
    ccd_columns = max(g.detector.x1 for g in geometry)
    focal_plane = (detector.id - 1) * ccd_columns
    cards: list[tuple[str, Any, str]] = [
        ("EXTNAME", detector.name, "CCD position (DETPOS)"),
        ("CCDNUM", detector.id, "CCD number"),
        ("DETPOS", detector.name, "CCD position"),
    ]
    for g, amp in zip(geometry, amps, strict=True):
        letter = g.name
        cards += [
            (f"DATASEC{letter}", g.data.to_fits(), f"amp {letter} imaging pixels in this HDU"),
            (f"BIASSEC{letter}", g.overscan.to_fits(), f"amp {letter} overscan in this HDU"),
        ]
        if g.prescan is not None:
            cards.append((f"PRESEC{letter}", g.prescan.to_fits(), f"amp {letter} prescan"))
        cards += [
            (f"CCDSEC{letter}", g.detector.to_fits(), f"amp {letter} place in the CCD"),
            (
                f"DETSEC{letter}",
                _shift(g.detector, focal_plane).to_fits(),
                f"amp {letter} place in the focal plane",
            ),
            (f"GAIN{letter}", amp.truth.gain, f"amp {letter} true gain (e-/ADU)"),
            (f"RDNOISE{letter}", amp.truth.read_noise, f"amp {letter} true read noise (e-)"),
            (f"SATURAT{letter}", amp.truth.saturation, f"amp {letter} saturation (ADU)"),
        ]
    cards.append(("BUNIT", "adu", "pixel unit"))
    for key, value, comment in cards:
        hdu.header[key] = (value, comment)
    return hdu


def write_exposure(
    path: Path,
    header: Sequence[tuple[str, Any, str]],
    readouts: Iterable[tuple[DetectorTruth, list[AmpImage]]],
) -> list[int]:
    """Write one exposure to ``path`` (replacing any file there): the primary ``header``
    and one HDU per CCD of ``readouts``; the CCD numbers in HDU order."""
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    for key, value, comment in header:
        primary.header[key] = (value, comment)
    hdus: list[Any] = [primary]
    detectors = []
    for detector, amps in readouts:
        hdus.append(ccd_hdu(detector, amps))
        detectors.append(detector.id)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return detectors


def camera_file(
    name: str,
    filters: Mapping[str, str | None],
    amps: Sequence[AmpGeometry],
    detectors: Sequence[tuple[int, str]],
) -> str:
    """The text of a camera file (``quanta.instruments.camera``) for these CCDs, all of
    one amplifier layout whose sections are those of the raws."""
    import yaml

    layout = []
    for g in shared_hdu_geometry(amps):
        amp = {"name": g.name, "data": g.data.to_fits(), "overscan": g.overscan.to_fits()}
        if g.prescan is not None:
            amp["prescan"] = g.prescan.to_fits()
        layout.append({**amp, "detector": g.detector.to_fits()})
    content = {
        "name": name,
        "translator": "DECam",
        "filters": [{"name": f, "band": band} for f, band in filters.items()],
        "amplifier_layouts": {LAYOUT_NAME: layout},
        "detectors": [{"id": i, "name": n, "layout": LAYOUT_NAME} for i, n in detectors],
    }
    comment = (
        f"# {name}: the DECam-like camera of 'quanta simulate --layout decam'. Its raws carry\n"
        "# DECam headers; each CCD's two amplifiers share one HDU.\n"
    )
    return comment + yaml.safe_dump(content, sort_keys=False)
