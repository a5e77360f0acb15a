"""Tie Parsl's processes to their driver, so that none outlives a driver killed by SIGKILL.

``python -m quanta.exec.guard parent PID CMD...`` runs the interchange: the kernel kills
it when its parent, the driver ``PID``, dies (Linux ``PR_SET_PDEATHSIG``), and if the
driver died before the request was made (a window of the guard's own start-up), it does
not start at all. Elsewhere the command just runs.

``python -m quanta.exec.guard watch ADDRESSES PORT PERIOD THRESHOLD CMD...`` runs a
worker pool in a process group of its own and connects to the interchange's worker port
every ``PERIOD`` seconds; once no connection succeeded for ``THRESHOLD`` seconds (the
driver and its interchange are gone) it kills the whole group. Parsl's pool only
counts missed heartbeats once it is connected, so a pool still starting when the driver
died would otherwise probe, or wait for a reply, for far longer.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the parent of this process dies (Linux only)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run_as_child(parent: int, command: list[str]) -> None:
    """Become ``command``, to die with ``parent``; exit at once if it is already gone."""
    _die_with_parent()
    if os.getppid() != parent:
        sys.exit(f"guard: parent process {parent} is gone; not starting {command[0]}")
    os.execvp(command[0], command)


def reachable(addresses: list[str], port: int, timeout: float) -> bool:
    """True if a TCP connection to ``port`` on one of ``addresses`` succeeds; the address
    that answered moves to the front, to be tried first next time."""
    for address in addresses:
        with contextlib.suppress(OSError):
            socket.create_connection((address, port), timeout=timeout).close()
            addresses.remove(address)
            addresses.insert(0, address)
            return True
    return False


def watch(
    addresses: list[str], port: int, period: float, threshold: float, command: list[str]
) -> int:
    """Run ``command`` in a new process group until it ends, or until the interchange has
    been unreachable for ``threshold`` seconds; then kill the group. Its exit code, as a
    shell gives it (128 + N when signal N killed it)."""
    child = subprocess.Popen(command, process_group=0, preexec_fn=_die_with_parent)

    def stop(signum: int, frame: FrameType | None) -> None:
        _kill_group(child.pid)
        sys.exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    contact = time.monotonic()
    while child.poll() is None:
        # Each attempt ends by the deadline, so that an unreachable host delays nothing.
        left = contact + threshold - time.monotonic()
        if reachable(addresses, port, timeout=max(0.1, min(period, left))):
            contact = time.monotonic()
        elif time.monotonic() - contact >= threshold:
            print(
                f"guard: no interchange at port {port} for {threshold:g} s; stopping",
                file=sys.stderr,
            )
            break
        next_probe = min(contact + threshold, time.monotonic() + period)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.0, next_probe - time.monotonic()))
    _kill_group(child.pid)
    code = child.wait()
    return 128 - code if code < 0 else code


def _kill_group(group: int) -> None:
    """SIGKILL every process left in a process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def main(argv: list[str]) -> int:
    """Dispatch ``parent`` and ``watch``."""
    mode, *rest = argv
    if mode == "parent":
        run_as_child(int(rest[0]), rest[1:])
    if mode == "watch":
        addresses, port, period, threshold, *command = rest
        return watch(addresses.split(","), int(port), float(period), float(threshold), command)
    sys.exit(f"guard: unknown mode {mode!r}; use parent or watch")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
