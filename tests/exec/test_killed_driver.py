"""A ``quanta run`` on a local Parsl site killed by SIGKILL leaves no process behind: at
three points (while the interchange starts, while the worker pool connects, while
workers run quanta), everything the driver started is gone within the site's heartbeat
threshold and a margin."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exec.conftest import PIPELINE
from exec.drivers import Drivers, kill, poll, session_processes
from quanta.butler import Butler

HEARTBEAT_PERIOD = 1
HEARTBEAT_THRESHOLD = 4
#: Time for the kernel to deliver the kills and for a busy machine to schedule them.
MARGIN = 6.0


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    with Drivers() as started:
        yield started


def write_site(path: Path) -> Path:
    """A local site with short heartbeats."""
    path.write_text(
        "provider: local\n"
        f"heartbeat_period: {HEARTBEAT_PERIOD}\nheartbeat_threshold: {HEARTBEAT_THRESHOLD}\n"
    )
    return path


def _running(session: int, word: str) -> Callable[[], bool]:
    """True once a process of the session has ``word`` in its command line."""
    return lambda: any(word in command for command in session_processes(session).values())


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
        [
            "run", str(sqlite_repo.root), "-p", str(PIPELINE), "-i", "raw", "-o", "out",
            "--executor", "parsl", "--site", str(site), "-j", "2", "--no-progress",
            "-c", "calexp:delay=5", "-c", f"calexp:counter={counter}",
        ],
        tmp_path / "driver.log",
    )  # fmt: skip
    reached = {
        "interchange": _running(driver.pid, "quanta.exec.guard"),
        "worker pool": _running(driver.pid, "process_worker_pool.py"),
        "busy workers": _started(counter, 2),
    }[point]
    assert poll(reached, 120, step=0.005), (tmp_path / "driver.log").read_text()
    killed = kill(driver)
    gone = poll(lambda: not session_processes(driver.pid), HEARTBEAT_THRESHOLD + MARGIN, 0.1)
    left = session_processes(driver.pid)
    assert gone, f"{time.monotonic() - killed:.1f} s after the kill, still running: {left}"
