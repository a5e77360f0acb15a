"""Dataset types and the storage classes quanta knows how to read and write."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError
from .universe import DimensionGroup

#: Storage class name -> one-line description of the in-memory type.
STORAGE_CLASSES: dict[str, str] = {
    "Image": "quanta.core.image.Image (image, mask and variance planes with a header), as FITS",
    "RawImage": "quanta.core.raw.RawImage (amplifiers as read out), as multi-extension FITS",
    "ArrowTable": "pyarrow.Table, as Parquet",
    "StructuredData": "dict, list or scalar of JSON-compatible values, as JSON",
    "NumpyArray": "numpy.ndarray of a non-object dtype, as .npy",
    "Plot": "bytes of a rendered PNG image (a figure), as .png",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
#: The longest dataset type name: the width of the registry's name column.
MAX_NAME_LENGTH = 128


def check_storage_class(name: str) -> str:
    """Return ``name`` if it is a known storage class, else raise a ``ConfigError``."""
    if name not in STORAGE_CLASSES:
        raise ConfigError(
            f"unknown storage class {name!r}; valid storage classes: {', '.join(STORAGE_CLASSES)}"
        )
    return name


@dataclass(frozen=True, slots=True)
class DatasetType:
    """A named kind of dataset: its dimensions, storage class and whether it is a calibration."""

    name: str
    dimensions: DimensionGroup
    storage_class: str
    is_calibration: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"invalid dataset type name {self.name!r}: use letters, digits, '_' and '.', "
                "starting with a letter or '_'"
            )
        if len(self.name) > MAX_NAME_LENGTH:
            raise ConfigError(
                f"dataset type name {self.name[:40]}... is {len(self.name)} characters long; "
                f"at most {MAX_NAME_LENGTH} are allowed"
            )
        check_storage_class(self.storage_class)

    def describe(self) -> str:
        """One-line description used in conflict messages."""
        calib = ", calibration" if self.is_calibration else ""
        return f"{self.name}{self.dimensions} {self.storage_class}{calib}"

    def differences(self, other: DatasetType) -> list[str]:
        """Names of the attributes that differ from ``other``."""
        diffs = []
        if self.dimensions != other.dimensions:
            diffs.append(f"dimensions {self.dimensions} != {other.dimensions}")
        if self.storage_class != other.storage_class:
            diffs.append(f"storage_class {self.storage_class} != {other.storage_class}")
        if self.is_calibration != other.is_calibration:
            diffs.append(f"is_calibration {self.is_calibration} != {other.is_calibration}")
        return diffs
