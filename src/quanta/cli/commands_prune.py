"""Commands that remove datasets and collections: prune-datasets, remove-collections.

Both list what would change (``--dry-run`` stops there) and ask unless ``--yes``, as
remove-runs does; what depends on purged datasets is reported the same way.
"""

from __future__ import annotations

from pathlib import Path

import click

from .errors import CommandError
from .params import BindValue, bind_option, collections_option, repo_argument, where_option

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Only list what would change; change nothing."
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


@click.command("prune-datasets")
@repo_argument
@click.argument("dataset_type")
@collections_option(
    "Collection to find the datasets in, in order (chains are followed). Repeatable.",
    required=True,
)
@where_option
@bind_option
@click.option(
    "--find-all",
    is_flag=True,
    help="Every matching dataset in the collections, not only the first per data ID.",
)
@click.option(
    "--disassociate",
    "from_collection",
    metavar="COLLECTION",
    help="Take the datasets out of this TAGGED collection, or decertify them (every "
    "validity range) in this CALIBRATION collection; the datasets stay.",
)
@click.option("--purge", is_flag=True, help="Delete the datasets and their files.")
@click.option(
    "--decertify",
    is_flag=True,
    help="With --purge: datasets certified in CALIBRATION collections go too, with their "
    "certifications (without it they are refused).",
)
@click.option(
    "--untag",
    is_flag=True,
    help="With --purge: datasets that TAGGED collections hold go too (without it they are "
    "refused).",
)
@dry_run_option
@yes_option
def prune_datasets(
    repo: Path,
    dataset_type: str,
    collections: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
    find_all: bool,
    from_collection: str | None,
    purge: bool,
    decertify: bool,
    untag: bool,
    dry_run: bool,
    yes: bool,
) -> None:
    """Remove datasets from a collection, or delete them.

    The DATASET_TYPE datasets of REPO found in --collections (matching --where)
    are either taken out of one TAGGED or CALIBRATION collection
    (--disassociate COLLECTION) or deleted with their files (--purge). Purging
    lists what depends on them first; if a file cannot be deleted nothing is
    removed (exit code 1).
    """
    if (from_collection is None) == (not purge):
        raise CommandError("give exactly one of --disassociate COLLECTION and --purge")
    if (decertify or untag) and not purge:
        raise CommandError("--decertify and --untag go with --purge")
    from quanta.butler.removal import check_allowed
    from quanta.core.collections import CollectionType

    from .operations import open_butler
    from .removal import confirm, file_errors_exit_1, refusal, report_files

    with open_butler(repo) as butler:
        target = butler.registry.get_collection(from_collection) if from_collection else None
        if target is not None and target.type not in (
            CollectionType.TAGGED,
            CollectionType.CALIBRATION,
        ):
            raise CommandError(
                f"--disassociate takes a TAGGED or CALIBRATION collection; {target.name!r} is "
                f"{target.type.name}"
                + (" (use --purge)" if target.type == CollectionType.RUN else "")
            )
        refs = butler.query_datasets(
            dataset_type, list(collections), where=where, binds=binds, find_first=not find_all
        )
        if not refs:
            click.echo(f"no {dataset_type} datasets match; nothing to do")
            return
        items = [f"{ref.run}: {ref.data_id}" for ref in refs]
        if target is None:
            deps = butler.dataset_dependencies(refs)
            refused = refusal(
                lambda: check_allowed(deps, "these datasets", decertify=decertify, untag=untag),
                dry_run,
            )
            question = f"delete these {len(refs)} dataset(s) and their files"
            heading = "datasets to purge"
            if not confirm(
                heading, items, deps, question, yes=yes, dry_run=dry_run, refused=refused
            ):
                return
            with file_errors_exit_1():
                removal = butler.purge_datasets(refs, decertify=decertify, untag=untag)
            click.echo(
                f"purged {len(refs)} {dataset_type} dataset(s); deleted "
                f"{removal.files_deleted} file(s)"
            )
            report_files(removal)
            return
        question = f"take these {len(refs)} dataset(s) out of {target.name}"
        heading = f"datasets to take out of {target.name}"
        if not confirm(heading, items, None, question, yes=yes, dry_run=dry_run):
            return
        if target.type == CollectionType.TAGGED:
            count = butler.disassociate(target.name, refs)
            click.echo(f"removed {count} {dataset_type} dataset(s) from {target.name}")
        else:
            count = butler.decertify_datasets(target.name, refs)
            click.echo(
                f"decertified {dataset_type} in {target.name}: removed {count} validity range(s)"
            )


@click.command("remove-collections")
@repo_argument
@click.argument("patterns", metavar="PATTERN...", nargs=-1, required=True)
@click.option(
    "--decertify",
    is_flag=True,
    help="Also remove CALIBRATION collections that still certify datasets (the "
    "certifications go; the datasets stay in their runs).",
)
@dry_run_option
@yes_option
def remove_collections(
    repo: Path, patterns: tuple[str, ...], decertify: bool, dry_run: bool, yes: bool
) -> None:
    """Remove TAGGED, CHAINED and CALIBRATION collections.

    Delete the collections of REPO matching the globs PATTERN... together;
    their datasets stay in their runs. RUN collections are refused (use
    remove-runs), and so is a collection that a chain not being removed names.
    Asks unless --yes.
    """
    from quanta.butler.removal import plan_collection_removal

    from .operations import match_collections, open_butler
    from .removal import confirm

    with open_butler(repo) as butler:
        names = match_collections(butler, patterns)
        plan = plan_collection_removal(butler, names, decertify=decertify)
        items = [c.describe() for c in plan]
        question = f"remove these {len(plan)} collection(s)"
        if not confirm("collections to remove", items, None, question, yes=yes, dry_run=dry_run):
            return
        butler.remove_collections(names, decertify=decertify)
    click.echo(f"removed {len(names)} collection(s): {', '.join(names)}")


COMMANDS = (prune_datasets, remove_collections)
