"""Instruments by short name, loaded lazily from the ``quanta.instruments`` entry points.

A package adds a camera by declaring, in its ``pyproject.toml``::

    [project.entry-points."quanta.instruments"]
    MyCam = "mypackage.mycam:MyCam"

Only the instrument asked for is imported.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points

from ..core.errors import ConfigError
from .base import Instrument, UnknownInstrumentError

ENTRY_POINT_GROUP = "quanta.instruments"


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_instruments() -> list[str]:
    """Short names of every installed instrument."""
    return sorted(_entry_points())


@functools.cache
def get_instrument(name: str) -> Instrument:
    """The instrument called ``name``; ``UnknownInstrumentError`` listing the known ones."""
    try:
        entry_point = _entry_points()[name]
    except KeyError:
        known = ", ".join(known_instruments()) or "none installed"
        raise UnknownInstrumentError(
            f"unknown instrument {name!r}; known instruments: {known}"
        ) from None
    try:
        cls = entry_point.load()
    except (ImportError, AttributeError) as err:
        raise ConfigError(
            f"instrument {name!r} ({entry_point.value}) cannot be loaded: {err}"
        ) from err
    if not (isinstance(cls, type) and issubclass(cls, Instrument)) or cls.name != name:
        raise ConfigError(
            f"entry point {name!r} ({entry_point.value}) must name an Instrument subclass "
            f"whose name is {name!r}"
        )
    return cls()
