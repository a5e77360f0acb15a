"""Formatter for the ``RawImage`` storage class: raw FITS files in three layouts.

A primary HDU holds the observation header; image HDUs hold the pixels, as
``quanta.core.raw`` describes: one amplifier per HDU, several amplifiers in one HDU with
letter-suffixed sections (``raw_layout`` reads both), or, in a file of many detectors,
one detector per image HDU, read alone by ``read_hdu`` (the datastore passes the HDU its
record names). Tile-compressed HDUs (``.fits.fz``) read like plain ones. Pixels keep the
dtype they were stored with, in native byte order: FITS's unsigned-integer convention
(``BZERO`` = 2**(bits-1)) gives unsigned arrays back, any other ``BSCALE``/``BZERO``
floats, as astropy would. Pixel data is memory-mapped while read and scaled here (astropy
cannot memory-map scaled images), so an HDU's pixels are copied once, not read into a
buffer and then byte-swapped or scaled into another; amplifiers sharing an HDU share
that copy. ``write`` puts one amplifier in each HDU; an amplifier whose header keeps its
focal-plane ``DETSEC`` (read beside a ``CCDSEC``) is written back the same way, its
detector section as ``CCDSEC``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quanta.core.errors import DatastoreError

from .base import unreadable, unwritable, wrong_type
from .raw_layout import CCD_SECTION, FOCAL_PLANE, SECTIONS, amp_layouts, header_dict, is_reserved

_STANDARD_KEY = re.compile(r"^[A-Z0-9_-]{1,8}$")


class RawFormatter:
    """``quanta.core.raw.RawImage`` as a multi-extension ``.fits`` file."""

    storage_class = "RawImage"
    extension = ".fits"

    def read(self, path: Path) -> object:
        """Read every image HDU's amplifiers with their geometry, pixels and header."""
        return self._read(path, None)

    def read_hdu(self, path: Path, hdu: int) -> object:
        """Read the primary header and the amplifiers of image HDU ``hdu`` alone (one
        detector of a file of many); other HDUs' data is never touched."""
        return self._read(path, hdu)

    def _read(self, path: Path, hdu: int | None) -> object:
        import warnings

        from astropy.io import fits
        from astropy.io.fits.verify import VerifyError
        from astropy.utils.exceptions import AstropyWarning

        from quanta.core.raw import RawImage

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", AstropyWarning)
                with fits.open(path, memmap=True, do_not_scale_image_data=True) as hdus:
                    header = header_dict(hdus[0].header)
                    if hdu is None:
                        images = list(enumerate(hdus[1:], 1))
                    else:
                        images = [(hdu, _extension(path, hdus, hdu))]
                    amps = [a for index, image in images for a in _read_amps(path, index, image)]
        except DatastoreError:
            raise
        except (OSError, ValueError, TypeError, VerifyError, AstropyWarning) as err:
            raise unreadable(self.storage_class, path, err) from err
        if not amps:
            raise unreadable(self.storage_class, path, ValueError("it has no amplifier HDU"))
        names = [amp.geometry.name for amp in amps]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice is not None:
            raise unreadable(self.storage_class, path, ValueError(f"two amplifiers {twice!r}"))
        return RawImage(amps, header)

    def write(self, obj: object, path: Path) -> None:
        """Write the primary header, then one image HDU per amplifier with its sections."""
        import numpy as np
        from astropy.io import fits
        from astropy.io.fits.verify import VerifyError

        from quanta.core.raw import RawImage

        if not isinstance(obj, RawImage):
            raise wrong_type(self.storage_class, obj, "a quanta.core.raw.RawImage")
        hdus = [fits.PrimaryHDU(header=_header(obj.header, "the primary header"))]
        for amp in obj.amps:
            name = amp.geometry.name
            if not isinstance(amp.pixels, np.ndarray) or amp.pixels.ndim != 2:
                raise DatastoreError(f"the pixels of amplifier {name!r} must be a 2-d array")
            own = {k: v for k, v in amp.header.items() if k != FOCAL_PLANE}
            header = _header(own, f"the header of amplifier {name!r}")
            focal_plane = amp.header.get(FOCAL_PLANE)
            for keyword, attribute in SECTIONS.items():
                section = getattr(amp.geometry, attribute)
                in_ccd = keyword == "DETSEC" and focal_plane is not None
                if section is not None:
                    header[CCD_SECTION if in_ccd else keyword] = section.to_fits()
            if focal_plane is not None:
                header[FOCAL_PLANE] = str(focal_plane)
            hdus.append(fits.ImageHDU(amp.pixels, header=header, name=name))
        try:
            fits.HDUList(hdus).writeto(path)
        except (OSError, ValueError, TypeError, VerifyError) as err:
            raise unwritable(self.storage_class, path, err) from err


