"""Real camera headers (``tests/data/real_headers``) as header dicts, and FITS raws written
from them with synthetic pixels in each camera's layout.

Each stored header is one primary header merged with one extension header. A header that
came from a multi-extension file (it holds ``XTENSION``) is written back as a primary HDU
without pixels plus one image HDU carrying the per-detector keywords (``EXTENSION``);
any other as one primary HDU with pixels. Structural and compression keywords of the
original file are left out: astropy writes the new file's own.

With ``full=True`` the pixels have the original image size: a bias level of 1000, and in
each amplifier's data section (``DATASECA``/``DATASECB``, ``DSECA``/``DSECB``, or HSC's
``T_EFMNn1``.. ranges) 1000 plus 100 times the amplifier's number. Otherwise a tiny array,
and no section keywords (they would lie outside it).
"""

from __future__ import annotations

import datetime
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from astropy.io import fits

DATA = Path(__file__).parents[1] / "data" / "real_headers"

#: Raw headers: file -> the instrument the library names.
RAW = {
    "fitsheader-decam.yaml": "DECam",
    "fitsheader-decam-0160496.yaml": "DECam",
    "fitsheader-decam-raw_dec050441_25.yaml": "DECam",
    "fitsheader-hsc.yaml": "HSC",
    "fitsheader-hsc-HSCA04090107.yaml": "HSC",
    "fitsheader-hsc-HSCA04090107.json": "HSC",
    "fitsheader-megaprime.yaml": "MegaPrime",
}
#: Processed images: file -> the reason they are refused.
PROCESSED = {
    "fitsheader-decam-calexp-0412037_10.yaml": "PROCTYPE is 'InstCal'",
    "fitsheader-decam-instcal-c4d_190402_050618_ooi_VR_v1.yaml": "PROCTYPE is 'InstCal'",
    "fitsheader-megaprime-calexp-849375-14.yaml": "FLUXMAG0 records a photometric zero point",
    "fitsheader-suprimecam-CORR40535770.yaml": "FLUXMAG0 records a photometric zero point",
    "fitsheader-sdss-fpC-006377-g4-0399.yaml": "FLUX20 records an SDSS photometric calibration",
}
#: Not a header: an old serialised translation.
TRANSLATION = "fitsheader-hsc.json"

#: Keywords that repeat in a header: every value is kept.
REPEATED = ("COMMENT", "HISTORY")
STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|NEXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|T(TYPE|FORM)\d+"
    r"|BSCALE|BZERO|BLANK|CHECKSUM|DATASUM|INHERIT|EXTVER|ZIMAGE|ZSIMPLE|ZTENSION|ZEXTEND"
    r"|ZBITPIX|ZNAXIS\d*|ZTILE\d+|ZCMPTYPE|ZNAME\d+|ZVAL\d+|ZQUANTIZ|ZDITHER0|Z[PG]COUNT"
    r"|ZHECKSUM|ZDATASUM)$"
)
#: The keywords of one detector's extension: its identity, amplifier geometry and WCS.
EXTENSION = re.compile(
    r"^(EXTNAME|CCDNUM|DETPOS|DETECTOR|CCDNAME|AMPNAME|AMPLIST|CCDSUM|DETSIZE"
    r"|(TRIM|DATA|BIAS|DET|CCD|AMP|PRE|POST)SEC[A-Z]?|[ABCDT]SEC[A-Z]"
    r"|GAIN[A-Z]?|RDNOISE[A-Z]?|SATURAT[A-Z]|SATURATE|LT[MV]\d(_\d)?"
    r"|(CRPIX|CRVAL|CTYPE|CUNIT)\d[A-Z]?|CD\d_\d|PV\d_\d+|EQUINOX|RADESYS|WCSDIM)$"
)
#: Amplifier section keywords, plain or suffixed.
SECTION = re.compile(r"^((TRIM|DATA|BIAS|DET|CCD|AMP|PRE|POST)SEC[A-Z]?|[ABCDT]SEC[A-Z])$")
TINY = (4, 6)
BIAS = 1000


