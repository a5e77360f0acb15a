"""``quanta.pipe.parallel``: order, errors that name their item, bounded loading, threads
and processes, and the workers a context is given."""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import pytest

from quanta.pipe import parallel
from quanta.pipe.parallel import ItemError, Workers

T = TypeVar("T")


def _slow_square(x: int) -> int:
    time.sleep(random.uniform(0, 0.01))  # finish out of order
    return x * x


@pytest.mark.parametrize("count", [1, 2, 4])
def test_results_come_back_in_item_order(count: int) -> None:
    assert Workers(count).map(_slow_square, range(30)) == [x * x for x in range(30)]


def test_processes_give_the_same_results_and_name_the_item_that_raised() -> None:
    workers = Workers(2)
    assert workers.map(math.sqrt, [0.0, 4.0, 9.0], kind="processes") == [0.0, 2.0, 3.0]
    with pytest.raises(ItemError, match=r"item 2 \(-1.0\) raised ValueError: math domain"):
        workers.map(math.sqrt, [1.0, 4.0, -1.0, 9.0], kind="processes")


@pytest.mark.parametrize("count", [1, 3])
def test_the_first_item_in_order_that_raises_is_named_with_its_label(count: int) -> None:
    def check(x: int) -> int:
        if x % 5 == 4:
            raise KeyError(f"bad {x}")
        return x

    with pytest.raises(ItemError) as caught:
        Workers(count).map(check, range(20), label=lambda x: f"pair {x}")
    assert caught.value.index == 4 and caught.value.label == "pair 4"
    assert str(caught.value) == "item 4 (pair 4) raised KeyError: 'bad 4'"
    assert isinstance(caught.value.__cause__, KeyError)


@pytest.mark.parametrize("count", [1, 2, 3])
def test_no_more_items_are_loaded_than_workers(count: int) -> None:
    """Items are drawn from a generator only as workers free up, and at most ``count``
    are being loaded and processed at once."""
    lock = threading.Lock()
    state = {"drawn": 0, "done": 0, "loaded": 0, "peak": 0, "ahead": 0}

    def items() -> Iterator[int]:
        for i in range(12):
            with lock:
                state["drawn"] += 1
                state["ahead"] = max(state["ahead"], state["drawn"] - state["done"])
            yield i

    def load_and_sum(i: int) -> int:
        with lock:
            state["loaded"] += 1
            state["peak"] = max(state["peak"], state["loaded"])
        data = bytearray(1000)  # the item's "image"
        time.sleep(0.005)
        with lock:
            state["loaded"] -= 1
            state["done"] += 1
        return len(data) + i

    assert Workers(count).map(load_and_sum, items()) == [1000 + i for i in range(12)]
    assert state["peak"] <= count and state["ahead"] <= count
    if count > 1:
        assert state["peak"] == count  # the workers were used


def test_a_worker_done_early_takes_the_next_item_while_an_earlier_one_runs() -> None:
    """Item 0 runs until item 2 has started: on two workers, item 1 finishing frees a
    worker for item 2 (a map that waited for item 0 first would time item 0 out)."""
    third_started = threading.Event()

    def work(i: int) -> bool:
        if i == 0:
            return third_started.wait(timeout=30)
        if i == 2:
            third_started.set()
        return True

    assert Workers(2).map(work, range(5)) == [True] * 5


def test_the_first_item_in_order_that_raises_is_named_though_a_later_one_fails_first() -> None:
    second_failed = threading.Event()

    def work(i: int) -> int:
        if i == 0:
            second_failed.wait(timeout=30)
            raise ValueError("first")
        if i == 1:
            second_failed.set()
            raise ValueError("second")
        return i

    with pytest.raises(ItemError, match=r"item 0 \(0\) raised ValueError: first"):
        Workers(2).map(work, range(6))


def test_items_not_started_after_an_error_never_run() -> None:
    seen: list[int] = []

    def fail_at_one(i: int) -> int:
        seen.append(i)
        if i == 1:
            raise RuntimeError("stop")
        time.sleep(0.01)
        return i

    with pytest.raises(ItemError, match="item 1"):
        Workers(2).map(fail_at_one, range(50))
    assert len(seen) <= 4


def test_the_workers_are_those_given_and_do_not_nest() -> None:
    assert parallel.current() == Workers(1)
    with parallel.given(Workers(3)):
        assert parallel.current().count == 3
        inner = Workers(3).map(lambda _: parallel.current().count, range(3))
        assert inner == [1, 1, 1]
    assert parallel.current().count == 1


def _workers_and_modules(_: int) -> tuple[int, int, bool]:
    """What a map's process sees: its workers, its pid, and whether ``wave`` is loaded."""
    return parallel.current().count, os.getpid(), "wave" in sys.modules


def _in_a_fresh_process(scenario: Callable[..., T], *args: Any) -> T:
    """``scenario(*args)`` in a newly spawned interpreter, whose main thread is its only
    one: tests that ran before may leave threads in this process, and a process with
    other threads does not fork."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(scenario, *args).result(timeout=120)


def _preloading_map() -> tuple[int, bool, list[tuple[int, int, bool]]]:
    """A processes map that preloads ``wave``: this pid, whether ``wave`` is loaded here
    after it, and what each item saw."""
    sys.modules.pop("wave", None)
    with parallel.given(Workers(2)):
        seen = parallel.current().map(
            _workers_and_modules, range(4), kind="processes", preload=["wave"]
        )
    return os.getpid(), "wave" in sys.modules, seen


def _forked_map_beside(other: str) -> tuple[int, set[int]]:
    """This pid and those a ``forked`` map ran its items in, beside no other thread
    (``"nothing"``), a waiting thread (``"thread"``) or one declared fork-safe."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    if other == "fork-safe thread":
        parallel.fork_safe(thread)
    if other != "nothing":
        thread.start()
    try:
        seen = Workers(2).map(_workers_and_modules, range(4), kind="forked")
    finally:
        stop.set()
        if other != "nothing":
            thread.join()
    return os.getpid(), {pid for _, pid, _ in seen}


def test_processes_are_one_worker_each_and_inherit_preloaded_modules() -> None:
    """A forked process does not inherit its parent's workers (maps do not nest); a
    module named in ``preload`` is imported before the fork, so the processes have it."""
    pid, loaded, seen = _in_a_fresh_process(_preloading_map)
    assert loaded
    assert [count for count, _, _ in seen] == [1] * 4
    assert all(item_loaded for _, _, item_loaded in seen) or sys.platform != "linux"
    assert pid not in {item_pid for _, item_pid, _ in seen}


@pytest.mark.skipif(sys.platform != "linux", reason="processes are forked on Linux only")
def test_forked_maps_fork_from_one_thread_and_run_in_turn_beside_others() -> None:
    """A ``forked`` map forks while this is the process's only thread; beside another
    thread (which may hold a lock a child would inherit held) it runs its items here."""
    pid, alone = _in_a_fresh_process(_forked_map_beside, "nothing")
    assert pid not in alone
    pid, beside = _in_a_fresh_process(_forked_map_beside, "thread")
    assert beside == {pid}


@pytest.mark.skipif(sys.platform != "linux", reason="processes are forked on Linux only")
def test_a_thread_declared_fork_safe_lets_maps_fork() -> None:
    pid, beside = _in_a_fresh_process(_forked_map_beside, "fork-safe thread")
    assert pid not in beside


def test_bad_workers_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one worker, not 0"):
        Workers(0)
    with pytest.raises(ValueError, match="unknown kind of workers 'fibers'"):
        Workers(2).map(abs, [1], kind="fibers")  # type: ignore[arg-type]
