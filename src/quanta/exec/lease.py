"""Which driver executes a run: a small file beside the run's saved graph.

The driver writes the file when it starts, touches it while it runs and deletes it when
it stops. A second driver for the same run (``--resume`` too early, or twice) finds it:
if the first driver is alive it refuses; if the first driver died (SIGKILL, a lost
node), it waits until that driver's workers must have stopped (the executor's grace
period, counted from the file's last touch, and one touch more) so that no stale worker
writes beside it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConflictError

if TYPE_CHECKING:
    from ..butler import Butler

log = logging.getLogger("quanta.exec")

#: Seconds between touches of a lease: how long a driver may have lived after its last one.
TOUCH_SECONDS = 1.0
#: A lease of another host not touched for this long belongs to a dead driver.
STALE_SECONDS = 15.0
_HOST = socket.gethostname()


class RunLease:
    """The lease of one run, held by this process while it executes the run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._touched = 0.0

    def acquire(self, grace_seconds: float) -> None:
        """Take the lease, refusing while another live driver holds it and waiting out
        the grace period of a dead one; ``grace_seconds`` is how long this driver's
        workers may outlive it."""
        wait = self._wait_needed()
        if wait > 0:
            log.warning(
                "an earlier driver of this run died; waiting %.0f s for its workers to stop",
                wait,
            )
            time.sleep(wait)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"host": _HOST, "pid": os.getpid(), "grace_seconds": grace_seconds}
        self.path.write_text(json.dumps(record))
        self._touched = time.monotonic()

    def touch(self) -> None:
        """Show that this driver is alive (cheap: at most one write per TOUCH_SECONDS)."""
        if time.monotonic() - self._touched >= TOUCH_SECONDS:
            os.utime(self.path)
            self._touched = time.monotonic()

    def release(self) -> None:
        """Give the lease up."""
        self.path.unlink(missing_ok=True)

    def _wait_needed(self) -> float:
        """Seconds to wait before this driver may start; raises if the holder is alive."""
        try:
            record = json.loads(self.path.read_text())
            age = time.time() - self.path.stat().st_mtime
        except (OSError, ValueError):
            return 0.0
        host, pid = record.get("host"), record.get("pid")
        # Another host's driver is alive while it keeps touching the file.
        alive = _pid_alive(pid) if host == _HOST else age < STALE_SECONDS
        if alive:
            raise ConflictError(
                f"this run is being executed by process {pid} on {host}; "
                "wait for it to finish or stop it first"
            )
        # The driver died up to one touch after the file's time; its workers, up to its
        # grace period after that.
        return max(0.0, float(record.get("grace_seconds", 0.0)) + TOUCH_SECONDS - age)


def run_lease(butler: Butler, run: str) -> RunLease:
    """The lease of ``run``: ``<run>.driver`` beside the run's saved graph."""
    graph = butler.graph_path(run)
    return RunLease(graph.with_name(graph.name.removesuffix(".json.gz") + ".driver"))


def _pid_alive(pid: object) -> bool:
    """True if a process with this ID exists on this host."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
