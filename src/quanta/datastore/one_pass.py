"""One pass over a file's bytes: written once and hashed in memory, read once for both the
checksum check and the parse, for formatters that give and take bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import cast

from quanta.core.errors import ChecksumError
from quanta.core.stored_file import StoredFile

from .formatters import BytesFormatter, Formatter

#: Whether each formatter class is a ``BytesFormatter``.
_GIVES_BYTES: dict[type, bool] = {}


def bytes_formatter(formatter: Formatter) -> BytesFormatter | None:
    """``formatter`` if it also gives and takes bytes, else None; the protocol check is
    made once per formatter class (checking a protocol costs more than a small write)."""
    kind = type(formatter)
    gives = _GIVES_BYTES.get(kind)
    if gives is None:
        gives = _GIVES_BYTES[kind] = isinstance(formatter, BytesFormatter)
    return cast(BytesFormatter, formatter) if gives else None


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file at ``path`` (an existing one is an error)."""
    with open(path, "xb") as stream:
        stream.write(data)


def check_file(stored: StoredFile, path: Path, size: int, digest: Callable[[], str]) -> None:
    """Raise ``ChecksumError`` unless a file's size and SHA-256 (``digest``, called only
    when the sizes agree) are those recorded."""
    if size != stored.size:
        problem = f"it has {size} bytes, not the {stored.size} recorded"
    elif digest() != stored.checksum:
        problem = "its SHA-256 checksum differs from the one recorded when it was written"
    else:
        return
    raise ChecksumError(
        f"{path} is corrupt: {problem}; not reading it (quanta verify lists every corrupt file)"
    )


def check_bytes(stored: StoredFile, path: Path, data: bytes) -> None:
    """Raise ``ChecksumError`` unless the bytes read from a file are those recorded."""
    check_file(stored, path, len(data), lambda: hashlib.sha256(data).hexdigest())
