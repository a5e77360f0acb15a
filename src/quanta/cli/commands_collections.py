"""Commands that change collections: chains, calibration certification and tags."""

from __future__ import annotations

from pathlib import Path

import click

from .params import (
    CHAIN_MODES,
    BindValue,
    bind_option,
    collections_option,
    repo_argument,
    timespan_options,
    where_option,
)


@click.command("collection-chain")
@repo_argument
@click.argument("parent")
@click.argument("children", nargs=-1, required=True)
@click.option(
    "--mode",
    type=click.Choice(CHAIN_MODES),
    default="redefine",
    show_default=True,
    help="redefine: the chain becomes CHILDREN (created if needed); prepend/extend: CHILDREN "
    "go first/last (moved if already there); remove: CHILDREN are taken out.",
)
def collection_chain(repo: Path, parent: str, children: tuple[str, ...], mode: str) -> None:
    """Define a chained collection.

    Make PARENT a CHAINED collection of REPO that searches CHILDREN in order,
    and print the resulting chain.
    """
    from .operations import chain_collections, open_butler

    with open_butler(repo) as butler:
        chain = chain_collections(butler, parent, children, mode)
    click.echo(f"{parent}: {', '.join(chain) or '(empty)'}")


@click.command("certify")
@repo_argument
@click.argument("input_collection")
@click.argument("output_collection")
@click.argument("dataset_type")
@timespan_options("certify over")
@where_option
@bind_option
def certify(
    repo: Path,
    input_collection: str,
    output_collection: str,
    dataset_type: str,
    begin: str | None,
    end: str | None,
    where: str | None,
    binds: dict[str, BindValue],
) -> None:
    """Certify calibration datasets.

    Certify the DATASET_TYPE datasets found in INPUT_COLLECTION into the
    CALIBRATION collection OUTPUT_COLLECTION (created if needed), valid from
    --begin to --end.
    """
    from quanta.core.timespan import Timespan

    from .operations import certify as certify_datasets
    from .operations import open_butler

    timespan, assumed = Timespan.from_text(begin, end)
    with open_butler(repo) as butler:
        count = certify_datasets(
            butler,
            input_collection,
            output_collection,
            dataset_type,
            timespan,
            where=where,
            binds=binds,
        )
    click.echo(
        f"certified {count} {dataset_type} dataset(s) in {output_collection}: {timespan.describe()}"
    )
    for line in assumed:
        click.echo(f"note: {line}")


@click.command("decertify")
@repo_argument
@click.argument("collection")
@click.argument("dataset_type")
@timespan_options("decertify")
def decertify(
    repo: Path, collection: str, dataset_type: str, begin: str | None, end: str | None
) -> None:
    """Decertify calibration datasets.

    Remove the validity of every DATASET_TYPE dataset in the CALIBRATION
    collection COLLECTION from --begin to --end; ranges reaching past it are
    trimmed or split.
    """
    from quanta.core.timespan import Timespan

    from .operations import open_butler

    timespan, assumed = Timespan.from_text(begin, end)
    with open_butler(repo) as butler:
        changed = butler.decertify(collection, dataset_type, timespan)
    click.echo(f"decertified {changed} validity range(s) of {dataset_type} in {collection}")
    for line in assumed:
        click.echo(f"note: {line}")


@click.command("associate")
@repo_argument
@click.argument("tag")
@click.argument("dataset_type")
@collections_option(
    "Collection to take the datasets from, in order (chains are followed; the first "
    "dataset per data ID is taken). Repeatable.",
    required=True,
)
@where_option
@bind_option
def associate(
    repo: Path,
    tag: str,
    dataset_type: str,
    collections: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
) -> None:
    """Add datasets to a TAGGED collection.

    Tag the DATASET_TYPE datasets found in --collections into TAG, a TAGGED
    collection of REPO (created if needed). Tagging a dataset again changes
    nothing; another dataset with the same data ID already in TAG is refused.
    """
    from quanta.core.errors import DatasetNotFoundError

    from .operations import open_butler

    with open_butler(repo) as butler:
        refs = butler.query_datasets(dataset_type, list(collections), where=where, binds=binds)
        if not refs:
            raise DatasetNotFoundError(
                f"no {dataset_type} datasets in {', '.join(collections)}"
                + (f" match {where!r}" if where else "")
                + f"; nothing to add to {tag!r}"
            )
        new = butler.associate(tag, refs)
    click.echo(
        f"associated {len(refs)} {dataset_type} dataset(s) with {tag} "
        f"({len(refs) - new} already there)"
    )


@click.command("disassociate")
@repo_argument
@click.argument("tag")
@click.argument("dataset_type")
@collections_option(
    "Collection to find the datasets in (chains are followed; every match is taken). "
    "Repeatable; TAG itself when omitted."
)
@where_option
@bind_option
def disassociate(
    repo: Path,
    tag: str,
    dataset_type: str,
    collections: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
) -> None:
    """Remove datasets from a TAGGED collection.

    Take the DATASET_TYPE datasets matching --where (found in --collections, or
    in TAG) out of the TAGGED collection TAG of REPO. The datasets themselves
    stay.
    """
    from quanta.core.collections import CollectionType

    from .operations import open_butler

    with open_butler(repo) as butler:
        butler.registry.get_collection(tag, CollectionType.TAGGED)
        search = list(collections) or [tag]
        refs = butler.query_datasets(
            dataset_type, search, where=where, binds=binds, find_first=False
        )
        removed = butler.disassociate(tag, refs)
    click.echo(f"removed {removed} {dataset_type} dataset(s) from {tag}")


COMMANDS = (collection_chain, certify, decertify, associate, disassociate)
