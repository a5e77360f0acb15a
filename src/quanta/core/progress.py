"""Progress from library code: a callback that long steps call and the command line draws.

A step calls ``progress(what, done, total)`` with running counts now and then; ``what``
names the step (``"writing raws"``) and a new name starts a new step. Library code never
imports a renderer (rich, click): the command line passes one, or nothing (no progress).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: ``progress(what, done, total)``: ``done`` of ``total`` items of step ``what`` finished
#: (``total`` None when not known in advance, as for a streamed query).
ProgressCallback = Callable[[str, int, int | None], None]


def silent(what: str, done: int, total: int | None) -> None:
    """A callback that shows nothing: the default of every function that takes one."""


def tracked(
    items: Iterable[T], progress: ProgressCallback | None, what: str, total: int | None = None
) -> Iterator[T]:
    """Yield ``items``, reporting each one finished (after the caller's loop body ran)
    to ``progress`` as one of ``total`` of step ``what``."""
    report = progress or silent
    report(what, 0, total)
    for done, item in enumerate(items, start=1):
        yield item
        report(what, done, total)
