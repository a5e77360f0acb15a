"""Showing how far work has got, on stderr: rich bars on a terminal, a line now and then
otherwise (never on stdout, where results and JSON go).

``StepProgress`` draws the steps a library function reports through a
``quanta.core.progress.ProgressCallback``; ``Progress`` draws a run: finished quanta with
their counts by status, and under the bar the counts of each task.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from ..core.status import QuantumStatus

#: Seconds between two plain lines of one step or run when stderr is not a terminal.
LINE_SECONDS = 10.0
#: Seconds between two redraws of a step's bar: a step of a million items stays cheap.
BAR_SECONDS = 0.1
#: Statuses shown per task under a run's bar (the others count as "done" too).
TASK_COLUMNS = (QuantumStatus.DONE, QuantumStatus.FAILED, QuantumStatus.BLOCKED)


def _bar(stream: IO[str], below: Callable[[], Any] | None = None) -> Any:
    """A started, transient rich progress bar on ``stream``; ``below`` gives what to draw
    under the bars at each redraw. It redraws when told to, not from a thread of its own:
    a process with a second thread cannot fork safely, and a quantum's maps fork
    (``quanta.pipe.parallel``)."""
    from rich.console import Console, Group
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    class _Bar(RichProgress):
        def get_renderable(self) -> Any:
            shown = super().get_renderable()
            return shown if below is None else Group(shown, below())

    bar = _Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
        auto_refresh=False,
    )
    bar.start()
    return bar


@dataclass(slots=True)
class _Step:
    """Where one step stands, and what its last plain line said and when."""

    done: int
    total: int | None
    written: int
    when: float
    wrote: bool = False


class StepProgress:
    """A ``ProgressCallback`` that draws each reported step: a bar per step on a terminal;
    otherwise, for a step lasting longer than ``seconds`` (default ``LINE_SECONDS``), a
    line every ``seconds`` and one when it ends. Quicker steps print nothing there."""

    def __init__(
        self, enabled: bool, stream: IO[str] | None = None, seconds: float | None = None
    ) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.seconds = LINE_SECONDS if seconds is None else seconds
        self._terminal = self.stream.isatty()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._steps: dict[str, _Step] = {}

    def __call__(self, what: str, done: int, total: int | None) -> None:
        """Show that ``done`` of ``total`` items of step ``what`` are finished."""
        if not self.enabled:
            return
        now = time.monotonic()
        step = self._steps.get(what)
        if step is None:
            step = self._steps[what] = _Step(done, total, done, now)
        step.done, step.total = done, total
        if self._terminal:
            if now - step.when >= BAR_SECONDS or done == total or step.written == done:
                self._draw(what, step, now)
            return
        due = done != step.written and now - step.when >= self.seconds
        if due or (step.wrote and done == total and done != step.written):
            self._line(what, step, now)

    def close(self) -> None:
        """Remove the bars, or end each step that printed lines with its last count."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        for what, step in self._steps.items():
            if not self._terminal and step.wrote and step.done != step.written:
                self._line(what, step, time.monotonic())
        self._steps.clear()

    def _draw(self, what: str, step: _Step, now: float) -> None:
        """Redraw the bar of one step (made, with the bars' display, on first use)."""
        if self._bar is None:
            self._bar = _bar(self.stream)
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(what, total=step.total)
        self._bar.update(self._tasks[what], completed=step.done, total=step.total, refresh=True)
        step.written, step.when = step.done, now

    def _line(self, what: str, step: _Step, now: float) -> None:
        counted = f"{step.done}" + (f"/{step.total}" if step.total is not None else "")
        self.stream.write(f"quanta: {what}: {counted}\n")
        self.stream.flush()
        step.written, step.when, step.wrote = step.done, now, True


@contextmanager
def step_progress(enabled: bool, stream: IO[str] | None = None) -> Iterator[StepProgress]:
    """A ``StepProgress`` removed from the terminal when the block ends, even on an error."""
    progress = StepProgress(enabled, stream)
    try:
        yield progress
    finally:
        progress.close()


