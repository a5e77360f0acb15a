"""The comparison report as one self-contained HTML page.

A summary table (one row per dataset type), then per dataset type the data IDs on one
side only and every pair that is not identical, with its planes, columns or paths and a
histogram of the differences of each differing plane or column, drawn with matplotlib's
``Figure`` and Agg canvas (never pyplot) and inlined as base64 PNG.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any

from .report import (
    BytesDiff,
    CompareReport,
    DatasetComparison,
    DatasetTypeSummary,
    Histogram,
    ImageDiff,
    PathDiff,
    StructuredDiff,
    TableDiff,
)

#: Most histograms drawn in one page; the rest are listed without one.
MAX_FIGURES = 100
#: Most data IDs on one side only listed per dataset type.
MAX_ONLY_LISTED = 200
_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; font-size: 0.9em; }
th { background: #f2f2f2; }
td.n { text-align: right; }
.identical { color: #1a7f37; } .within_tolerance { color: #9a6700; }
.different, .missing, .error { color: #cf222e; font-weight: bold; }
h3 { font-size: 1em; margin-top: 1.5em; }
figure { display: inline-block; margin: 0.3em; }
code { font-size: 0.9em; }
"""


def write_html(report: CompareReport, path: Path) -> None:
    """Write ``render_html(report)`` to ``path``."""
    Path(path).write_text(render_html(report), encoding="utf-8")


def render_html(report: CompareReport) -> str:
    """The whole page."""
    page = _Page()
    title = f"quanta compare: {report.collection_a} vs {report.collection_b}"
    page.add(f"<h1>{escape(title)}</h1>")
    page.add(_setup(report))
    page.add(_summary_table(report))
    if report.skipped_types:
        page.add(
            "<p>Skipped by default (they hold timings; name them to compare): "
            + ", ".join(f"<code>{escape(n)}</code>" for n in report.skipped_types)
            + "</p>"
        )
    for summary in report.dataset_types:
        if summary.status != "identical":
            page.type_section(summary)
    head = f"<title>{escape(title)}</title><style>{_STYLE}</style>"
    body = "\n".join(page.parts)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{head}</head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


