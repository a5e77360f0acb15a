"""The run report's figures: the task graph as inline SVG (boxes by dependency level, with
counts) and histograms of quantum durations per task as base64 PNG (matplotlib's bare
``Figure``, never pyplot)."""

from __future__ import annotations

import base64
import io
import textwrap
from html import escape
from typing import TYPE_CHECKING

from quanta.core.status import QuantumStatus

if TYPE_CHECKING:
    from .run_facts import TaskFacts

#: Box size and gaps of the task graph, in SVG pixels.
BOX_W, BOX_H, GAP_X, GAP_Y = 230, 62, 70, 22
#: Height of each lane above the boxes that carries an arrow skipping levels.
LANE = 8
#: Short names of the statuses a box shows, in order.
SHOWN = {
    QuantumStatus.DONE: "done",
    QuantumStatus.FAILED: "failed",
    QuantumStatus.BLOCKED: "blocked",
    QuantumStatus.SKIPPED_EXISTING: "skipped",
    QuantumStatus.NO_WORK: "no work",
}


def _fill(task: TaskFacts) -> str:
    """Red with failures, amber with blocked quanta, green otherwise."""
    if task.counts[QuantumStatus.FAILED]:
        return "#ffd7d5"
    if task.counts[QuantumStatus.BLOCKED]:
        return "#fff1c2"
    return "#dafbe1"


def task_graph_svg(tasks: list[TaskFacts]) -> str:
    """The tasks as boxes in columns by level, arrows from each task to those reading it;
    an arrow that skips levels runs in a lane above the boxes, through the gaps."""
    columns: dict[int, list[TaskFacts]] = {}
    for task in tasks:
        columns.setdefault(task.level, []).append(task)
    level = {t.label: t.level for t in tasks}
    long_edges = [(u, t) for t in tasks for u in t.upstream if t.level - level[u] > 1]
    top = 10 + LANE * len(long_edges)
    where: dict[str, tuple[int, int]] = {}
    for column, members in columns.items():
        for row, task in enumerate(members):
            where[task.label] = (10 + column * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y))
    width = 20 + len(columns) * (BOX_W + GAP_X) - GAP_X
    height = top + 10 + max(len(m) for m in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="task-graph" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        "</defs>",
    ]
    for task in tasks:
        x, y = where[task.label]
        for up in task.upstream:
            ux, uy = where[up]
            points = [(ux + BOX_W, uy + BOX_H // 2)]
            if (up, task) in long_edges:
                k = long_edges.index((up, task))
                lane, step = 10 + LANE * k, 8 + 6 * (k % 5)  # apart from the other lanes
                out, into = ux + BOX_W + step, x - step
                points += [(out, points[0][1]), (out, lane), (into, lane), (into, y + BOX_H // 2)]
            points.append((x, y + BOX_H // 2))
            parts.append(
                '<polyline points="' + " ".join(f"{px},{py}" for px, py in points) + '" '
                'fill="none" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>'
            )
    for task in tasks:
        x, y = where[task.label]
        counts = " · ".join(
            f"{n} {name}" for status, name in SHOWN.items() if (n := task.counts[status])
        )
        label = task.label if len(task.label) <= 28 else task.label[:27] + "…"
        parts.append(
            f'<g class="task" data-label="{escape(task.label)}"><title>{escape(task.label)}'
            f"</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{_fill(task)}" stroke="#888"/>'
            f'<text x="{x + 10}" y="{y + 24}" font-size="15" font-weight="bold">'
            f"{escape(label)}</text>"
            f'<text x="{x + 10}" y="{y + 46}" font-size="12">'
            f"{escape(counts or 'no quanta')}</text></g>"
        )
    return "".join(parts) + "</svg>"


def durations_png(task: TaskFacts) -> str:
    """A histogram of the wall-clock seconds of one task's quanta, as base64 PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.2, 2.6), dpi=90, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    longest = max(task.durations_s)
    bins = min(30, max(5, len(task.durations_s) // 4))
    axes.hist(task.durations_s, bins=bins, range=(0.0, longest * 1.05 or 1.0))
    axes.set_title(textwrap.shorten(f"{task.label}: quantum durations", 48), fontsize=10)
    axes.set_xlabel("wall-clock seconds per quantum", fontsize=9)
    axes.set_ylabel("quanta", fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
