"""The ``Formatter`` protocol every storage class implements, and its shared errors."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from quanta.core.errors import DatastoreError


class Formatter(Protocol):
    """Writes and reads one storage class's in-memory type as one file."""

    #: The storage class this formatter serves, as in ``quanta.core.STORAGE_CLASSES``.
    storage_class: str
    #: File name extension with its dot, such as ``".fits"``.
    extension: str

    def write(self, obj: object, path: Path) -> None:
        """Write ``obj`` to ``path``; raise ``DatastoreError`` if it is of the wrong type."""
        ...

    def read(self, path: Path) -> object:
        """Read the file at ``path``; raise ``DatastoreError`` if it cannot be read."""
        ...


@runtime_checkable
class HduReader(Protocol):
    """A formatter that can also read one dataset from one HDU of a file several share."""

    def read_hdu(self, path: Path, hdu: int) -> object:
        """Read the dataset in HDU ``hdu`` of the file at ``path``, touching no other HDU's
        data; raise ``DatastoreError`` if it cannot be read."""
        ...


@runtime_checkable
class BytesFormatter(Protocol):
    """A formatter that also turns objects into a file's bytes and back, so the datastore
    writes and checksums a file in one pass, and verifies and parses it from one read."""

    def to_bytes(self, obj: object) -> bytes:
        """The bytes ``write`` would put in the file; ``DatastoreError`` for a wrong type."""
        ...

    def from_bytes(self, data: bytes, path: Path) -> object:
        """The object in a file's bytes (``path`` names it in errors)."""
        ...


class WholeFileBytes:
    """``write`` and ``read`` of a formatter whose file is exactly ``to_bytes`` of its
    object, which ``from_bytes`` parses back; subclasses set ``storage_class``."""

    storage_class: str

    def to_bytes(self, obj: object) -> bytes:
        """The file's bytes for ``obj``."""
        raise NotImplementedError

    def from_bytes(self, data: bytes, path: Path) -> object:
        """The object in a file's bytes."""
        raise NotImplementedError

    def write(self, obj: object, path: Path) -> None:
        """Write ``to_bytes(obj)`` to ``path``."""
        data = self.to_bytes(obj)
        try:
            path.write_bytes(data)
        except OSError as err:
            raise unwritable(self.storage_class, path, err) from err

    def read(self, path: Path) -> object:
        """Read ``path`` whole and parse it with ``from_bytes``."""
        try:
            data = path.read_bytes()
        except OSError as err:
            raise unreadable(self.storage_class, path, err) from err
        return self.from_bytes(data, path)


def wrong_type(storage_class: str, obj: object, expected: str) -> DatastoreError:
    """The error for an object a storage class cannot hold."""
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    return DatastoreError(f"storage class {storage_class!r} needs {expected}, got {kind}")


def unreadable(storage_class: str, path: Path, err: BaseException) -> DatastoreError:
    """The error for a file that is missing, corrupt or not in the expected format."""
    return DatastoreError(f"cannot read {path} as {storage_class}: {err}")


def unwritable(storage_class: str, path: Path, err: BaseException) -> DatastoreError:
    """The error for an object whose file could not be written."""
    return DatastoreError(f"cannot write {storage_class} to {path}: {err}")
