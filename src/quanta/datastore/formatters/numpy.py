"""Formatter for the ``NumpyArray`` storage class: ``.npy`` files, never pickled.

Invariant 3 forbids pickle, so object arrays (which ``.npy`` can only hold
pickled) are refused on write, and reads pass ``allow_pickle=False`` too.
Masked arrays are refused because ``.npy`` would silently drop the mask.
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path
from typing import Any

from quanta.core.errors import DatastoreError

from .base import WholeFileBytes, unreadable, wrong_type


class NumpyFormatter(WholeFileBytes):
    """``numpy.ndarray`` of any non-object dtype as ``.npy``."""

    storage_class = "NumpyArray"
    extension = ".npy"

    def to_bytes(self, obj: object) -> bytes:
        """The ``.npy`` bytes of an array (object and masked arrays refused)."""
        import numpy as np

        if not isinstance(obj, np.ndarray) or isinstance(obj, np.ma.MaskedArray):
            raise wrong_type(self.storage_class, obj, "a numpy.ndarray (not a masked array)")
        if obj.dtype.hasobject:
            raise DatastoreError(
                f"storage class {self.storage_class!r} cannot hold an array of dtype "
                f"{obj.dtype}: object arrays need pickle, which quanta never writes"
            )
        stream = io.BytesIO()
        try:
            np.save(stream, obj, allow_pickle=False)
        except ValueError as err:
            raise DatastoreError(f"cannot write {self.storage_class}: {err}") from err
        return stream.getvalue()

    def from_bytes(self, data: bytes, path: Path) -> object:
        """The array in ``.npy`` bytes, read with ``allow_pickle=False``."""
        try:
            return _parse(data)
        except (OSError, ValueError, EOFError) as err:
            raise unreadable(self.storage_class, path, err) from err


def _parse(data: bytes) -> Any:
    """The array in ``.npy`` bytes, with a parsed header reused for every file that has
    the same one: evaluating a header costs more than reading a small array."""
    import numpy as np

    version = data[6] if data[:6] == b"\x93NUMPY" else None
    if version not in (1, 2):
        return np.load(io.BytesIO(data), allow_pickle=False)
    width = 2 if version == 1 else 4
    end = 8 + width + int.from_bytes(data[8 : 8 + width], "little")
    shape, fortran, dtype = _header(data[:end])
    if dtype.hasobject:
        return np.load(io.BytesIO(data), allow_pickle=False)
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=end)
    if fortran:
        return flat.reshape(shape[::-1]).transpose().copy(order="F")
    return flat.reshape(shape).copy()


@functools.lru_cache(maxsize=256)
def _header(prefix: bytes) -> tuple[tuple[int, ...], bool, Any]:
    """(shape, Fortran order, dtype) of an ``.npy`` file that starts with ``prefix``."""
    from numpy.lib import format as npy

    stream = io.BytesIO(prefix)
    major, _ = npy.read_magic(stream)
    read = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
    shape, fortran, dtype = read(stream)
    return tuple(shape), bool(fortran), dtype


FORMATTER = NumpyFormatter()
