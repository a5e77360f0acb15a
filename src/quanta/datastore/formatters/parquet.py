"""Formatter for the ``ArrowTable`` storage class: ``pyarrow.Table`` as Parquet.

The schema, including field and schema metadata, round-trips with the values.
Nested types are written in Arrow's own naming rather than Parquet's "compliant"
one, so a ``list<item: ...>`` column reads back with the same type.
"""

from __future__ import annotations

from pathlib import Path

from .base import unreadable, unwritable, wrong_type


class ParquetFormatter:
    """``pyarrow.Table`` as ``.parquet``."""

    storage_class = "ArrowTable"
    extension = ".parquet"

    def write(self, obj: object, path: Path) -> None:
        """Write ``obj`` with ``pyarrow.parquet.write_table``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not isinstance(obj, pa.Table):
            raise wrong_type(self.storage_class, obj, "a pyarrow.Table")
        try:
            pq.write_table(obj, path, use_compliant_nested_type=False)
        except (OSError, pa.ArrowException) as err:
            raise unwritable(self.storage_class, path, err) from err

    def read(self, path: Path) -> object:
        """Read the whole table."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as err:
            raise unreadable(self.storage_class, path, err) from err


FORMATTER = ParquetFormatter()
