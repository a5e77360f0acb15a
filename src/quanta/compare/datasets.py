"""One pair of datasets compared by storage class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .arrays import compare_images, compare_numpy, compare_raw_images
from .options import CompareOptions
from .report import BytesDiff, Detail
from .structured import compare_structured
from .tables import compare_tables


def compare_bytes(a: bytes, b: bytes, _options: CompareOptions | None = None) -> BytesDiff:
    """Byte for byte (a ``Plot``): identical or not, and the offset of the first difference."""
    first = None
    if a != b:
        shared = min(len(a), len(b))
        unequal = np.frombuffer(a, np.uint8, shared) != np.frombuffer(b, np.uint8, shared)
        first = int(unequal.argmax()) if unequal.any() else shared
    return BytesDiff(size_a=len(a), size_b=len(b), first_difference=first)


#: The comparison of each storage class's in-memory objects.
COMPARATORS: dict[str, Callable[[Any, Any, CompareOptions], Detail]] = {
    "Image": compare_images,
    "RawImage": compare_raw_images,
    "NumpyArray": compare_numpy,
    "ArrowTable": compare_tables,
    "StructuredData": compare_structured,
    "Plot": compare_bytes,
}


def compare_objects(storage_class: str, a: Any, b: Any, options: CompareOptions) -> Detail:
    """Compare two in-memory datasets of ``storage_class``."""
    return COMPARATORS[storage_class](a, b, options)
