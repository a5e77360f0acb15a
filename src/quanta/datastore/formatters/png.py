"""Formatter for the ``Plot`` storage class: an already rendered PNG image, as bytes.

Tasks render their figures (matplotlib, Agg backend) and hand over the PNG bytes, so
the datastore never imports a plotting library; data that does not start with the PNG
signature and end with its closing chunk is refused in both directions (a truncated
file is caught on reading).
"""

from __future__ import annotations

from pathlib import Path

from quanta.core.errors import DatastoreError

from .base import WholeFileBytes, unreadable, wrong_type

#: The eight bytes every PNG file starts with.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The twelve bytes every complete PNG file ends with (the empty IEND chunk).
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class PngFormatter(WholeFileBytes):
    """PNG bytes as ``.png``."""

    storage_class = "Plot"
    extension = ".png"

    def to_bytes(self, obj: object) -> bytes:
        """The PNG bytes ``obj`` unchanged."""
        if not isinstance(obj, bytes | bytearray):
            raise wrong_type(self.storage_class, obj, "PNG-encoded bytes")
        if not _is_png(obj):
            raise DatastoreError(
                f"storage class {self.storage_class!r} needs PNG-encoded bytes; "
                f"the data is not a complete PNG file"
            )
        return bytes(obj)

    def from_bytes(self, data: bytes, path: Path) -> object:
        """The PNG bytes of the file, refused when they are not a complete PNG file."""
        if not _is_png(data):
            raise unreadable(self.storage_class, path, ValueError("not a complete PNG file"))
        return data


def _is_png(data: bytes | bytearray) -> bool:
    """True when ``data`` starts and ends like a complete PNG file."""
    return data.startswith(PNG_SIGNATURE) and data.endswith(PNG_END)


FORMATTER = PngFormatter()
