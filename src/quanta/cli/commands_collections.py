"""Commands that change collections: chains and calibration certification."""

from __future__ import annotations

from pathlib import Path

import click

from .params import (
    CHAIN_MODES,
    BindValue,
    bind_option,
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


COMMANDS = (collection_chain, certify, decertify)
