"""Field paths into structured datasets: ``amps.*.gain`` names the gain of every amplifier.

A path is keys joined by dots. ``*`` stands for every key of a mapping or every item of
a list; a number picks a list item (or a mapping key spelled with digits). Resolving a
path gives each concrete path it reached with its value, or ``MISSING`` where a key was
not there, so that a check can say exactly what lacked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WILDCARD = "*"
#: The value of a concrete path whose last key was not found.
MISSING: Any = object()


def parse_path(text: str) -> tuple[str, ...]:
    """The keys of a field path; a ``ValueError`` for an empty key (``a..b``, ``.a``)."""
    keys = tuple(text.split("."))
    if not all(keys):
        raise ValueError(f"field path {text!r} has an empty key: join keys with single dots")
    return keys


def resolve(document: Any, keys: tuple[str, ...], done: str = "") -> Iterator[tuple[str, Any]]:
    """Each concrete path that ``keys`` reaches in ``document`` with its value (``MISSING``
    where a key is absent, or where ``*`` meets something that is not a container), in
    document order. ``*`` over an empty container reaches nothing."""
    if not keys:
        yield done, document
        return
    key, rest = keys[0], keys[1:]
    prefix = f"{done}." if done else ""
    if isinstance(document, dict):
        items = [(str(k), v) for k, v in document.items()]
    elif isinstance(document, list):
        items = [(str(i), v) for i, v in enumerate(document)]
    else:
        yield prefix + key, MISSING
        return
    chosen = items if key == WILDCARD else [(k, v) for k, v in items if k == key]
    if not chosen and key != WILDCARD:
        yield prefix + key, MISSING
    for name, value in chosen:
        yield from resolve(value, rest, prefix + name)


def as_number(value: Any) -> float | None:
    """``value`` as a float if it is an int or a float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
