"""The raw layouts ``simulate`` writes, by name: ``simcam``, ``decam`` and ``lsst``."""

from __future__ import annotations

from ..core.errors import ConfigError
from .decam_layout import DecamLayout
from .layout import Layout
from .lsst_layout import LsstLayout

#: Every layout by name; ``simcam`` is the default.
LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (Layout(), DecamLayout(), LsstLayout())
}


def get_layout(name: str) -> Layout:
    """The layout called ``name``; ``ConfigError`` listing the layouts otherwise."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown simulation layout {name!r}; layouts: {', '.join(LAYOUTS)}"
        ) from None
