"""``quanta run`` as a subprocess in a session of its own, killed and watched through /proc.

Every process a driver starts (Parsl's interchange, the worker pools and their workers)
stays in the driver's session unless it calls ``setsid``, so the session ID finds them
all after the driver is gone. ``Drivers``, a context manager, kills whatever is left
when a test ends, passed or not.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

QUANTA = Path(sys.executable).parent / "quanta"
TESTS = Path(__file__).parents[1]
#: Heartbeats of the test site: short, so that a dead driver's workers stop soon.
HEARTBEAT_PERIOD = 1
HEARTBEAT_THRESHOLD = 4


def write_site(path: Path) -> Path:
    """A local Parsl site with short heartbeats, written to ``path``."""
    path.write_text(
        "provider: local\n"
        f"heartbeat_period: {HEARTBEAT_PERIOD}\nheartbeat_threshold: {HEARTBEAT_THRESHOLD}\n"
    )
    return path


def environment() -> dict[str, str]:
    """The driver's environment: the test tasks importable by it and by its workers, and
    the environment's ``bin`` (Parsl's scripts) first on PATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(QUANTA.parent), env.get("PATH", "")])
    return env


def session_processes(session: int) -> dict[int, str]:
    """The live (not zombie) processes of a session, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            found[int(entry.name)] = command.strip()
    return found


def poll(condition: Callable[[], bool], seconds: float, step: float = 0.02) -> bool:
    """Check ``condition`` until it holds or ``seconds`` have passed; whether it held."""
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


class Drivers:
    """Starts drivers, each in a new session, and kills what is left of them at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Drivers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill_all()

    def start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        """Start ``quanta ARGS`` with its output in ``log``."""
        with log.open("ab") as stream:
            driver = subprocess.Popen(
                [str(QUANTA), *args],
                env=environment(),
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(driver)
        return driver

    def kill_all(self) -> None:
        """SIGKILL every process still in a session started here."""
        for driver in self.started:
            for _ in range(50):
                left = session_processes(driver.pid)
                if not left:
                    break
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)
            driver.wait()


def kill(driver: subprocess.Popen[bytes]) -> float:
    """SIGKILL the driver (only it) and reap it; the monotonic time of the kill."""
    driver.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    driver.wait()
    return killed
