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
#: How many times at most ``tracked`` reports a step of known total.
REPORTS = 1000


def tracked(
    items: Iterable[T], progress: ProgressCallback | None, what: str, total: int | None = None
) -> Iterator[T]:
    """Yield ``items``, reporting them finished (after the caller's loop body ran) to
    ``progress`` as so many of ``total`` of step ``what``: each one, or with a known
    total every thousandth of it and the last, so that a long step costs no more."""
    if progress is None:
        yield from items
        return
    progress(what, 0, total)
    stride = max(1, total // REPORTS) if total else 1
    for done, item in enumerate(items, start=1):
        yield item
        if done % stride == 0 or done == total:
            progress(what, done, total)
