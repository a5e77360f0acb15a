"""Mapping a function over items inside a running quantum, on the workers it was given.

The executor decides how many workers a quantum gets (see ``docs/howto/tasks.md``) and
the runner makes them current for the task's ``run_quantum`` with ``given``; a task asks
for them with ``current()`` and maps with ``Workers.map``. Threads suit work where NumPy
releases the GIL (array arithmetic, FFTs, reading files); processes suit pure-Python work
(parsing headers, fits in Python loops, drawing plots). The function and items of a
process map are pickled, so they must be importable (module-level functions, or
``functools.partial`` of them). On Linux, from a process with one thread, the processes
are forked: they start in milliseconds with every module of the quantum already
imported; elsewhere they are spawned, which imports the function's modules afresh in
each (a second or more for matplotlib or astropy). ``forked`` maps use forked processes
only, and run their items in turn where the process cannot fork. Results come back in
the order of the items, whatever order they finished in, and at most ``count`` items are
in progress at once, so a function that loads its item's data (a deferred input) never
holds more than ``count`` items in memory.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import importlib
import multiprocessing
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: How ``Workers.map`` runs items: threads of this process, worker processes (forked or
#: spawned), or forked processes where this process can fork (in turn elsewhere).
Kind = Literal["threads", "processes", "forked"]
KINDS: tuple[Kind, ...] = ("threads", "processes", "forked")


class ItemError(RuntimeError):
    """An item of ``Workers.map`` raised: names the item; the original is ``__cause__``."""

    def __init__(self, index: int, label: str, error: BaseException) -> None:
        super().__init__(f"item {index} ({label}) raised {type(error).__name__}: {error}")
        self.index = index
        self.label = label


@dataclass(frozen=True)
class Workers:
    """The workers a running quantum may use: ``count`` of them (1: run items in turn)."""

    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a quantum has at least one worker, not {self.count}")

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        kind: Kind = "threads",
        label: Callable[[T], str] = repr,
        preload: Iterable[str] = (),
    ) -> list[R]:
        """``[fn(item) for item in items]``, on up to ``count`` workers of ``kind``.

        Items are taken from ``items`` only as workers free up (at most ``count`` at once).
        The first item, in order, that raises stops the map: items not started are
        dropped, started ones finish, and ``ItemError`` names it by index and ``label``.
        ``preload`` names modules ``fn`` imports lazily: imported here first, so that
        forked processes inherit them instead of each importing them again.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind of workers {kind!r}; use {' or '.join(KINDS)}")
        if self.count == 1 or (kind == "forked" and not _can_fork()):
            return [_call(fn, i, item, label) for i, item in enumerate(items)]
        for module in preload:
            importlib.import_module(module)
        with _frozen(kind), _pool(kind, self.count) as pool:
            return list(_bounded(pool, fn, items, self.count, label))


#: One worker: items run in turn, in the calling thread.
SERIAL = Workers()
_CURRENT: contextvars.ContextVar[Workers | None] = contextvars.ContextVar(
    "quanta_workers", default=None
)


def current() -> Workers:
    """The workers of the quantum running in this context (one outside a quantum, and
    inside the items of a map, so that maps do not nest into more workers)."""
    return _CURRENT.get() or SERIAL


@contextlib.contextmanager
def given(workers: Workers) -> Iterator[Workers]:
    """Make ``workers`` current while a quantum runs (the runner does this)."""
    token = _CURRENT.set(workers)
    try:
        yield workers
    finally:
        _CURRENT.reset(token)


def _pool(kind: Kind, count: int) -> Executor:
    """A thread pool, or a pool of forked (where it is safe) or spawned processes, of
    ``count`` workers."""
    if kind == "threads":
        return ThreadPoolExecutor(count, thread_name_prefix="quanta-map")
    start = multiprocessing.get_context("fork" if _can_fork() else "spawn")
    return ProcessPoolExecutor(count, mp_context=start, initializer=_one_worker)


#: Threads that run only Python code and blocking reads, so hold no lock a forked child
#: could inherit held (see ``fork_safe``).
_FORK_SAFE: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def fork_safe(thread: threading.Thread) -> threading.Thread:
    """Declare that ``thread`` runs only Python code and blocking reads (a pipe reader,
    say), so that maps may still fork while it runs; returns it."""
    _FORK_SAFE.add(thread)
    return thread


def _can_fork() -> bool:
    """Whether this process can fork safely: on Linux, with no other thread that could
    hold a lock the child would inherit held (threads declared ``fork_safe`` aside)."""
    if sys.platform != "linux":
        return False
    current = threading.current_thread()
    return all(t is current or t in _FORK_SAFE for t in threading.enumerate())


@contextlib.contextmanager
def _frozen(kind: Kind) -> Iterator[None]:
    """For processes, the garbage collector's objects frozen: a forked child that
    collected would touch, and so copy, every page of its parent's heap."""
    if kind == "threads":
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _one_worker() -> None:
    """In a map's process, one worker: a forked child inherits its parent's workers."""
    _CURRENT.set(None)


def _bounded(
    pool: Executor,
    fn: Callable[[T], R],
    items: Iterable[T],
    count: int,
    label: Callable[[T], str],
) -> Iterator[R]:
    """Results in item order, with no more than ``count`` items submitted and unfinished:
    the next item starts as soon as any item finishes (a worker done early does not wait
    for an earlier, slower item), finished results wait for their turn."""
    running: dict[Future[R], tuple[int, T]] = {}
    finished: dict[int, R] = {}
    source = enumerate(items)
    turn = 0
    first_error: tuple[int, T, Exception] | None = None
    try:
        while True:
            while first_error is None and len(running) < count:
                index_item = next(source, None)
                if index_item is None:
                    break
                running[pool.submit(fn, index_item[1])] = index_item
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, item = running.pop(future)
                error = future.exception()
                if error is None:
                    finished[index] = future.result()
                elif not isinstance(error, Exception):
                    raise error
                elif first_error is None or index < first_error[0]:
                    first_error = (index, item, error)
            while turn in finished:
                yield finished.pop(turn)
                turn += 1
        if first_error is not None:
            index, item, error = first_error
            raise ItemError(index, label(item), error) from error
    finally:
        for future in running:
            future.cancel()


def _call(fn: Callable[[T], R], index: int, item: T, label: Callable[[T], str]) -> R:
    """``fn(item)`` in this thread, its error named as a pool's are."""
    try:
        return fn(item)
    except Exception as err:
        raise ItemError(index, label(item), err) from err