class Progress:
    """Reports finished quanta to ``stream`` (stderr by default) while a run goes on.

    On a terminal a rich bar is redrawn with each task's counts under it; elsewhere one
    plain line (totals, then each task's counts) is written every ``every`` quanta or
    ``seconds`` seconds, whichever comes first, and at the end. ``tasks`` gives each task
    label its number of quanta.
    """

    def __init__(
        self,
        total: int,
        enabled: bool,
        stream: IO[str] | None = None,
        every: int = 1000,
        seconds: float = LINE_SECONDS,
        tasks: Mapping[str, int] | None = None,
    ) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.seconds = seconds
        self.tasks = dict(tasks or {})
        self._per_task: Mapping[str, Mapping[QuantumStatus, int]] = {}
        self._bar: Any = None
        self._task: Any = None
        self._last_count = 0
        self._last_time = time.monotonic()
        if enabled and self.stream.isatty():
            self._bar = _bar(self.stream, self._task_table)
            self._task = self._bar.add_task("quanta", total=total)

    def update(
        self,
        finished: int,
        counts: Mapping[QuantumStatus, int],
        per_task: Mapping[str, Mapping[QuantumStatus, int]] | None = None,
    ) -> None:
        """Show ``finished`` of ``total`` quanta, with counts by status (and by task)."""
        if not self.enabled:
            return
        if per_task is not None:
            self._per_task = per_task
        now = time.monotonic()
        if self._bar is not None:
            redraw = now - self._last_time >= BAR_SECONDS or finished == self.total
            self._bar.update(
                self._task, completed=finished, description=_describe(counts), refresh=redraw
            )
            if redraw:
                self._last_time = now
            return
        due = finished - self._last_count >= self.every or now - self._last_time >= self.seconds
        if finished != self._last_count and due:
            self._line(finished, counts)
            self._last_count, self._last_time = finished, now

    def close(
        self,
        finished: int,
        counts: Mapping[QuantumStatus, int],
        per_task: Mapping[str, Mapping[QuantumStatus, int]] | None = None,
    ) -> None:
        """Remove the bar, or write the last line."""
        if per_task is not None:
            self._per_task = per_task
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled and finished != self._last_count:
            self._line(finished, counts)

    def _line(self, finished: int, counts: Mapping[QuantumStatus, int]) -> None:
        parts = [f"quanta: {finished}/{self.total} finished ({_describe(counts)})"]
        parts.extend(
            f"{label} {self._task_counts(label, c)}" for label, c in self._per_task.items()
        )
        self.stream.write("; ".join(parts) + "\n")
        self.stream.flush()

    def _task_counts(self, label: str, counts: Mapping[QuantumStatus, int]) -> str:
        """``done/total`` of one task, then its failed and blocked quanta if any."""
        done = sum(n for status, n in counts.items() if status not in TASK_COLUMNS[1:])
        total = self.tasks.get(label)
        shown = f"{done}/{total}" if total is not None else str(done)
        bad = [f"{counts.get(s, 0)} {s}" for s in TASK_COLUMNS[1:] if counts.get(s, 0)]
        return shown + (f" ({', '.join(bad)})" if bad else "")

    def _task_table(self) -> Any:
        """Each task's done/failed/blocked quanta of its total, for under the bar."""
        from rich.table import Table

        table = Table("task", *TASK_COLUMNS, "total", box=None, padding=(0, 1))
        for label, counts in self._per_task.items():
            done = sum(n for s, n in counts.items() if s not in TASK_COLUMNS[1:])
            rest = [str(counts.get(s, 0)) for s in TASK_COLUMNS[1:]]
            table.add_row(label, str(done), *rest, str(self.tasks.get(label, "")))
        return table


def _describe(counts: Mapping[QuantumStatus, int]) -> str:
    shown = [f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n]
    return ", ".join(shown) or "starting"
