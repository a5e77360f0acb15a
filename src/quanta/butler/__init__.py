"""The Butler: put, get, find and query datasets in a data repository.

``Butler`` (and the ``Registry`` type it holds) are imported on first use, so that a
worker can import ``quanta.butler.repo_files`` without loading the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_exports

if TYPE_CHECKING:
    from ..registry import Registry as Registry
    from .butler import Butler as Butler


__getattr__ = lazy_exports(__name__, {"Butler": ".butler", "Registry": "..registry"})
