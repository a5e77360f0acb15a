"""Run a command that dies with this process's parent: ``python -m quanta.exec.guard CMD...``.

Parsl starts its interchange as a separate process that outlives a driver killed by
SIGKILL; under this guard the kernel kills it too (Linux ``PR_SET_PDEATHSIG``), and the
workers, missing its heartbeats, stop by themselves. Elsewhere the command just runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    """Ask for SIGKILL when the parent dies, then become the command."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
