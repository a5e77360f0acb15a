"""Formatter for the ``Image`` storage class: FITS with IMAGE, MASK and VARIANCE extensions.

The primary HDU carries the header and no data. Keys that are not standard
FITS keywords (up to 8 of ``A-Z0-9_-``) are written as HIERARCH cards, which
keep their case. Floats are written with their shortest exact repr (astropy
would round them to 20 characters), so every header value reads back equal.
Values FITS cannot hold exactly (non-ASCII or trailing spaces in strings,
non-finite floats, structural keywords, keys equal but for case) are refused.
Arrays read back in native byte order with their original dtype. ``read(path,
rows=(y0, y1))`` reads only those rows of each plane (and the whole header),
``iter_rows(path, chunk_rows)`` reads chunk after chunk from the file opened once, and
``read_shape(path)`` only the planes' shape, so that a task can stream a large image in
bounded memory.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from quanta.core.errors import DatastoreError

from .base import unreadable, unwritable, wrong_type

_PLANES = ("IMAGE", "MASK", "VARIANCE")
#: Array dtypes FITS images hold exactly (astropy writes the unsigned and int8 ones with BZERO).
_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")
_STANDARD_KEY = re.compile(r"^[A-Z0-9_-]{1,8}$")
_RESERVED_KEY = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|EXTNAME|BSCALE|BZERO|BLANK"
    r"|COMMENT|HISTORY|CONTINUE|HIERARCH|END)$",
    re.IGNORECASE,
)
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_STRUCTURAL = re.compile(r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND)$")


class ImageFormatter:
    """``quanta.core.image.Image`` as a multi-extension ``.fits`` file."""

    storage_class = "Image"
    extension = ".fits"

    def write(self, obj: object, path: Path) -> None:
        """Write the header as the primary HDU and each plane as a named image HDU."""
        import warnings

        from astropy.io import fits
        from astropy.io.fits.verify import VerifyError, VerifyWarning

        from quanta.core.image import Image

        if not isinstance(obj, Image):
            raise wrong_type(self.storage_class, obj, "a quanta.core.image.Image")
        cards = [self._card(fits, key, value) for key, value in obj.header.items()]
        if len({key.upper() for key in obj.header}) != len(obj.header):
            raise DatastoreError(f"header keys {list(obj.header)} repeat a key ignoring case")
        for plane in (p.lower() for p in _PLANES):
            array = getattr(obj, plane)
            if getattr(array, "ndim", None) != 2 or array.dtype.name not in _DTYPES:
                got = getattr(array, "dtype", type(array).__name__)
                raise DatastoreError(
                    f"the {plane} plane of the Image must be a 2-d array of one of "
                    f"{', '.join(_DTYPES)}; got {got} with shape {getattr(array, 'shape', None)}"
                )
        hdus = [fits.PrimaryHDU(header=fits.Header(cards))]
        hdus.extend(fits.ImageHDU(getattr(obj, p.lower()), name=p) for p in _PLANES)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", VerifyWarning)
                fits.HDUList(hdus).writeto(path)
        except (OSError, ValueError, TypeError, VerifyError, VerifyWarning) as err:
            raise unwritable(self.storage_class, path, err) from err

    def read(self, path: Path, rows: tuple[int, int] | None = None) -> object:
        """Read the header and the three planes, in native byte order; any warning is an error.

        With ``rows=(y0, y1)`` only rows ``y0:y1`` of each plane are read from the file.
        """
        import numpy as np
        from astropy.io import fits
        from astropy.io.fits.verify import VerifyError
        from astropy.utils.exceptions import AstropyWarning

        from quanta.core.image import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", AstropyWarning)
                with fits.open(path, memmap=False) as hdus:
                    header = _header(hdus)
                    if rows is None:
                        planes = [hdus[name].data for name in _PLANES]
                    else:
                        planes = [self._rows(hdus[name], rows, path) for name in _PLANES]
        except DatastoreError:
            raise
        except (OSError, ValueError, KeyError, TypeError, VerifyError, AstropyWarning) as err:
            raise unreadable(self.storage_class, path, err) from err
        if any(p is None for p in planes):
            raise unreadable(self.storage_class, path, ValueError("an image plane has no data"))
        image, mask, variance = (np.asarray(p, dtype=p.dtype.newbyteorder("=")) for p in planes)
        return Image(image, mask, variance, header)

    def iter_rows(self, path: Path, chunk_rows: int) -> Iterator[object]:
        """Consecutive chunks of ``chunk_rows`` rows of every plane (the last may be
        shorter), read from the file opened once; the chunks share one header dict."""
        from astropy.io import fits
        from astropy.io.fits.verify import VerifyError
        from astropy.utils.exceptions import AstropyWarning

        from quanta.core.image import Image

        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
        errors = (OSError, ValueError, KeyError, TypeError, VerifyError, AstropyWarning)
        try:
            hdus = fits.open(path, memmap=False)
        except errors as err:
            raise unreadable(self.storage_class, path, err) from err
        with hdus:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", AstropyWarning)
                    header = _header(hdus)
                    planes = [hdus[name] for name in _PLANES]
            except errors as err:
                raise unreadable(self.storage_class, path, err) from err
            height = planes[0].shape[0] if planes[0].shape else 0
            for y0 in range(0, height, chunk_rows):
                rows = (y0, min(y0 + chunk_rows, height))
                try:
                    parts = [self._rows(plane, rows, path) for plane in planes]
                except (OSError, ValueError, TypeError) as err:
                    raise unreadable(self.storage_class, path, err) from err
                image, mask, variance = parts
                yield Image(image, mask, variance, header)

    def read_shape(self, path: Path) -> tuple[int, int]:
        """Rows and columns of the planes, from the IMAGE header alone."""
        from astropy.io import fits

        try:
            with fits.open(path, memmap=False) as hdus:
                header = hdus["IMAGE"].header
                return int(header["NAXIS2"]), int(header["NAXIS1"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise unreadable(self.storage_class, path, err) from err

    def _rows(self, hdu: Any, rows: tuple[int, int], path: Path) -> Any:
        """Rows ``y0:y1`` of one plane, read through the HDU's section (not the whole array)."""
        y0, y1 = rows
        height = hdu.shape[0] if hdu.shape else 0
        if not 0 <= y0 <= y1 <= height:
            raise DatastoreError(
                f"cannot read rows {y0}:{y1} of {path}: its planes have {height} rows"
            )
        part = hdu.section[y0:y1]
        if part.dtype.isnative or not part.flags.writeable:
            return part
        # A fresh buffer of its own: swap it in place rather than copy it.
        return part.byteswap(inplace=True).view(part.dtype.newbyteorder("="))

    def _card(self, fits: Any, key: object, value: object) -> Any:
        """One header card that reads back exactly as ``key = value``."""
        from astropy.io.fits.verify import VerifyError, VerifyWarning

        if (
            not isinstance(key, str)
            or not _PRINTABLE.match(key)
            or key != key.strip()
            or not key
            or "=" in key
            or _RESERVED_KEY.match(key)
        ):
            raise DatastoreError(
                f"header key {key!r} is not allowed: keys are printable ASCII without '=', "
                "surrounding spaces, or FITS structural keywords"
            )
        if hasattr(value, "dtype") and hasattr(value, "item") and value.dtype.kind in "biuf":
            value = value.item()
        if not isinstance(value, str | int | float | bool):
            raise DatastoreError(
                f"header value {key}={value!r} has type {type(value).__name__}; "
                "header values are str, int, float or bool"
            )
        if isinstance(value, str) and (not _PRINTABLE.match(value) or value != value.rstrip()):
            raise DatastoreError(
                f"header value {key}={value!r}: FITS strings are printable ASCII "
                "without trailing spaces"
            )
        name = key if _STANDARD_KEY.match(key) else f"HIERARCH {key}"
        if isinstance(value, float):
            if not math.isfinite(value):
                raise DatastoreError(f"header value {key}={value!r}: FITS has no NaN or infinity")
            text = f"{name:8}= " if name == key else f"{name} = "
            text += repr(value).upper()
            if len(text) > 80:
                raise DatastoreError(f"header card for {key!r} is longer than 80 characters")
        else:
            text = ""
        try:
            card = fits.Card.fromstring(text) if text else fits.Card(name, value)
            card.verify("exception")
        except (ValueError, VerifyError, VerifyWarning) as err:
            raise DatastoreError(f"header card {key}={value!r} cannot be written: {err}") from err
        return card


def _header(hdus: Any) -> dict[str, Any]:
    """The primary header as a dict, without the structural keywords FITS writes itself."""
    return {key: value for key, value in hdus[0].header.items() if not _STRUCTURAL.match(key)}


FORMATTER = ImageFormatter()
