"""Datasets of one type as flat columns: what graph building needs of a million candidates,
without a ``DatasetRef`` and a ``UUID`` object for each."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Extras = tuple[tuple[str, Any], ...]

_CHUNK = 65536


class DatasetColumns:
    """IDs (16 bytes each, concatenated), registry run IDs, data ID value tuples (the
    type's required dimensions in order) and free-form keys (``None`` while none has any),
    in the order the registry found them."""

    __slots__ = ("extras", "ids", "run_ids", "run_names", "values")

    def __init__(self, run_names: Mapping[int, str]) -> None:
        self.ids = bytearray()
        self.run_ids = array("i")
        self.run_names = dict(run_names)
        self.values: list[tuple] = []
        self.extras: list[Extras] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows of (ID as hexadecimal text, run ID, free-form keys as JSON or
        ``None``, *data ID values``); IDs are decoded a chunk at a time."""
        hexes: list[str] = []
        for row in rows:
            hexes.append(row[0])
            self.run_ids.append(row[1])
            if row[2] is not None or self.extras is not None:
                self._add_extras(row[2])
            self.values.append(tuple(row[3:]))
            if len(hexes) == _CHUNK:
                self._add_ids(hexes)
                hexes = []
        self._add_ids(hexes)

    def _add_ids(self, hexes: list[str]) -> None:
        # PostgreSQL spells a UUID as text with dashes, SQLite stores 32 digits.
        self.ids += bytes.fromhex("".join(hexes).replace("-", ""))

    def _add_extras(self, text: str | None) -> None:
        if self.extras is None:
            self.extras = [()] * len(self.values)
        self.extras.append(tuple(tuple(p) for p in json.loads(text)) if text else ())

    def first_found(self) -> DatasetColumns:
        """Only the first dataset of each data ID (values and free-form keys), in order:
        the find-first result of a search over several collections."""
        seen: set[tuple] = set()
        kept = DatasetColumns(self.run_names)
        kept.extras = [] if self.extras is not None else None
        for i, values in enumerate(self.values):
            extras = self.extras[i] if self.extras is not None else ()
            if (values, extras) in seen:
                continue
            seen.add((values, extras))
            kept.ids += self.ids[i * 16 : i * 16 + 16]
            kept.run_ids.append(self.run_ids[i])
            kept.values.append(values)
            if kept.extras is not None:
                kept.extras.append(extras)
        return kept
