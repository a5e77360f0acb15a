"""Instruments by short name, loaded lazily from the ``quanta.instruments`` entry points.

A package adds a camera by declaring, in its ``pyproject.toml``::

    [project.entry-points."quanta.instruments"]
    MyCam = "mypackage.mycam:MyCam"

Only the instrument asked for is imported.
"""

from __future__ import annotations

import functools
from typing import Any

from ..core.plugins import PluginLoader
from .base import Instrument, UnknownInstrumentError

ENTRY_POINT_GROUP = "quanta.instruments"


def _accepts(name: str, plugin: Any) -> bool:
    """An ``Instrument`` subclass whose ``name`` is its entry point's name."""
    return isinstance(plugin, type) and issubclass(plugin, Instrument) and plugin.name == name


INSTRUMENTS: PluginLoader[type[Instrument]] = PluginLoader(
    ENTRY_POINT_GROUP,
    "instrument",
    _accepts,
    "an Instrument subclass with the same name",
    unknown=UnknownInstrumentError,
)


def known_instruments() -> list[str]:
    """Short names of every installed instrument."""
    return INSTRUMENTS.known()


@functools.cache
def get_instrument(name: str) -> Instrument:
    """The instrument called ``name``; ``UnknownInstrumentError`` listing the known ones."""
    return INSTRUMENTS.load(name)()
