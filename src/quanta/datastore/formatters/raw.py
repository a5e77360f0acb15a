"""Formatter for the ``RawImage`` storage class: a raw multi-extension FITS file.

The layout is the one ``quanta.core.raw`` describes: a primary HDU with the observation
header and no data, then one image HDU per amplifier named by ``EXTNAME`` and carrying
its ``DATASEC``, ``BIASSEC``, optional ``PRESEC`` and ``DETSEC``. Pixels keep the dtype
they were stored with, in native byte order: FITS's unsigned-integer convention
(``BZERO`` = 2**(bits-1)) gives unsigned arrays back, any other ``BSCALE``/``BZERO``
floats, as astropy would. Pixel data is memory-mapped while read and scaled here (astropy
cannot memory-map scaled images), so a file's pixels are copied once, not read into a
buffer and then byte-swapped or scaled into another.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quanta.core.errors import DatastoreError

from .base import unreadable, unwritable, wrong_type

#: Section keyword -> ``AmpGeometry`` attribute, in the order they are written.
SECTIONS = {"DATASEC": "data", "BIASSEC": "overscan", "PRESEC": "prescan", "DETSEC": "detector"}
_REQUIRED_SECTIONS = ("DATASEC", "BIASSEC", "DETSEC")
#: Keywords astropy writes from the data and the HDU itself; never part of a header dict.
_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|EXTNAME|BSCALE|BZERO|BLANK"
    r"|CHECKSUM|DATASUM|COMMENT|HISTORY|)$"
)
_STANDARD_KEY = re.compile(r"^[A-Z0-9_-]{1,8}$")


class RawFormatter:
    """``quanta.core.raw.RawImage`` as a multi-extension ``.fits`` file."""

    storage_class = "RawImage"
    extension = ".fits"

    def read(self, path: Path) -> object:
        """Read every amplifier HDU with its geometry, pixels and header."""
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
                    amps = [_read_amp(path, index, hdu) for index, hdu in enumerate(hdus[1:], 1)]
        except DatastoreError:
            raise
        except (OSError, ValueError, TypeError, VerifyError, AstropyWarning) as err:
            raise unreadable(self.storage_class, path, err) from err
        if not amps:
            raise unreadable(self.storage_class, path, ValueError("it has no amplifier HDU"))
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
            header = _header(amp.header, f"the header of amplifier {name!r}")
            for keyword, attribute in SECTIONS.items():
                section = getattr(amp.geometry, attribute)
                if section is not None:
                    header[keyword] = section.to_fits()
            hdus.append(fits.ImageHDU(amp.pixels, header=header, name=name))
        try:
            fits.HDUList(hdus).writeto(path)
        except (OSError, ValueError, TypeError, VerifyError) as err:
            raise unwritable(self.storage_class, path, err) from err


def header_dict(header: Any) -> dict[str, Any]:
    """A FITS header as a plain dict, without structural, commentary or section keywords."""
    return {
        key: value
        for key, value in header.items()
        if not _STRUCTURAL.match(key) and key not in SECTIONS
    }


def _read_amp(path: Path, index: int, hdu: Any) -> Any:
    """One amplifier HDU as a ``RawAmp``; bad or missing sections name the file and HDU."""

    from quanta.core.raw import AmpGeometry, RawAmp, Section

    name = hdu.header.get("EXTNAME")
    where = f"{path}, HDU {index} ({name or 'no EXTNAME'})"
    if not name:
        raise DatastoreError(f"cannot read {where} as RawImage: no EXTNAME (amplifier name)")
    sections: dict[str, Section | None] = {}
    for keyword, attribute in SECTIONS.items():
        text = hdu.header.get(keyword)
        if text is None and keyword in _REQUIRED_SECTIONS:
            raise DatastoreError(f"cannot read {where} as RawImage: no {keyword} keyword")
        try:
            sections[attribute] = None if text is None else Section.parse(str(text))
        except ValueError as err:
            raise DatastoreError(f"cannot read {where} as RawImage: {keyword}: {err}") from None
    data = hdu.data
    if data is None or data.ndim != 2:
        raise DatastoreError(f"cannot read {where} as RawImage: it holds no 2-d image")
    pixels = _physical(data, hdu.header.get("BSCALE", 1), hdu.header.get("BZERO", 0))
    data, overscan, detector = sections["data"], sections["overscan"], sections["detector"]
    assert data is not None and overscan is not None and detector is not None  # required
    geometry = AmpGeometry(name, data, overscan, detector, sections["prescan"])
    return RawAmp(geometry, pixels, header_dict(hdu.header))


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
        if not isinstance(key, str) or _STRUCTURAL.match(key.upper()) or key in SECTIONS:
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
