"""A ``quanta run`` on a local Parsl site killed by SIGKILL leaves no process behind: at
three points (while the interchange starts, while the worker pool connects, while
workers run quanta), everything the driver started is gone within the site's heartbeat
threshold and a margin. And the other way round: a driver whose worker pool is lost (a
node gone) gets a new one and finishes the run, instead of waiting forever."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exec.conftest import PIPELINE
from exec.drivers import HEARTBEAT_THRESHOLD, Drivers, kill, poll, session_processes, write_site
from quanta.butler import Butler

#: Time for the kernel to deliver the kills and for a busy machine to schedule them.
MARGIN = 6.0


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    with Drivers() as started:
        yield started


def _running(session: int, word: str) -> Callable[[], bool]:
    """True once a process of the session has ``word`` in its command line."""
    return lambda: any(word in command for command in session_processes(session).values())


def _run_command(butler: Butler, site: Path, counter: Path, *extra: str) -> list[str]:
    return [
        "run", str(butler.root), "-p", str(PIPELINE), "-i", "raw", "-o", "out",
        "--executor", "parsl", "--site", str(site), "-j", "2", "--no-progress",
        "-c", f"calexp:counter={counter}", *extra,
    ]  # fmt: skip


def _started(counter: Path, n: int) -> Callable[[], bool]:
    """True once ``n`` quanta have started (the test task appends a line to ``counter``)."""
    return lambda: counter.exists() and len(counter.read_text().splitlines()) >= n


@pytest.mark.parametrize("point", ["interchange", "worker pool", "busy workers"])
def test_nothing_outlives_a_killed_driver(
    sqlite_repo: Butler, drivers: Drivers, tmp_path: Path, point: str
) -> None:
    site = write_site(tmp_path / "site.yaml")
    counter = tmp_path / "started.txt"
    driver = drivers.start(
        _run_command(sqlite_repo, site, counter, "-c", "calexp:delay=5"), tmp_path / "driver.log"
    )
    reached = {
        "interchange": _running(driver.pid, "quanta.exec.guard"),
        "worker pool": _running(driver.pid, "/process_worker_pool.py"),  # not its guard
        "busy workers": _started(counter, 2),
    }[point]
    assert poll(reached, 120, step=0.005), (tmp_path / "driver.log").read_text()
    killed = kill(driver)
    gone = poll(lambda: not session_processes(driver.pid), HEARTBEAT_THRESHOLD + MARGIN, 0.1)
    left = session_processes(driver.pid)
    assert gone, f"{time.monotonic() - killed:.1f} s after the kill, still running: {left}"


def test_a_lost_worker_pool_is_replaced_and_the_run_finishes(
    sqlite_repo: Butler, drivers: Drivers, tmp_path: Path
) -> None:
    site = write_site(tmp_path / "site.yaml")
    counter, log = tmp_path / "started.txt", tmp_path / "driver.log"
    extra = ("-c", "calexp:delay=1", "--retries", "1")
    driver = drivers.start(_run_command(sqlite_repo, site, counter, *extra), log)
    assert poll(_started(counter, 2), 120), log.read_text()
    # The node is lost: every process of the block dies at once, busy workers included.
    keep = {driver.pid} | {
        p for p, c in session_processes(driver.pid).items() if "interchange" in c
    }
    for pid in set(session_processes(driver.pid)) - keep:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    finished = poll(lambda: driver.poll() is not None, 180, step=0.1)
    assert finished, f"the driver waits forever for its lost jobs: {log.read_text()}"
    assert driver.returncode == 0, log.read_text()
    records = sqlite_repo.registry.query_quanta(
        sqlite_repo.registry.query_collections("out/*")[0].name
    )
    assert len(records) == 10 and {r.status for r in records} == {"done"}
    assert max(r.attempts for r in records) == 2  # the quanta the lost pool was running
    assert sqlite_repo.verify().ok
