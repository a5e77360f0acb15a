"""The manifest of an export bundle: versioned pydantic models of everything a bundle holds.

A bundle is a directory (or a ``.zip`` of one) with ``manifest.json`` at its top and the
dataset files under it, each at the relative path its ``files`` entry names. The manifest
lists dimension records (and the join rows between them: group membership, visit
definitions), dataset types, collections (RUN, TAGGED, CHAINED with children in
order, CALIBRATION with validity ranges) and datasets; a file shared by several datasets
(one per HDU) is listed and stored once.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.errors import BundleError

#: The manifest format this code writes and reads.
BUNDLE_VERSION: Literal[1] = 1
MANIFEST_NAME = "manifest.json"
#: Where files of the repository go in a bundle (under their path in the repository) and
#: where files ingested with ``direct`` go (under their checksum and name).
FILES_DIR = "files"
EXTERNAL_DIR = "external"

CollectionKind = Literal["RUN", "TAGGED", "CHAINED", "CALIBRATION"]
DataIdValue = int | str


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetTypeEntry(_Entry):
    """A dataset type: name, required dimensions, storage class, calibration flag."""

    name: str
    dimensions: list[str]
    storage_class: str
    is_calibration: bool = False


class FileEntry(_Entry):
    """One file of the bundle: its path inside the bundle, checksum (SHA-256) and size."""

    path: str
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _relative(cls, path: str) -> str:
        parts = PurePosixPath(path).parts
        if (
            not parts
            or path.startswith("/")
            or "\\" in path
            or any(p in ("..", ".") for p in parts)
            or parts[0] not in (FILES_DIR, EXTERNAL_DIR)
        ):
            raise ValueError(
                f"{path!r} is not a relative path under {FILES_DIR}/ or {EXTERNAL_DIR}/"
            )
        return path


class DatasetEntry(_Entry):
    """A dataset: ID, type, run, data ID (required dimensions and free-form keys), and the
    bundle file holding it (with its HDU when the file is shared)."""

    id: uuid.UUID
    dataset_type: str
    run: str
    data_id: dict[str, DataIdValue]
    extras: dict[str, str] = Field(default_factory=dict)
    file: str
    hdu: int | None = Field(default=None, ge=0)


class CertificationEntry(_Entry):
    """A dataset valid in a CALIBRATION collection over [begin, end) (TAI ns; None is
    unbounded)."""

    dataset_id: uuid.UUID
    begin: int | None
    end: int | None


class CollectionEntry(_Entry):
    """A collection and what defines it beyond its datasets' runs: a TAGGED collection's
    members, a CHAINED collection's children in search order, a CALIBRATION collection's
    certifications."""

    name: str
    type: CollectionKind
    doc: str | None = None
    children: list[str] = Field(default_factory=list)
    datasets: list[uuid.UUID] = Field(default_factory=list)
    certifications: list[CertificationEntry] = Field(default_factory=list)


class Manifest(_Entry):
    """Everything a bundle holds; ``universe`` is the ``namespace:version`` of the dimension
    universe its records and data IDs belong to."""

    version: Literal[1] = BUNDLE_VERSION
    universe: str
    dimension_records: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    dimension_joins: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    dataset_types: list[DatasetTypeEntry] = Field(default_factory=list)
    collections: list[CollectionEntry] = Field(default_factory=list)
    files: list[FileEntry] = Field(default_factory=list)
    datasets: list[DatasetEntry] = Field(default_factory=list)


def parse_manifest(text: str | bytes, where: str) -> Manifest:
    """The manifest in ``text``; a ``BundleError`` naming the first bad entry otherwise
    (``where`` names the manifest in the message)."""
    try:
        return Manifest.model_validate_json(text)
    except ValidationError as err:
        first = err.errors()[0]
        if first["loc"] == ("version",):
            raise BundleError(
                f"{where}: bundle format version {first['input']!r} is not supported; this "
                f"quanta reads version {BUNDLE_VERSION}"
            ) from None
        location = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        ).lstrip(".")
        raise BundleError(f"{where}: {location or 'manifest'}: {first['msg']}") from None
