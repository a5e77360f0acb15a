"""Formatter for the ``StructuredData`` storage class: JSON with sorted keys.

Output is deterministic (sorted keys, fixed indentation, UTF-8, trailing
newline), so rewriting the same data gives a byte-identical file. NumPy
scalars are stored as their Python equivalents. Non-finite floats are written
as ``NaN``, ``Infinity`` and ``-Infinity``, the extension Python's ``json``,
pandas and JSON5 readers accept, so they read back as the same floats instead
of turning into ``null``. Tuples read back as lists; dictionary keys must be
strings, so that every key reads back as it was written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from quanta.core.errors import DatastoreError

from .base import WholeFileBytes, unreadable, wrong_type

_EXPECTED = "a dict, list, str, int, float, bool or None (numpy scalars allowed)"


class JsonFormatter(WholeFileBytes):
    """JSON-compatible dicts, lists and scalars as ``.json``."""

    storage_class = "StructuredData"
    extension = ".json"

    def to_bytes(self, obj: object) -> bytes:
        """The UTF-8 bytes of ``obj`` as indented JSON with sorted keys and a final newline."""
        text = json.dumps(self._plain(obj, "$"), sort_keys=True, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    def from_bytes(self, data: bytes, path: Path) -> object:
        """The document in a JSON file's bytes."""
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as err:
            raise unreadable(self.storage_class, path, err) from err

    def _plain(self, obj: Any, where: str) -> Any:
        """``obj`` as plain Python values, refusing what JSON cannot hold exactly."""
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, dict):
            for key in obj:
                if not isinstance(key, str):
                    raise DatastoreError(
                        f"storage class {self.storage_class!r} needs string keys; "
                        f"{where} has key {key!r} of type {type(key).__name__}"
                    )
            return {key: self._plain(value, f"{where}.{key}") for key, value in obj.items()}
        if isinstance(obj, list | tuple):
            return [self._plain(value, f"{where}[{i}]") for i, value in enumerate(obj)]
        if _is_numpy_scalar(obj):
            return obj.item()
        if where == "$":
            raise wrong_type(self.storage_class, obj, _EXPECTED)
        raise DatastoreError(
            f"storage class {self.storage_class!r} cannot hold {where} of type "
            f"{type(obj).__module__}.{type(obj).__qualname__}; expected {_EXPECTED}"
        )


def _is_numpy_scalar(obj: object) -> bool:
    """True for numpy scalars, checked without importing numpy when it is not loaded."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(obj, numpy.generic) and obj.dtype.kind in "biuf"


FORMATTER = JsonFormatter()