def _extension(path: Path, hdus: Any, index: int) -> Any:
    """Image HDU ``index`` of an open file; only the headers before it are read."""
    if index < 1:
        raise DatastoreError(
            f"cannot read {path}, HDU {index} as RawImage: a detector is an image extension "
            "(HDU 1 or later), never the primary HDU"
        )
    try:
        return hdus[index]
    except IndexError:
        raise DatastoreError(
            f"cannot read {path}, HDU {index} as RawImage: the file has HDUs 0 to {len(hdus) - 1}"
        ) from None


def _read_amps(path: Path, index: int, hdu: Any) -> list[Any]:
    """The amplifiers of one image HDU, sharing its pixels; bad or missing
    sections name the file, the HDU and the keyword."""
    from quanta.core.raw import RawAmp

    name = hdu.header.get("EXTNAME")
    where = f"{path}, HDU {index} ({name or 'no EXTNAME'})"
    try:
        data = hdu.data
    except Exception as err:  # a corrupt compressed HDU fails in its codec, with its own types
        raise DatastoreError(f"cannot read {where} as RawImage: bad data: {err}") from err
    if data is None or data.ndim != 2:
        raise DatastoreError(f"cannot read {where} as RawImage: it holds no 2-d image")
    try:
        layouts = amp_layouts(dict(hdu.header.items()), name, data.shape)
    except ValueError as err:
        raise DatastoreError(f"cannot read {where} as RawImage: {err}") from None
    pixels = _physical(data, hdu.header.get("BSCALE", 1), hdu.header.get("BZERO", 0))
    return [RawAmp(geometry, pixels, header) for geometry, header in layouts]


def _physical(stored: Any, bscale: float, bzero: float) -> Any:
    """Stored (memory-mapped, big-endian) values as a native array of their own."""
    import numpy as np

    size = stored.dtype.itemsize
    sign_bit = 1 << (8 * size - 1)
    if bscale == 1 and bzero == 0:
        return np.require(stored, stored.dtype.newbyteorder("="), ["OWNDATA", "WRITEABLE"])
    flipped = {("i", sign_bit): "u", ("u", -sign_bit): "i"}.get((stored.dtype.kind, bzero))
    if bscale == 1 and flipped is not None:
        # FITS keeps unsigned (or int8) integers offset by half their range: flip the sign bit.
        pixels = stored.astype(f"={flipped}{size}")
        pixels ^= np.array(sign_bit, f"u{size}").view(pixels.dtype)
        return pixels
    return stored.astype(np.float32 if size <= 2 else np.float64) * bscale + bzero


def _header(values: Mapping[str, Any], what: str) -> Any:
    """An astropy header holding ``values`` exactly (floats as their shortest repr)."""
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyError

    header = fits.Header()
    for key, value in values.items():
        if not isinstance(key, str) or is_reserved(key.upper()):
            raise DatastoreError(
                f"{what} cannot hold {key!r}: structural, commentary and section keywords "
                "are written from the data and the amplifier geometry"
            )
        name = key if _STANDARD_KEY.match(key) else f"HIERARCH {key}"
        if hasattr(value, "item") and hasattr(value, "dtype"):
            value = value.item()
        try:
            if isinstance(value, float) and math.isfinite(value):
                text = f"{name:8}= " if name == key else f"{name} = "
                card = fits.Card.fromstring(text + repr(value).upper())
            else:
                card = fits.Card(name, value)
            card.verify("exception")
        except (ValueError, TypeError, VerifyError) as err:
            raise DatastoreError(f"{what}: {key}={value!r} cannot be written: {err}") from err
        header.append(card)
    return header


FORMATTER = RawFormatter()
