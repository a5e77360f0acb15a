"""The comparison report as one self-contained HTML page.

A table of contents, the setup and a summary table (one row per dataset type), then per
dataset type that is not identical the data IDs on one side only and every pair that is
not identical, with its planes, columns or paths, a histogram of the differences of each
differing plane or column and a thumbnail of where each differing image plane differs
(inline base64 PNG, see ``figures``). The inputs of output chains and the identical
dataset types follow in collapsed sections. No script, no external file: it opens
offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from .figures import histogram_png, thumbnail_png
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
    Thumbnail,
)

#: Most figures drawn in one page; the rest are listed without one.
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
figure { display: inline-block; margin: 0.3em; vertical-align: top; }
figcaption { font-size: 0.8em; color: #555; max-width: 36em; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
nav ol { line-height: 1.5; }
details { margin: 0.3em 0; } summary { cursor: pointer; }
.scroll { overflow-x: auto; max-width: 100%; }
"""


def write_html(report: CompareReport, path: Path) -> None:
    """Write ``render_html(report)`` to ``path``."""
    Path(path).write_text(render_html(report), encoding="utf-8")


def anchor(name: str) -> str:
    """The id of dataset type ``name``'s section."""
    return "type-" + re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def render_html(report: CompareReport) -> str:
    """The whole page."""
    page = _Page()
    title = f"quanta compare: {report.collection_a} vs {report.collection_b}"
    differing = [s for s in report.dataset_types if s.status != "identical"]
    inputs = [s for s in report.dataset_types if s.status == "identical" and s.role != "output"]
    identical = [s for s in report.dataset_types if s.status == "identical" and s not in inputs]
    page.add(f"<h1>{escape(title)}</h1>")
    page.add(_contents(differing, inputs, identical))
    page.add('<section id="setup"><h2>Setup</h2>' + _setup(report) + "</section>")
    page.add('<section id="summary"><h2>Summary</h2>' + _summary_table(report))
    if report.skipped_types:
        page.add(
            "<p>Skipped by default (they hold timings; name them to compare): "
            + ", ".join(f"<code>{escape(n)}</code>" for n in report.skipped_types)
            + "</p>"
        )
    page.add("</section>")
    for summary in differing:
        page.type_section(summary)
    for section, kind, summaries, text in (
        ("inputs", "input", inputs, _INPUTS_TEXT),
        ("identical", "identical", identical, "Every pair of these types is identical."),
    ):
        if summaries:
            page.add(f'<section id="{section}"><h2>{section.capitalize()}</h2><p>{text}</p>')
            page.add("".join(_collapsed(s, kind) for s in summaries) + "</section>")
    head = f"<title>{escape(title)}</title><style>{_STYLE}</style>"
    body = "\n".join(page.parts)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{head}</head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


_INPUTS_TEXT = (
    "Datasets an output chain found outside its run: inputs of the run, not its outputs. "
    "Those on one side only are listed here, not as missing."
)


def _contents(
    differing: list[DatasetTypeSummary],
    inputs: list[DatasetTypeSummary],
    identical: list[DatasetTypeSummary],
) -> str:
    """The table of contents: setup, summary, each type not identical, the collapsed rest."""
    items = ['<li><a href="#setup">Setup</a></li>', '<li><a href="#summary">Summary</a></li>']
    items += [
        f'<li><a href="#{anchor(s.name)}">{escape(s.name)}</a> {_status(s.status)}</li>'
        for s in differing
    ]
    for section, summaries in (("inputs", inputs), ("identical", identical)):
        if summaries:
            items.append(
                f'<li><a href="#{section}">{section.capitalize()}</a> '
                f"({len(summaries)} dataset types)</li>"
            )
    return '<nav id="contents"><h2>Contents</h2><ol>' + "".join(items) + "</ol></nav>"


def _collapsed(summary: DatasetTypeSummary, kind: str) -> str:
    """An identical dataset type (or a chain's inputs) as a closed ``<details>``."""
    pairs = summary.n_identical + summary.n_within_tolerance
    text = f"{summary.name}: {pairs} pair(s) identical; {summary.n_a} in A, {summary.n_b} in B"
    if kind == "input":
        text += f" ({summary.role})"
    lists = "".join(
        _id_list(f"{len(keys)} input data ID(s) only in {side}", keys)
        for side, keys in (("A", summary.inputs_only_in_a), ("B", summary.inputs_only_in_b))
        if keys
    )
    storage = escape(summary.storage_class_a or summary.storage_class_b or "-")
    return (
        f'<details id="{anchor(summary.name)}" class="{kind}"><summary>{escape(text)}</summary>'
        f"<p>storage class {storage}</p>{lists}</details>"
    )


