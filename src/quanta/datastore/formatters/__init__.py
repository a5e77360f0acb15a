"""One formatter per storage class, found through the ``quanta.formatters`` entry points
and each imported only when first used."""

from __future__ import annotations

from typing import Any

from quanta.core.errors import ConfigError
from quanta.core.plugins import PluginLoader

from .base import BytesFormatter as BytesFormatter
from .base import Formatter as Formatter
from .base import HduReader as HduReader


def _accepts(name: str, plugin: Any) -> bool:
    """A formatter object for the storage class its entry point is named after."""
    return (
        getattr(plugin, "storage_class", None) == name
        and isinstance(getattr(plugin, "extension", None), str)
        and callable(getattr(plugin, "write", None))
        and callable(getattr(plugin, "read", None))
    )


FORMATTERS: PluginLoader[Formatter] = PluginLoader(
    "quanta.formatters",
    "storage class",
    _accepts,
    "a formatter (storage_class, extension, write, read) of that storage class",
    unknown=ConfigError,
    listing="valid storage classes",
)


def formatter_for(storage_class: str) -> Formatter:
    """The formatter of ``storage_class``, importing its module (and heavy libraries) lazily."""
    return FORMATTERS.load(storage_class)
