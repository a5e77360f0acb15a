"""The Butler: put, get, find and query datasets in a data repository.

``Butler`` (and the ``Registry`` type it holds) are imported on first use, so that a
worker can import ``quanta.butler.repo_files`` without loading the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry import Registry as Registry
    from .butler import Butler as Butler


def __getattr__(name: str) -> Any:
    """Import ``Butler`` and ``Registry`` (and with them SQLAlchemy) when first asked for."""
    if name == "Butler":
        from .butler import Butler

        return Butler
    if name == "Registry":
        from ..registry import Registry

        return Registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
