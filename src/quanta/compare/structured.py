"""Recursive comparison of JSON-like data (``StructuredData``, image headers).

Dictionaries are compared key by key and lists item by item; each difference is named
by its path (``amps.C00.gain``, ``amps.C00.means[3]``; ``$`` is the whole document).
Numbers compare with the tolerances (an int and a float of the same value are equal;
NaN equals NaN); a bool is not a number here, so ``True`` against ``1`` is a type change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .options import CompareOptions
from .report import PathDiff, StructuredDiff

#: Longest string shown whole in a difference.
_MAX_TEXT = 80


def compare_structured(a: Any, b: Any, options: CompareOptions) -> StructuredDiff:
    """Every difference between ``a`` and ``b`` by path (the first ``max_listed`` of them)."""
    walker = _Walker(options)
    walker.visit("", a, b)
    return StructuredDiff(
        n_compared=walker.n_compared,
        n_unequal=walker.n_unequal,
        n_paths=walker.n_paths,
        paths=walker.paths,
    )


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _brief(value: Any) -> Any:
    """A scalar as it is; a container or a long string by a short description."""
    if isinstance(value, Mapping):
        return f"<dict of {len(value)} keys>"
    if isinstance(value, list | tuple):
        return f"<list of {len(value)}>"
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[: _MAX_TEXT - 3] + "..."
    return value


class _Walker:
    """Walks both documents together, counting leaves and recording differences."""

    def __init__(self, options: CompareOptions) -> None:
        self.options = options
        self.n_compared = 0
        self.n_unequal = 0
        self.n_paths = 0
        self.paths: list[PathDiff] = []

    def record(self, diff: PathDiff) -> None:
        self.n_paths += 1
        if len(self.paths) < self.options.max_listed:
            self.paths.append(diff)

    def visit(self, path: str, a: Any, b: Any) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key, value in a.items():
                where = _key(path, str(key))
                if key in b:
                    self.visit(where, value, b[key])
                else:
                    self.record(PathDiff(path=where, kind="only_in_a", a=_brief(value)))
            for key, value in b.items():
                if key not in a:
                    where = _key(path, str(key))
                    self.record(PathDiff(path=where, kind="only_in_b", b=_brief(value)))
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                self.visit(f"{path}[{i}]", x, y)
            if len(a) != len(b):
                self.record(PathDiff(path=path or "$", kind="length", a=len(a), b=len(b)))
        elif _is_number(a) and _is_number(b):
            self.numbers(path or "$", a, b)
        elif type(a) is not type(b):
            self.n_compared += 1
            self.record(PathDiff(path=path or "$", kind="type", a=_brief(a), b=_brief(b)))
        else:
            self.n_compared += 1
            if a != b:
                self.n_unequal += 1
                self.record(PathDiff(path=path or "$", kind="value", a=_brief(a), b=_brief(b)))

    def numbers(self, path: str, a: float, b: float) -> None:
        self.n_compared += 1
        x, y = float(a), float(b)
        if a == b or (math.isnan(x) and math.isnan(y)):
            return
        self.n_unequal += 1
        if not (math.isfinite(x) and math.isfinite(y)):
            self.record(PathDiff(path=path, kind="value", a=a, b=b))
            return
        size = abs(y - x)
        if not self.options.beyond(size, y):
            return
        relative = size / max(abs(x), abs(y))
        self.record(PathDiff(path=path, kind="value", a=a, b=b, abs_diff=size, rel_diff=relative))
