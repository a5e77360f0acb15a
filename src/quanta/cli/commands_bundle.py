"""Moving data between repositories: export and import of bundles, ingest of listed files."""

from __future__ import annotations

from pathlib import Path

import click

from quanta.core.transfer import BETWEEN_REPOSITORIES, TransferMode

from .option_groups import progress_option
from .params import collections_option, repo_argument, split_collections


@click.command("export")
@repo_argument
@click.argument("destination", type=click.Path(path_type=Path))
@collections_option(
    "Collection (glob) to export; chains bring their children. Repeatable or comma-separated.",
    required=True,
)
@click.option(
    "--dataset-types",
    "dataset_types",
    multiple=True,
    metavar="GLOB",
    help="Export only datasets of these types. Repeatable or comma-separated.",
)
@progress_option
def export(
    repo: Path,
    destination: Path,
    collections: tuple[str, ...],
    dataset_types: tuple[str, ...],
    progress: bool,
) -> None:
    """Export collections to a bundle.

    Write the collections of REPO matching --collections to DESTINATION, a new directory
    or, when it ends in .zip, a zip file: their datasets' files, the dimension records and
    dataset types they need, RUN and TAGGED contents, chains and certifications, listed in
    a manifest. quanta import reads it into another repository.
    """
    from quanta.butler.export import export_bundle
    from quanta.exec.progress import step_progress

    from .operations import open_butler

    with open_butler(repo) as butler, step_progress(progress) as shown:
        summary = export_bundle(
            butler,
            destination,
            split_collections(collections),
            split_collections(dataset_types),
            shown,
        )
    click.echo(
        f"exported {summary.collections} collection(s), {summary.datasets} dataset(s) in "
        f"{summary.files} file(s) to {destination}"
    )


@click.command("import")
@repo_argument
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--transfer",
    type=click.Choice([mode.value for mode in BETWEEN_REPOSITORIES]),
    default=TransferMode.COPY.value,
    show_default=True,
    help="How files get into REPO from a directory bundle (a zip's are always copied).",
)
@progress_option
def import_(repo: Path, source: Path, transfer: str, progress: bool) -> None:
    """Import a bundle.

    Read the bundle SOURCE (a directory or a .zip written by quanta export) into REPO.
    Everything is checked before anything is written: a malformed bundle or a conflict
    with what REPO holds is refused with the reason, and importing twice adds nothing.
    """
    from quanta.butler.import_ import import_bundle
    from quanta.exec.progress import step_progress

    from .operations import open_butler

    with open_butler(repo) as butler, step_progress(progress) as shown:
        summary = import_bundle(butler, source, transfer, shown)
    click.echo(
        f"imported {summary.datasets} dataset(s) ({summary.already_present} already present), "
        f"{summary.collections} new collection(s), {summary.certifications} certification(s)"
    )


@click.command("ingest-files")
@repo_argument
@click.argument("dataset_type")
@click.argument("run")
@click.argument("table", type=click.Path(path_type=Path))
@click.option(
    "--transfer",
    type=click.Choice([mode.value for mode in TransferMode]),
    default=TransferMode.COPY.value,
    show_default=True,
    help="How files get into REPO; 'direct' leaves them where they are.",
)
@click.option(
    "--storage-class",
    default=None,
    help="Register DATASET_TYPE, if new, with this storage class and the table's dimension "
    "columns.",
)
@progress_option
def ingest_files(
    repo: Path,
    dataset_type: str,
    run: str,
    table: Path,
    transfer: str,
    storage_class: str | None,
    progress: bool,
) -> None:
    """Ingest files listed in a table.

    TABLE (CSV, or ECSV by its .ecsv suffix) has a 'file' column, one column per
    dimension of DATASET_TYPE and optionally an 'hdu' column; relative paths are relative
    to TABLE's directory. Every row is checked before anything is written; an error names
    the row. The files become datasets of RUN; ingesting the same table again adds nothing.
    """
    from quanta.butler.ingest_table import ingest_table
    from quanta.exec.progress import step_progress

    from .operations import open_butler

    with open_butler(repo) as butler, step_progress(progress) as shown:
        report = ingest_table(butler, dataset_type, run, table, transfer, storage_class, shown)
    registered = f"registered {dataset_type}; " if report.registered else ""
    click.echo(
        f"{registered}ingested: {report.ingested}, already present: {report.already_present}"
    )


COMMANDS = (export, import_, ingest_files)
