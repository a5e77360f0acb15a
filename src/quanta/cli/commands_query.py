"""The ``query-*`` commands: collections, dataset types, datasets, data IDs, records."""

from __future__ import annotations

from pathlib import Path

import click

from .params import (
    BindValue,
    bind_option,
    collections_option,
    format_option,
    repo_argument,
    where_option,
)


@click.command("query-collections")
@repo_argument
@click.argument("pattern", required=False)
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Only collections of this type: RUN, TAGGED, CHAINED or CALIBRATION (any case). "
    "Repeatable.",
)
@click.option(
    "--chains",
    type=click.Choice(["tree", "flat"]),
    default="tree",
    show_default=True,
    help="Children shown for CHAINED collections: 'tree' lists the direct children, "
    "'flat' the whole search path with nested chains expanded.",
)
@format_option
def query_collections(
    repo: Path, pattern: str | None, types: tuple[str, ...], chains: str, fmt: str
) -> None:
    """List collections.

    Collections of REPO whose names match the glob PATTERN (all when omitted).
    """
    from .operations import collection_rows, open_butler
    from .output import show

    with open_butler(repo) as butler:
        show(collection_rows(butler, pattern, types, chains), fmt)


@click.command("query-dataset-types")
@repo_argument
@click.argument("pattern", required=False)
@format_option
def query_dataset_types(repo: Path, pattern: str | None, fmt: str) -> None:
    """List dataset types.

    Dataset types of REPO whose names match the glob PATTERN (all when omitted).
    """
    from .operations import dataset_type_rows, open_butler
    from .output import show

    with open_butler(repo) as butler:
        show(dataset_type_rows(butler, pattern), fmt)


@click.command("query-datasets")
@repo_argument
@click.argument("dataset_type")
@collections_option(
    "Collection to search, in order (chains are followed). Repeatable; "
    "every RUN collection when omitted."
)
@where_option
@bind_option
@click.option(
    "--find-all",
    is_flag=True,
    help="List every matching dataset in the collections, not only the first one found per "
    "data ID in search order.",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N datasets.")
@click.option("--show-uri", is_flag=True, help="Add a column with the URI of each dataset's file.")
@click.option(
    "--show-validity",
    is_flag=True,
    help="List the certifications in the CALIBRATION collections searched (all when no "
    "--collections) with their validity in UTC and TAI.",
)
@format_option
def query_datasets(
    repo: Path,
    dataset_type: str,
    collections: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
    find_all: bool,
    limit: int | None,
    show_uri: bool,
    show_validity: bool,
    fmt: str,
) -> None:
    """List datasets of one type.

    The DATASET_TYPE datasets of REPO with their run, ID and data ID, sorted by
    data ID. Collections may be globs (u/me/*).
    """
    from .operations import dataset_rows, open_butler, validity_rows
    from .output import show

    with open_butler(repo) as butler:
        if show_validity:
            show(validity_rows(butler, dataset_type, collections, where=where, binds=binds), fmt)
            return
        rows = dataset_rows(
            butler,
            dataset_type,
            collections,
            where=where,
            binds=binds,
            find_first=not find_all,
            limit=limit,
            show_uri=show_uri,
        )
        show(rows, fmt)


@click.command("query-data-ids")
@repo_argument
@click.argument("dimensions", nargs=-1, required=True)
@click.option(
    "--datasets",
    multiple=True,
    metavar="DATASET_TYPE",
    help="Only data IDs that have a dataset of this type in the collections. Repeatable.",
)
@collections_option(
    "Collection where --datasets are searched. Repeatable; every RUN collection when omitted."
)
@where_option
@bind_option
@format_option
def query_data_ids(
    repo: Path,
    dimensions: tuple[str, ...],
    datasets: tuple[str, ...],
    collections: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
    fmt: str,
) -> None:
    """List data IDs.

    The distinct data IDs of REPO over DIMENSIONS (and the dimensions those
    require).
    """
    from .operations import data_id_rows, open_butler
    from .output import show

    with open_butler(repo) as butler:
        rows = data_id_rows(
            butler, dimensions, datasets=datasets, collections=collections, where=where, binds=binds
        )
        show(rows, fmt)


@click.command("query-dimension-records")
@repo_argument
@click.argument("element")
@where_option
@bind_option
@format_option
def query_dimension_records(
    repo: Path, element: str, where: str | None, binds: dict[str, BindValue], fmt: str
) -> None:
    """List dimension records.

    The records of the dimension ELEMENT in REPO, with timespans as TAI ISO times.
    """
    from .operations import open_butler, record_rows
    from .output import show

    with open_butler(repo) as butler:
        show(record_rows(butler, element, where=where, binds=binds), fmt)


COMMANDS = (
    query_collections,
    query_dataset_types,
    query_datasets,
    query_data_ids,
    query_dimension_records,
)
