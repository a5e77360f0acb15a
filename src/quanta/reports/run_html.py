"""The run report as one self-contained HTML page: contents, the task graph with counts,
quanta by task and status, failures with their errors and tracebacks, durations per
task and the run's plots (such as ``ptcPlot``), images inline. No script, no external
file: it opens offline."""

from __future__ import annotations

import base64
import statistics
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.core.status import QuantumStatus

from .run_figures import SHOWN, durations_png, task_graph_svg

if TYPE_CHECKING:
    from quanta.core.provenance import QuantumRecord

    from .run_facts import RunFacts, TaskFacts

#: Most duration histograms drawn (one per task).
MAX_HISTOGRAMS = 40
_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 110em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; font-size: 0.9em; }
th { background: #f2f2f2; } td.n { text-align: right; }
.scroll { overflow-x: auto; max-width: 100%; }
pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
figure { display: inline-block; margin: 0.3em; vertical-align: top; }
figcaption { font-size: 0.8em; color: #555; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; }
.failed { color: #cf222e; font-weight: bold; } .ok { color: #1a7f37; }
"""


def write_run_html(facts: RunFacts, path: Path) -> None:
    """Write ``render_run_html(facts)`` to ``path``."""
    Path(path).write_text(render_run_html(facts), encoding="utf-8")


def render_run_html(facts: RunFacts) -> str:
    """The whole page."""
    title = f"quanta report: {facts.run}"
    sections = [
        ("tasks", "Tasks", _tasks(facts)),
        ("failures", f"Failures ({facts.n_failures})", _failures(facts)),
        ("timings", "Timings", _timings(facts.tasks)),
    ]
    if facts.n_plots:
        sections.append(("plots", f"Plots ({facts.n_plots})", _plots(facts)))
    failed = sum(
        t.counts[QuantumStatus.FAILED] + t.counts[QuantumStatus.BLOCKED] for t in facts.tasks
    )
    verdict = (
        f'<p class="failed">{failed} quanta failed or were blocked.</p>'
        if failed
        else '<p class="ok">Every quantum ran.</p>'
    )
    contents = "".join(f'<li><a href="#{key}">{escape(name)}</a></li>' for key, name, _ in sections)
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Collection <code>{escape(facts.collection)}</code>, run "
        f"<code>{escape(facts.run)}</code>.</p>{verdict}",
        f'<nav id="contents"><h2>Contents</h2><ol>{contents}</ol></nav>',
        *(
            f'<section id="{key}"><h2>{escape(name)}</h2>{html}</section>'
            for key, name, html in sections
        ),
    ]
    head = f"<title>{escape(title)}</title><style>{_STYLE}</style>"
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{head}</head>\n<body>\n'
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _cell(value: object) -> str:
    """A table cell, numbers right-aligned."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        return f'<td class="n">{text}</td>'
    return f"<td>{escape(str(value))}</td>"


def _tasks(facts: RunFacts) -> str:
    """The task graph, then one row per task in dependency order."""
    note = (
        ""
        if facts.has_graph
        else "<p>The run's graph was not saved, so tasks are shown without their links.</p>"
    )
    graph = f'<div class="scroll">{task_graph_svg(facts.tasks)}</div>' if facts.tasks else ""
    head = ["level", "task", "reads from", *SHOWN.values(), "total", "median s", "max s"]
    rows = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for t in facts.tasks:
        durations = t.durations_s
        cells = [t.level, t.label, ", ".join(t.upstream) or "-", *(t.counts[s] for s in SHOWN)]
        cells += [t.total]
        cells += [statistics.median(durations), max(durations)] if durations else ["-", "-"]
        rows.append("<tr>" + "".join(_cell(c) for c in cells) + "</tr>")
    return note + graph + '<div class="scroll"><table>' + "".join(rows) + "</table></div>"


def _failures(facts: RunFacts) -> str:
    """Each failed quantum: where it ran, its error and its traceback."""
    if not facts.failures:
        return "<p>No quantum failed.</p>"
    parts = [_failure(q) for q in facts.failures]
    if facts.n_failures > len(facts.failures):
        parts.append(
            f"<p>... {facts.n_failures - len(facts.failures)} more: "
            "<code>quanta report REPO RUN --logs --status failed</code> lists them all.</p>"
        )
    return "".join(parts)


def _failure(q: QuantumRecord) -> str:
    """One failure as a heading, its facts, its error, and its traceback with the log of
    the failed attempt."""
    facts = [f"attempts {q.attempts}"]
    if q.host:
        facts.append(f"host {q.host}")
    if q.start_ns is not None and q.end_ns is not None:
        facts.append(f"{(q.end_ns - q.start_ns) / 1e9:.2f} s")
    trace = f"<pre>{escape(q.traceback)}</pre>" if q.traceback else ""
    return (
        f'<h3 class="failure">{escape(q.label)} <code>{escape(q.data_id_key)}</code></h3>'
        f"<p>{escape(', '.join(facts))}</p>"
        f'<p class="failed">{escape(q.error or "no error recorded")}</p>{trace}'
    )


def _timings(tasks: list[TaskFacts]) -> str:
    """A histogram of quantum durations per task that has any."""
    timed = [t for t in tasks if t.durations_s]
    if not timed:
        return "<p>No quantum recorded its start and end.</p>"
    figures = [
        f'<figure><img src="data:image/png;base64,{durations_png(t)}" data-kind="durations" '
        f'alt="durations of {escape(t.label)}"><figcaption>{escape(t.label)}: '
        f"{len(t.durations_s)} quanta, {sum(t.durations_s):.3g} s in all</figcaption></figure>"
        for t in timed[:MAX_HISTOGRAMS]
    ]
    if len(timed) > MAX_HISTOGRAMS:
        figures.append(f"<p>... {len(timed) - MAX_HISTOGRAMS} more tasks, not drawn</p>")
    return "".join(figures)


def _plots(facts: RunFacts) -> str:
    """The run's plots as written, each captioned with its dataset type and data ID."""
    figures = [
        f'<figure><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
        f'data-kind="plot" alt="{escape(name)} {escape(key)}">'
        f"<figcaption>{escape(name)} <code>{escape(key)}</code></figcaption></figure>"
        for name, key, png in facts.plots
    ]
    if facts.n_plots > len(facts.plots):
        figures.append(f"<p>... {facts.n_plots - len(facts.plots)} more plots, not shown</p>")
    return "".join(figures)
