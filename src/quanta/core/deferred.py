"""The one protocol of an input that is read when needed rather than up front.

A task gets such handles for ``defer_load`` connections; the butler's quantum I/O makes
them from file records; the calibration tasks stream images through them a range of rows
at a time, and wrap images already in memory to look the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .refs import DatasetRef


class DeferredInput(Protocol):
    """An input not read yet: whole, a range of rows at a time, or just its shape."""

    @property
    def ref(self) -> DatasetRef | None:
        """The dataset it reads; None for an image that is already in memory."""

    def get(self, rows: tuple[int, int] | None = None) -> Any:
        """The dataset; ``rows=(y0, y1)`` reads only those rows of an ``Image`` (its
        header whole)."""

    def iter_rows(self, chunk_rows: int) -> Iterator[Any]:
        """An ``Image`` as consecutive chunks of ``chunk_rows`` rows (the last may be
        shorter)."""

    def shape(self) -> tuple[int, int]:
        """Rows and columns of an ``Image``."""
