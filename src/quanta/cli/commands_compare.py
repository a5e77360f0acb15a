"""The ``compare`` command: run-against-run parity of two collections."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import CommandError
from .params import BindValue, bind_option, repo_argument, where_option

if TYPE_CHECKING:
    from quanta.compare import CompareReport

#: Most non-identical datasets described under the summary table.
_LISTED = 20


@click.command("compare")
@repo_argument
@click.argument("collection_a")
@click.argument("collection_b")
@click.argument("dataset_types", nargs=-1, metavar="[DATASET_TYPE]...")
@click.option(
    "--repo-b",
    type=click.Path(path_type=Path),
    metavar="REPO_B",
    help="Repository of COLLECTION_B; REPO when omitted.",
)
@where_option
@bind_option
@click.option(
    "--rtol",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Relative tolerance: values are equal when |B - A| <= ATOL + RTOL * |B|.",
)
@click.option(
    "--atol",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Absolute tolerance (see --rtol); both 0 is an exact comparison.",
)
@click.option(
    "--ignore-columns",
    multiple=True,
    metavar="GLOB",
    help="Table columns reported as ignored, not compared. Repeatable; replaces the "
    "default timing columns (*runtime*, *_seconds, timestamp*, *_timestamp, start_*, "
    'end_*); --ignore-columns "" compares every column.',
)
@click.option(
    "--match-columns",
    metavar="COLS",
    help="Match table rows by these comma-separated key columns (default: row order).",
)
@click.option(
    "--match-sky",
    type=click.FloatRange(min=0, min_open=True),
    metavar="RADIUS",
    help="Match table rows by sky position within RADIUS arcsec (columns ra/dec or "
    "coord_ra/coord_dec, degrees).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the whole report as JSON to FILE.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write a self-contained HTML report, with histograms of differences, to FILE.",
)
@click.option(
    "--fail-on-diff",
    is_flag=True,
    help="Exit with 1 when anything differs beyond tolerance, is missing or unreadable.",
)
def compare(
    repo: Path,
    collection_a: str,
    collection_b: str,
    dataset_types: tuple[str, ...],
    repo_b: Path | None,
    where: str | None,
    binds: dict[str, BindValue],
    rtol: float,
    atol: float,
    ignore_columns: tuple[str, ...],
    match_columns: str | None,
    match_sky: float | None,
    json_path: Path | None,
    html_path: Path | None,
    fail_on_diff: bool,
) -> None:
    """Compare the datasets of two collections.

    Compares COLLECTION_A of REPO with COLLECTION_B (of REPO_B, or of REPO): the data IDs
    on each side, then every pair of datasets with the same data ID, images pixel by
    pixel, tables column by column, structured data path by path. Without DATASET_TYPE
    arguments every dataset type in either collection is compared except the *_log and
    *_metadata ones, which hold timings. Prints one row per dataset type.
    """
    from quanta.compare import CompareOptions, compare_collections, write_html

    from .operations import open_butler

    keys = tuple(k.strip() for k in (match_columns or "").split(",") if k.strip())
    if keys and match_sky is not None:
        raise click.UsageError("give --match-columns or --match-sky, not both")
    settings: dict[str, object] = {"rtol": rtol, "atol": atol, "match_columns": keys}
    if ignore_columns:
        settings["ignore_columns"] = ignore_columns
    if match_sky is not None:
        settings["match_sky"] = match_sky
    options = CompareOptions.model_validate(settings)
    with contextlib.ExitStack() as stack:
        butler_a = stack.enter_context(open_butler(repo))
        butler_b = butler_a if repo_b is None else stack.enter_context(open_butler(repo_b))
        report = compare_collections(
            butler_a,
            collection_a,
            butler_b,
            collection_b,
            dataset_types,
            where,
            options,
            binds=binds,
        )
    _print_report(report)
    for path, write in (
        (json_path, lambda p: p.write_text(report.model_dump_json(indent=2) + "\n")),
        (html_path, lambda p: write_html(report, p)),
    ):
        if path is not None:
            try:
                write(path)
            except OSError as err:
                raise CommandError(f"cannot write {path}: {err.strerror or err}") from err
    if fail_on_diff and report.differs:
        raise click.exceptions.Exit(1)


def _print_report(report: CompareReport) -> None:
    """The summary table, then one line per dataset that is not identical (the first few)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    styles = {
        "identical": "green",
        "within_tolerance": "yellow",
        "different": "bold red",
        "missing": "bold red",
        "error": "bold red",
    }
    table = Table(
        "dataset type",
        "storage class",
        "status",
        "A",
        "B",
        "only A",
        "only B",
        "identical",
        "within tol.",
        "different",
        "errors",
        title=f"{report.collection_a} vs {report.collection_b}",
    )
    for s in report.dataset_types:
        storage = s.storage_class_a or s.storage_class_b or "-"
        if s.storage_class_a and s.storage_class_b and s.storage_class_a != s.storage_class_b:
            storage = f"{s.storage_class_a}/{s.storage_class_b}"
        counts = [s.n_a, s.n_b, len(s.only_in_a), len(s.only_in_b)]
        counts += [s.n_identical, s.n_within_tolerance, s.n_different, s.n_error]
        table.add_row(
            Text(s.name), storage, Text(s.status, style=styles[s.status]), *map(str, counts)
        )
    console = Console()
    if not console.is_terminal:
        needed = console.measure(table, options=console.options.update_width(1_000_000))
        console.width = max(console.width, needed.maximum)
    console.print(table)
    lines = []
    for s in report.dataset_types:
        if s.message:
            lines.append(f"{s.name}: {s.message}")
        for side, keys in (("A", s.only_in_a), ("B", s.only_in_b)):
            if keys:
                more = f" and {len(keys) - 1} more" if len(keys) > 1 else ""
                lines.append(f"{s.name}: only in {side}: {{{keys[0]}}}{more}")
        lines.extend(f"{s.name} {{{d.data_id}}}: {d.describe()}" for d in s.datasets)
    for line in lines[:_LISTED]:
        console.print(Text(line), soft_wrap=True)
    if len(lines) > _LISTED:
        console.print(f"... {len(lines) - _LISTED} more; see --json or --html for everything")
    if report.skipped_types:
        skipped = ", ".join(report.skipped_types)
        text = Text(f"skipped by default (timings; name them to compare): {skipped}")
        console.print(text, soft_wrap=True)
    console.print(Text(f"overall: {report.status}", style=styles[report.status]))


COMMANDS = (compare,)
