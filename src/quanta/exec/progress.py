"""Showing how far a run has got: a rich progress bar on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from ..core.status import QuantumStatus


class Progress:
    """Reports finished quanta to ``stream`` (stderr by default) while a run goes on.

    On a terminal a rich bar is redrawn; elsewhere one plain line is written every
    ``every`` quanta or ``seconds`` seconds, whichever comes first, and at the end.
    """

    def __init__(
        self,
        total: int,
        enabled: bool,
        stream: IO[str] | None = None,
        every: int = 1000,
        seconds: float = 10.0,
    ) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.seconds = seconds
        self._bar: Any = None
        self._task: Any = None
        self._last_count = 0
        self._last_time = time.monotonic()
        if enabled and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._task = self._bar.add_task("quanta", total=total)
            self._bar.start()

    def update(self, finished: int, counts: Mapping[QuantumStatus, int]) -> None:
        """Show ``finished`` of ``total`` quanta, with counts by status."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=finished, description=_describe(counts))
            return
        now = time.monotonic()
        due = finished - self._last_count >= self.every or now - self._last_time >= self.seconds
        if finished != self._last_count and due:
            self._line(finished, counts)
            self._last_count, self._last_time = finished, now

    def close(self, finished: int, counts: Mapping[QuantumStatus, int]) -> None:
        """Remove the bar, or write the last line."""
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled and finished != self._last_count:
            self._line(finished, counts)

    def _line(self, finished: int, counts: Mapping[QuantumStatus, int]) -> None:
        self.stream.write(f"quanta: {finished}/{self.total} finished ({_describe(counts)})\n")
        self.stream.flush()


def _describe(counts: Mapping[QuantumStatus, int]) -> str:
    shown = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n]
    return ", ".join(shown) or "starting"
