"""Plugins by short name: one loader for instruments, group rules, formatters and executors.

Each kind of plugin is an entry point group; a package adds one by declaring, in its
``pyproject.toml``::

    [project.entry-points."quanta.instruments"]
    MyCam = "mypackage.mycam:MyCam"

Entry points are read on first use and a plugin is imported only when it is asked for,
then checked and kept. An unknown name, a plugin that cannot be imported and one of the
wrong type are user errors that say which names are known or what was expected.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import ConfigError, QuantaError, UnknownNameError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

T = TypeVar("T")


class PluginLoader(Generic[T]):
    """The plugins of one entry point ``group``: ``known()`` names them, ``load(name)``
    imports one and checks it with ``accepts(name, plugin)``.

    ``kind`` names a plugin in messages (``"instrument"``); ``expected`` says what an
    entry point must name (``"an Instrument subclass"``); ``unknown`` is the error for an
    unknown name and ``listing`` the words before the known names in its message.
    """

    def __init__(
        self,
        group: str,
        kind: str,
        accepts: Callable[[str, Any], bool],
        expected: str,
        *,
        unknown: type[QuantaError] = UnknownNameError,
        listing: str | None = None,
    ) -> None:
        self.group = group
        self.kind = kind
        self.expected = expected
        self._accepts = accepts
        self._unknown = unknown
        self._listing = listing or f"known {kind}s"
        self._loaded: dict[str, T] = {}

    @functools.cached_property
    def _entry_points(self) -> dict[str, EntryPoint]:
        from importlib.metadata import entry_points  # a few milliseconds: not at import

        return {ep.name: ep for ep in entry_points(group=self.group)}

    def known(self) -> list[str]:
        """Short names of every installed plugin of the group, sorted."""
        return sorted(self._entry_points)

    def load(self, name: str) -> T:
        """The plugin called ``name``, imported on first use."""
        if name in self._loaded:
            return self._loaded[name]
        entry_point = self._entry_points.get(name)
        if entry_point is None:
            known = ", ".join(self.known()) or "none installed"
            raise self._unknown(f"unknown {self.kind} {name!r}; {self._listing}: {known}")
        try:
            plugin = entry_point.load()
        except (ImportError, AttributeError) as err:
            raise ConfigError(
                f"{self.kind} {name!r} ({entry_point.value}) cannot be loaded: {err}"
            ) from err
        if not self._accepts(name, plugin):
            raise ConfigError(
                f"entry point {name!r} ({entry_point.value}) of {self.group} must name "
                f"{self.expected}, not {_describe(plugin)}"
            )
        self._loaded[name] = plugin
        return plugin


def subclass_of(base: type) -> Callable[[str, Any], bool]:
    """An ``accepts`` check for plugins that are subclasses of ``base``."""
    return lambda _name, plugin: isinstance(plugin, type) and issubclass(plugin, base)


def _describe(plugin: Any) -> str:
    """What an entry point named, for an error message."""
    if isinstance(plugin, type):
        return f"class {plugin.__module__}.{plugin.__qualname__}"
    return f"an instance of {type(plugin).__qualname__}"