def _id_list(text: str, keys: list[str]) -> str:
    """A heading and the first ``MAX_ONLY_LISTED`` data IDs."""
    items = [f"<li><code>{escape(k)}</code></li>" for k in keys[:MAX_ONLY_LISTED]]
    if len(keys) > MAX_ONLY_LISTED:
        items.append(f"<li>... {len(keys) - MAX_ONLY_LISTED} more</li>")
    return f"<p>{escape(text)}:</p><ul>{''.join(items)}</ul>"


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
    head = ["dataset type", "storage class", "role", "status", "A", "B", "only A", "only B"]
    head += ["identical", "within tol.", "different", "errors", "note"]
    rows = [_row(head, header=True)]
    for s in report.dataset_types:
        storage = s.storage_class_a or s.storage_class_b or "-"
        if s.storage_class_a and s.storage_class_b and s.storage_class_a != s.storage_class_b:
            storage = f"{s.storage_class_a} / {s.storage_class_b}"
        rows.append(
            _row(
                [
                    _Raw(f'<a href="#{anchor(s.name)}">{escape(s.name)}</a>'),
                    storage,
                    s.role,
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
    return '<div class="scroll"><table>' + "".join(rows) + "</table></div>"


class _Page:
    """The parts of the page, and how many figures it holds so far."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.figures = 0

    def add(self, html: str) -> None:
        """Append a piece of HTML."""
        self.parts.append(html)

    def figure(self, kind: str, name: str, caption: str, draw: Callable[[], str]) -> None:
        """A figure of plane or column ``name`` as an inline image with its caption, while
        fewer than ``MAX_FIGURES`` are drawn."""
        if self.figures >= MAX_FIGURES:
            self.add(f"<p>({kind} of {escape(caption)} left out: {MAX_FIGURES} drawn)</p>")
            return
        self.figures += 1
        self.add(
            f'<figure><img src="data:image/png;base64,{draw()}" data-kind="{kind}" '
            f'data-name="{escape(name)}" alt="{kind} of {escape(caption)}">'
            f"<figcaption>{kind} of {escape(caption)}</figcaption></figure>"
        )

    def histogram(self, histogram: Histogram | None, name: str, caption: str) -> None:
        """The differences of plane or column ``name``, if any are not zero."""
        if histogram is not None:
            self.figure("histogram", name, caption, lambda: histogram_png(histogram, name))

    def thumbnail(self, thumbnail: Thumbnail | None, name: str, caption: str) -> None:
        """Where plane ``name`` differs, if it is 2-d."""
        if thumbnail is not None:
            self.figure("thumbnail", name, caption, lambda: thumbnail_png(thumbnail, name))

    def type_section(self, summary: DatasetTypeSummary) -> None:
        """A dataset type: its error, data IDs on one side only, pairs not identical."""
        self.add(f'<section id="{anchor(summary.name)}">')
        self.add(f"<h2>{escape(summary.name)} {_status(summary.status)}</h2>")
        pairs = summary.n_identical + summary.n_within_tolerance + summary.n_different
        self.add(
            f"<p>{summary.n_a} in A, {summary.n_b} in B; of {pairs + summary.n_error} pairs, "
            f"{summary.n_identical} identical (not shown), {summary.n_within_tolerance} "
            f"within tolerance, {summary.n_different} different, {summary.n_error} errors.</p>"
        )
        if summary.message:
            self.add(f"<p>{escape(summary.message)}</p>")
        for side, keys in (("A", summary.only_in_a), ("B", summary.only_in_b)):
            if keys:
                self.add(_id_list(f"{len(keys)} data ID(s) only in {side} (missing)", keys))
        for side, keys in (("A", summary.inputs_only_in_a), ("B", summary.inputs_only_in_b)):
            if keys:
                text = f"{len(keys)} input data ID(s) only in {side} (inputs of its chain)"
                self.add(_id_list(text, keys))
        for comparison in summary.datasets:
            self.dataset(summary.name, comparison)
        self.add("</section>")

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
        self.add('<div class="scroll"><table>' + "".join(rows) + "</table></div>")
        for p in detail.planes:
            if p.status != "identical":
                caption = f"plane {p.name} of {title}"
                self.add('<div class="figures">')  # one row of figures per plane
                self.histogram(p.histogram, p.name, caption)
                self.thumbnail(p.thumbnail, p.name, caption)
                self.add("</div>")
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
            self.add('<div class="scroll"><table>' + "".join(rows) + "</table></div>")
        for c in differing:
            self.histogram(c.histogram, c.name, f"column {c.name} of {title}")

    def paths(self, paths: list[PathDiff], total: int) -> None:
        """Differences by path (the listed ones of ``total``)."""
        rows = [_row(["path", "kind", "A", "B", "|B-A|"], header=True)]
        for d in paths:
            diff = "-" if d.abs_diff is None else d.abs_diff
            rows.append(_row([d.path, d.kind, repr(d.a), repr(d.b), diff]))
        more = f"<p>... {total - len(paths)} more</p>" if total > len(paths) else ""
        self.add('<div class="scroll"><table>' + "".join(rows) + "</table></div>" + more)