class _Loader(yaml.SafeLoader):
    """Safe loading, with the PropertyList tag and without turning dates into objects."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TYPES = {"Double": float, "Int": int, "LongLong": int, "Bool": bool}


def _property_list(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    """A ``[KEY, TYPE, VALUE, COMMENT]`` list as a header dict."""
    assert isinstance(node, yaml.SequenceNode)
    header: dict[str, Any] = {}
    for key, kind, value, _comment in loader.construct_sequence(node, deep=True):
        if key in REPEATED:
            header.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        elif value is not None:
            header[key] = _TYPES.get(kind, str)(value)
    return header


_Loader.add_constructor("lsst.daf.base.PropertyList", _property_list)


def read_header(path: Path) -> dict[str, Any]:
    """The header dict stored in ``path``, whichever of the three forms it has."""
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
        if data.pop("__CONTENT__", None) != "metadata":
            raise ValueError(f"{path.name} holds a translation, not a header")
    else:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    return {key: value for key, value in data.items() if key and value is not None}


def header(name: str, **changes: Any) -> dict[str, Any]:
    """The stored header ``name`` with ``changes`` (``None`` removes a keyword)."""
    values = read_header(DATA / name)
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def write_raw(
    path: Path,
    values: Mapping[str, Any],
    *,
    extensions: Sequence[Mapping[str, Any]] = ({},),
    full: bool = False,
) -> Path:
    """Write ``values`` as a raw in its camera's layout; a multi-extension file gets one
    image HDU per item of ``extensions`` (keywords changing that detector's)."""
    kept = {k: v for k, v in values.items() if not STRUCTURAL.match(k)}
    if not full:  # sections of the original size would lie outside the tiny array
        kept = {k: v for k, v in kept.items() if not SECTION.match(k)}
    shape = _shape(values) if full else TINY
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # HIERARCH cards for long keywords
        if "XTENSION" not in values:
            hdus: list[Any] = [fits.PrimaryHDU(_pixels(values, shape), _header(kept))]
        else:
            primary = {k: v for k, v in kept.items() if not EXTENSION.match(k)}
            detector = {k: v for k, v in kept.items() if EXTENSION.match(k)}
            hdus = [fits.PrimaryHDU(header=_header(primary))]
            for changes in extensions:
                own = {**detector, **changes}
                hdus.append(fits.ImageHDU(_pixels(own, shape), _header(own)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fits.HDUList(hdus).writeto(path)
    return path


def _header(values: Mapping[str, Any]) -> fits.Header:
    """A FITS header of ``values``; repeated keywords become one card per value."""
    result = fits.Header()
    for key, value in values.items():
        if key in REPEATED:
            for line in value:
                result.append((key, line))
        else:
            result[key] = value.isoformat() if isinstance(value, datetime.date) else value
    return result


def _shape(values: Mapping[str, Any]) -> tuple[int, int]:
    """The original image's (rows, columns)."""
    if "ZNAXIS1" in values:
        return int(values["ZNAXIS2"]), int(values["ZNAXIS1"])
    return int(values["NAXIS2"]), int(values["NAXIS1"])


def _pixels(values: Mapping[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """Synthetic uint16 pixels: bias level, and each amplifier's data section set apart."""
    pixels = np.full(shape, BIAS, dtype=np.uint16)
    if shape == TINY:
        return pixels
    for number, (rows, columns) in enumerate(data_sections(values), 1):
        pixels[rows, columns] = BIAS + 100 * number
    return pixels


def data_sections(values: Mapping[str, Any]) -> list[tuple[slice, slice]]:
    """Each amplifier's data section as (row, column) slices, in amplifier order."""
    sections = []
    for key in sorted(k for k in values if re.match(r"^(DATASEC|DSEC)[A-Z]$", k)):
        numbers = [int(n) for n in re.findall(r"\d+", values[key])]
        x1, x2, y1, y2 = numbers
        sections.append((_span(y1, y2), _span(x1, x2)))
    amp = 1
    while f"T_EFMN{amp}1" in values:
        x = _span(values[f"T_EFMN{amp}1"], values[f"T_EFMX{amp}1"])
        sections.append((_span(values[f"T_EFMN{amp}2"], values[f"T_EFMX{amp}2"]), x))
        amp += 1
    return sections


def _span(first: int, last: int) -> slice:
    """A 1-based inclusive FITS range, either way round, as a slice."""
    return slice(min(first, last) - 1, max(first, last))