def _setup(report: CompareReport) -> str:
    """What was compared with what, and how."""
    options = report.options
    if options.match_columns:
        rows = f"by key columns {', '.join(options.match_columns)}"
    elif options.match_sky is not None:
        rows = f"by sky position within {options.match_sky:g} arcsec"
    else:
        rows = "by row order"
    items = [
        ("A", f"{report.collection_a} in {report.repo_a}"),
        ("B", f"{report.collection_b} in {report.repo_b}"),
        ("where", report.where or "(all datasets)"),
        ("tolerance", f"|B - A| <= {options.atol:g} + {options.rtol:g} * |B|"),
        ("ignored columns", ", ".join(options.ignore_columns) or "(none)"),
        ("table rows matched", rows),
        ("overall", report.status),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    return f"<table>{cells}</table>"


class _Raw(str):
    """HTML that is already escaped."""


def _status(status: str) -> str:
    """A status, coloured by its class."""
    return f'<span class="{escape(status)}">{escape(status.replace("_", " "))}</span>'


def _row(cells: list[Any], header: bool = False) -> str:
    """One table row; numbers right-aligned, text escaped (unless already HTML)."""
    tag = "th" if header else "td"
    out = []
    for cell in cells:
        if isinstance(cell, int) and not isinstance(cell, bool):
            out.append(f'<{tag} class="n">{cell}</{tag}>')
        elif isinstance(cell, float):
            out.append(f'<{tag} class="n">{cell:.6g}</{tag}>')
        else:
            out.append(f"<{tag}>{cell if isinstance(cell, _Raw) else escape(str(cell))}</{tag}>")
    return "<tr>" + "".join(out) + "</tr>"


def _summary_table(report: CompareReport) -> str:
    """One row per dataset type."""
    head = ["dataset type", "storage class", "status", "A", "B", "only A", "only B"]
    head += ["identical", "within tol.", "different", "errors", "note"]
    rows = [_row(head, header=True)]
    for s in report.dataset_types:
        storage = s.storage_class_a or s.storage_class_b or "-"
        if s.storage_class_a and s.storage_class_b and s.storage_class_a != s.storage_class_b:
            storage = f"{s.storage_class_a} / {s.storage_class_b}"
        rows.append(
            _row(
                [
                    s.name,
                    storage,
                    _Raw(_status(s.status)),
                    s.n_a,
                    s.n_b,
                    len(s.only_in_a),
                    len(s.only_in_b),
                    s.n_identical,
                    s.n_within_tolerance,
                    s.n_different,
                    s.n_error,
                    s.message or "",
                ]
            )
        )
    return "<table>" + "".join(rows) + "</table>"


def histogram_png(histogram: Histogram, title: str) -> str:
    """A histogram of differences as base64 PNG, drawn on a bare ``Figure`` (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.5, 2.6), dpi=80)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.stairs(histogram.counts, histogram.edges, fill=True)
    axes.set_xlabel("B - A")
    axes.set_ylabel("count" if histogram.stride == 1 else f"count (1 in {histogram.stride})")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class _Page:
    """The parts of the page, and how many histograms it holds so far."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.figures = 0

    def add(self, html: str) -> None:
        """Append a piece of HTML."""
        self.parts.append(html)

    def figure(self, histogram: Histogram | None, title: str) -> None:
        """A histogram as an inline image, while fewer than ``MAX_FIGURES`` are drawn."""
        if histogram is None:
            return
        if self.figures >= MAX_FIGURES:
            self.add(f"<p>(histogram of {escape(title)} left out: {MAX_FIGURES} drawn)</p>")
            return
        self.figures += 1
        data = histogram_png(histogram, title)
        self.add(f'<figure><img src="data:image/png;base64,{data}" alt="{escape(title)}"></figure>')

    def type_section(self, summary: DatasetTypeSummary) -> None:
        """A dataset type: its error, data IDs on one side only, pairs not identical."""
        self.add(f"<h2>{escape(summary.name)} {_status(summary.status)}</h2>")
        if summary.message:
            self.add(f"<p>{escape(summary.message)}</p>")
        for side, keys in (("A", summary.only_in_a), ("B", summary.only_in_b)):
            if keys:
                items = [f"<li><code>{escape(k)}</code></li>" for k in keys[:MAX_ONLY_LISTED]]
                if len(keys) > MAX_ONLY_LISTED:
                    items.append(f"<li>... {len(keys) - MAX_ONLY_LISTED} more</li>")
                self.add(f"<p>{len(keys)} data ID(s) only in {side}:</p><ul>{''.join(items)}</ul>")
        for comparison in summary.datasets:
            self.dataset(summary.name, comparison)

    def dataset(self, name: str, comparison: DatasetComparison) -> None:
        """One pair of datasets: its error or its detail."""
        self.add(
            f"<h3>{escape(name)} <code>{escape(comparison.data_id)}</code> "
            f"{_status(comparison.status)}</h3>"
        )
        if comparison.message:
            self.add(f"<p>{escape(comparison.message)}</p>")
        detail = comparison.detail
        title = f"{name} {comparison.data_id}"
        if isinstance(detail, ImageDiff):
            self.image(detail, title)
        elif isinstance(detail, TableDiff):
            self.table(detail, title)
        elif isinstance(detail, StructuredDiff):
            self.paths(detail.paths, detail.n_paths)
        elif isinstance(detail, BytesDiff):
            self.add(f"<p>{escape(detail.describe())}</p>")

    def image(self, detail: ImageDiff, title: str) -> None:
        """Every plane, histograms of the differing ones, header differences."""
        head = ["plane", "status", "differ", "of", "NaN/inf mismatch", "max |B-A|", "at"]
        head += ["max rel", "at", "mean", "spread", "mask bits (pixels)"]
        rows = [_row(head, header=True)]
        for p in detail.planes:
            bits = ", ".join(f"{b} ({n})" for b, n in sorted((p.bits or {}).items()))
            rows.append(
                _row(
                    [
                        p.name,
                        _Raw(_status(p.status)),
                        p.n_differ,
                        p.n_total,
                        p.n_nonfinite_mismatch,
                        p.max_abs,
                        tuple(p.max_abs_at or ()),
                        p.max_rel,
                        tuple(p.max_rel_at or ()),
                        "-" if p.mean is None else p.mean,
                        "-" if p.spread is None else p.spread,
                        bits,
                    ]
                )
            )
        self.add("<table>" + "".join(rows) + "</table>")
        for p in detail.planes:
            if p.status != "identical":
                self.figure(p.histogram, f"{title} {p.name}")
        if detail.n_header_differ:
            self.add("<p>Header:</p>")
            self.paths(detail.header, detail.n_header_differ)

    def table(self, detail: TableDiff, title: str) -> None:
        """Schema and rows, then the differing columns with their histograms."""
        lines = [
            f"{detail.n_rows_a} rows in A, {detail.n_rows_b} in B, {detail.n_matched} matched "
            f"by {detail.matched_by}"
        ]
        if detail.columns_only_in_a or detail.columns_only_in_b:
            lines.append(
                f"columns only in A: {detail.columns_only_in_a}; only in B: "
                f"{detail.columns_only_in_b}"
            )
        for side, rows, n in (
            ("A", detail.rows_only_in_a, detail.n_only_in_a),
            ("B", detail.rows_only_in_b, detail.n_only_in_b),
        ):
            if n:
                lines.append(f"{n} row(s) only in {side}: {', '.join(rows)}")
        if detail.ignored_columns:
            lines.append(f"ignored columns: {', '.join(detail.ignored_columns)}")
        self.add("".join(f"<p>{escape(line)}</p>" for line in lines))
        head = ["column", "status", "type A", "type B", "differ", "of", "mean", "max |B-A|"]
        head += ["spread", "rows"]
        rows = [_row(head, header=True)]
        differing = [c for c in detail.columns if c.status != "identical"]
        for c in differing:
            rows.append(
                _row(
                    [
                        c.name,
                        _Raw(_status(c.status)),
                        c.type_a,
                        c.type_b,
                        c.n_differ,
                        c.n_compared,
                        "-" if c.mean is None else c.mean,
                        "-" if c.max_abs is None else c.max_abs,
                        "-" if c.spread is None else c.spread,
                        "; ".join(c.rows),
                    ]
                )
            )
        if differing:
            self.add("<table>" + "".join(rows) + "</table>")
        for c in differing:
            self.figure(c.histogram, f"{title} {c.name}")

    def paths(self, paths: list[PathDiff], total: int) -> None:
        """Differences by path (the listed ones of ``total``)."""
        rows = [_row(["path", "kind", "A", "B", "|B-A|"], header=True)]
        for d in paths:
            diff = "-" if d.abs_diff is None else d.abs_diff
            rows.append(_row([d.path, d.kind, repr(d.a), repr(d.b), diff]))
        more = f"<p>... {total - len(paths)} more</p>" if total > len(paths) else ""
        self.add("<table>" + "".join(rows) + "</table>" + more)
