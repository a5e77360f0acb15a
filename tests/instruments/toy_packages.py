"""Sources of packages a user might install, for the ``install_package`` fixture: a header
translator for a camera the library does not know (ToyCam), and quanta instruments for
HSC and DECam built on ``TranslatedInstrument``, as camera files build them."""

from __future__ import annotations

from typing import Any

TRANSLATOR_MODULE = "toy_translators"
TRANSLATOR_SOURCE = """
import astropy.units as u
from astro_metadata_translator import FitsTranslator


class ToyCamTranslator(FitsTranslator):
    name = "ToyCam"
    supported_instrument = "ToyCam"
    _trivial_map = {
        "instrument": "INSTRUME",
        "detector_num": "CCDID",
        "exposure_id": "EXPNUM",
        "observation_id": "OBSID",
        "observation_type": "IMAGETYP",
        "exposure_time": ("EXPTIME", {"unit": u.s}),
        "dark_time": ("DARKTIME", {"unit": u.s}),
        "physical_filter": "FILTER",
        "observing_day": "DAYOBS",
        "observation_counter": "SEQNUM",
        "object": "OBJECT",
        "exposure_group": "GROUPID",
    }


def translators():
    return ["ToyCam"]
"""

CAMERAS_MODULE = "toy_cameras"
CAMERAS_SOURCE = """
from quanta.instruments.base import DetectorInfo
from quanta.instruments.translation import TranslatedInstrument


class TestHSC(TranslatedInstrument):
    name = "HSC"

    def __init__(self):
        detectors = [DetectorInfo(n, f"{n:03d}", ()) for n in range(112)]
        super().__init__("HSC", {"HSC-I": "i", "HSC-R": "r"}, detectors, translator="HSC")


class TestDECam(TranslatedInstrument):
    name = "DECam"

    def __init__(self):
        detectors = [DetectorInfo(n, name, ()) for n, name in ((1, "S29"), (25, "S1"))]
        z = "z DECam SDSS c0004 9260.0 1520.0"
        super().__init__("DECam", {z: "z"}, detectors, translator="DECam")
"""
CAMERAS_ENTRY_POINTS = (
    "[quanta.instruments]\nHSC = toy_cameras:TestHSC\nDECam = toy_cameras:TestDECam\n"
)


def toy_header(**changes: Any) -> dict[str, Any]:
    """A ToyCam raw header; ``changes`` override keywords."""
    values: dict[str, Any] = {
        "INSTRUME": "ToyCam",
        "CCDID": 3,
        "EXPNUM": 501,
        "OBSID": "toy_501",
        "IMAGETYP": "dome flat",
        "EXPTIME": 5.0,
        "DARKTIME": 5.5,
        "FILTER": "toy-r",
        "DAYOBS": 20260102,
        "SEQNUM": 7,
        "DATE-OBS": "2026-01-03T01:02:03.500",
        "DATE-END": "2026-01-03T01:02:08.500",
        "OBJECT": "lamp",
        "GROUPID": "pair1",
    }
    values.update(changes)
    return values
