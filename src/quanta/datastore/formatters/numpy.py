"""Formatter for the ``NumpyArray`` storage class: ``.npy`` files, never pickled.

Invariant 3 forbids pickle, so object arrays (which ``.npy`` can only hold
pickled) are refused on write, and reads pass ``allow_pickle=False`` too.
Masked arrays are refused because ``.npy`` would silently drop the mask.
"""

from __future__ import annotations

import io
from pathlib import Path

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
        import numpy as np

        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise unreadable(self.storage_class, path, err) from err


FORMATTER = NumpyFormatter()
