"""Packages whose public names are imported on first use.

A package ``__init__`` that re-exported everything eagerly would make importing any one
of its modules pay for all of them: the command line would load the whole data model to
name a status, and a worker the registry to open a datastore.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``homes`` is imported from its
    module (``homes[name]``, relative to the package) when first asked for."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home, package), name)

    return __getattr__
