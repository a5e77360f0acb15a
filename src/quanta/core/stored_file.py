"""Where a dataset's file lives: shared by the datastore, which writes it, and the registry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A dataset's file: path (relative to the repository root, or absolute if ingested
    with ``direct``), the storage class it was written as, its checksum and size, and the
    HDU holding the dataset when it is one extension of a file several datasets share
    (``None``: the whole file). Checksum and size are the whole file's."""

    dataset_id: uuid.UUID
    path: str
    storage_class: str
    checksum: str
    size: int
    hdu: int | None = None

    @property
    def is_external(self) -> bool:
        """True for files that live outside the repository (``direct`` ingest)."""
        return self.path.startswith("/")
