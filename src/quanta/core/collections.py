"""Collection types: where datasets are born, hand-picked, chained or certified."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-/]*$")


class CollectionType(enum.IntEnum):
    """The four kinds of collection."""

    RUN = 1
    TAGGED = 2
    CHAINED = 3
    CALIBRATION = 4

    @classmethod
    def parse(cls, text: str) -> CollectionType:
        """Parse a name, case-insensitively, with an error listing the valid ones."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ConfigError(
                f"unknown collection type {text!r}; valid types: {', '.join(c.name for c in cls)}"
            ) from None


def is_glob(name: str) -> bool:
    """True for a collection glob pattern: ``*``, ``?`` and ``[`` are never in a name."""
    return any(char in name for char in "*?[")


def check_collection_name(name: str) -> str:
    """Refuse names that could not be used safely as a path prefix."""
    if (
        not _NAME.match(name)
        or ".." in name.split("/")
        or "//" in name
        or name.endswith("/")
        or len(name) > 255
    ):
        raise ConfigError(
            f"invalid collection name {name!r}: use letters, digits and '_.+-/', "
            "no '..' segments, no leading or trailing '/'"
        )
    return name


@dataclass(frozen=True, slots=True)
class CollectionRecord:
    """A collection's key, name, type and documentation."""

    id: int
    name: str
    type: CollectionType
    doc: str | None
    created_ns: int
