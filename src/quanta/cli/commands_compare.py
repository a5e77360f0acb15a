"""The ``compare`` command: run-against-run parity of two collections."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import CommandError
from .option_groups import jobs_option, progress_option
from .params import BindValue, bind_option, where_option

if TYPE_CHECKING:
    from quanta.butler import Butler
    from quanta.compare import CompareReport

#: Most non-identical datasets described under the summary table.
_LISTED = 20


@click.command("compare")
@click.argument("side_a", metavar="REPO_A:COLLECTION_A")
@click.argument("side_b", metavar="REPO_B:COLLECTION_B")
@click.argument("dataset_types", nargs=-1, metavar="[DATASET_TYPE]...")
@click.option(
    "--repo-b",
    type=click.Path(path_type=Path),
    metavar="REPO_B",
    help="In the form REPO COLLECTION_A COLLECTION_B: the repository of COLLECTION_B.",
)
@jobs_option("Processes reading a legacy repository's headers.", default=1)
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
    help="Write a self-contained HTML report to FILE: contents, histograms of differences "
    "and thumbnails of where images differ.",
)
@click.option(
    "--fail-on-diff",
    is_flag=True,
    help="Exit with 1 when anything differs beyond tolerance, is missing or unreadable.",
)
@progress_option
def compare(
    side_a: str,
    side_b: str,
    dataset_types: tuple[str, ...],
    repo_b: Path | None,
    jobs: int,
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
    progress: bool,
) -> None:
    """Compare the datasets of two collections.

    Compares COLLECTION_A of REPO_A with COLLECTION_B of REPO_B (the same repository or
    another): the data IDs on each side, then every pair of datasets with the same data
    ID, images pixel by pixel, tables column by column, structured data path by path.
    Without DATASET_TYPE arguments every dataset type in either collection is compared
    except the *_log and *_metadata ones, which hold timings. Prints one row per dataset
    type.

    A side may be a legacy directory-tree repository, read where it is through the
    conversion quanta convert makes: LEGACY_ROOT:rerun/NAME, LEGACY_ROOT: (its root) or
    LEGACY_ROOT:<instrument>/calib/<calibDate> (one calibration date). The older form
    REPO COLLECTION_A COLLECTION_B [--repo-b REPO_B] compares within REPO (or with REPO_B).
    """
    from quanta.compare import CompareOptions, compare_collections, write_html
    from quanta.exec.progress import step_progress

    keys = tuple(k.strip() for k in (match_columns or "").split(",") if k.strip())
    if keys and match_sky is not None:
        raise click.UsageError("give --match-columns or --match-sky, not both")
    settings: dict[str, object] = {"rtol": rtol, "atol": atol, "match_columns": keys}
    if ignore_columns:
        settings["ignore_columns"] = ignore_columns
    if match_sky is not None:
        settings["match_sky"] = match_sky
    options = CompareOptions.model_validate(settings)
    (repo, collection_a), (other, collection_b), dataset_types = _sides(
        side_a, side_b, dataset_types, repo_b
    )
    with contextlib.ExitStack() as stack:
        shown = stack.enter_context(step_progress(progress))
        opened: dict[Path, tuple[Butler, str | None]] = {}
        butler_a, collection_a = _open(stack, opened, repo, collection_a, jobs)
        butler_b, collection_b = _open(stack, opened, other, collection_b, jobs)
        report = compare_collections(
            butler_a,
            collection_a,
            butler_b,
            collection_b,
            dataset_types,
            where,
            options,
            binds=binds,
            progress=shown,
        )
    _print_report(report)
    for path, write in (
        (json_path, lambda p: p.write_text(_report_json(report))),
        (html_path, lambda p: write_html(report, p)),
    ):
        if path is not None:
            try:
                write(path)
            except OSError as err:
                raise CommandError(f"cannot write {path}: {err.strerror or err}") from err
    if fail_on_diff and report.differs:
        raise click.exceptions.Exit(1)


def _report_json(report: CompareReport) -> str:
    """The whole report as one ``quanta.compare`` JSON object, ``schema`` first."""
    import json

    from .output import SCHEMA_VERSION

    data = {"schema": f"quanta.compare/{SCHEMA_VERSION}", **report.model_dump(mode="json")}
    return json.dumps(data, indent=2) + "\n"


def _sides(
    side_a: str, side_b: str, rest: tuple[str, ...], repo_b: Path | None
) -> tuple[tuple[Path, str], tuple[Path, str], tuple[str, ...]]:
    """Both sides as (repository, collection) and the dataset types, from either form of
    the arguments. Collection names hold no ':', so a side splits at its last one."""
    if ":" in side_a:
        if repo_b is not None:
            raise click.UsageError("--repo-b is for the form REPO COLLECTION_A COLLECTION_B")
        if ":" not in side_b:
            raise click.UsageError(f"give the second side as REPO_B:COLLECTION_B, not {side_b!r}")
        (path_a, name_a), (path_b, name_b) = (s.rsplit(":", 1) for s in (side_a, side_b))
        return (Path(path_a), name_a), (Path(path_b), name_b), rest
    if not rest:
        raise click.UsageError("give REPO_A:COLLECTION_A REPO_B:COLLECTION_B")
    repo = Path(side_a)
    return (repo, side_b), (repo_b or repo, rest[0]), rest[1:]


def _open(
    stack: contextlib.ExitStack,
    opened: dict[Path, tuple[Butler, str | None]],
    path: Path,
    collection: str,
    jobs: int,
) -> tuple[Butler, str]:
    """One side's repository (opened once for both sides) and collection: a repository
    as it is, a legacy one converted into a scratch repository that lives as long as the
    comparison, its location named as the conversion names it."""
    from quanta.convert.scratch import is_legacy_root, legacy_collection, open_legacy

    from .operations import open_butler

    if path not in opened:
        if is_legacy_root(path):
            prefix = "quanta-legacy-"
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
            butler, instrument = open_legacy(path, scratch / "repo", jobs)
            opened[path] = (stack.enter_context(butler), instrument)
        else:
            opened[path] = (stack.enter_context(open_butler(path)), None)
    butler, legacy_instrument = opened[path]
    if legacy_instrument is None:
        return butler, collection
    return butler, legacy_collection(legacy_instrument, collection)


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
