"""Commands on whole repositories: create, define, remove runs, verify, transfer."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from quanta.core.transfer import BETWEEN_REPOSITORIES, TransferMode

from .option_groups import progress_option, report_format_option
from .params import BindValue, bind_option, collections_option, repo_argument, where_option


@click.command("create")
@repo_argument
@click.option(
    "--db",
    metavar="URL",
    help="Registry database: sqlite:///PATH (relative paths are inside REPO) or "
    "postgresql://USER@HOST/DBNAME. Default: SQLite in REPO/registry.sqlite3.",
)
def create(repo: Path, db: str | None) -> None:
    """Create a repository.

    An empty repository in the directory REPO, which must be new or empty.
    """
    from quanta.butler import Butler
    from quanta.registry.database import redact

    with Butler.create(repo, db=db) as butler:
        url = butler.config.registry.db
    click.echo(f"created repository {butler.root} (registry {redact(url)})")


@click.command("register-dataset-type")
@repo_argument
@click.argument("name")
@click.argument("storage_class")
@click.argument("dimensions", nargs=-1)
@click.option("--calibration", is_flag=True, help="Datasets of this type are calibrations.")
def register_dataset_type(
    repo: Path, name: str, storage_class: str, dimensions: tuple[str, ...], calibration: bool
) -> None:
    """Register a dataset type.

    The dataset type NAME in REPO, stored as STORAGE_CLASS (Image, ArrowTable,
    StructuredData or NumpyArray), with DIMENSIONS (and the dimensions those
    require).
    """
    from .operations import open_butler
    from .operations import register_dataset_type as register

    with open_butler(repo) as butler:
        description, new = register(butler, name, storage_class, dimensions, calibration)
    click.echo(f"{'registered' if new else 'already registered'}: {description}")


@click.command("remove-runs")
@repo_argument
@click.argument("patterns", metavar="PATTERN...", nargs=-1, required=True)
@click.option(
    "--no-unstore",
    "keep_files",
    is_flag=True,
    help="Delete only the registry entries and leave the files (verify then sees orphans).",
)
@click.option(
    "--decertify",
    is_flag=True,
    help="Also remove the runs' datasets from the CALIBRATION collections they are "
    "certified in (without it such runs are refused).",
)
@click.option("--dry-run", is_flag=True, help="Show what would go and what depends on it.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def remove_runs(
    repo: Path,
    patterns: tuple[str, ...],
    keep_files: bool,
    decertify: bool,
    dry_run: bool,
    yes: bool,
) -> None:
    """Remove runs with their datasets.

    Delete the RUN collections of REPO matching the globs PATTERN..., with their
    datasets and files, and take them out of the chains that name them. First
    lists what depends on them: certifications (refused without --decertify),
    TAGGED memberships (they go), chains, and datasets of other runs made from
    theirs (they stay). Asks unless --yes; without a terminal, --yes is needed.
    If a file cannot be deleted nothing is removed (exit code 1).
    """
    from quanta.butler.removal import check_allowed

    from .operations import match_runs, open_butler
    from .removal import confirm, file_errors_exit_1, refusal, report_files

    with open_butler(repo) as butler:
        runs = match_runs(butler, patterns)
        deps = butler.run_dependencies(runs)
        refused = refusal(
            lambda: check_allowed(deps, f"run(s) {', '.join(runs)}", decertify=decertify),
            dry_run,
        )
        question = f"remove these {len(runs)} run(s) and their datasets"
        if not confirm(
            "runs to remove", runs, deps, question, yes=yes, dry_run=dry_run, refused=refused
        ):
            return
        with file_errors_exit_1():
            removal = butler.remove_runs(runs, decertify=decertify, unstore=not keep_files)
    click.echo(
        f"removed {len(runs)} run(s): {', '.join(runs)}; deleted {removal.files_deleted} file(s)"
    )
    report_files(removal)


@click.command("verify")
@repo_argument
@click.option(
    "--repair",
    is_flag=True,
    help="Delete orphan files (files no dataset refers to) and the hidden temporary files "
    "of killed writes.",
)
@click.option(
    "--checksums/--no-checksums",
    default=True,
    show_default=True,
    help="Compare every file's size and checksum with the registry (--no-checksums only "
    "checks that files exist).",
)
@report_format_option
@progress_option
def verify(repo: Path, repair: bool, checksums: bool, fmt: str, progress: bool) -> None:
    """Check the files of a repository.

    Check that every dataset file of REPO is present and intact and that no
    orphan files, nor temporary files of killed writes (hidden names starting
    with '.'), lie around. Exit code 1 if problems remain.
    """
    from quanta.exec.progress import step_progress

    from .operations import open_butler
    from .output import show_json

    with open_butler(repo) as butler, step_progress(progress) as shown:
        report = butler.verify(repair=repair, checksums=checksums, progress=shown)
    found = {
        "missing": report.missing,
        "corrupt": report.corrupt,
        "orphans": report.orphans,
        "temporaries": report.temporaries,
        "removed": report.removed,
    }
    if fmt == "json":
        show_json(
            "verify", {"repo": str(repo), "ok": report.ok, "checked": report.checked, **found}
        )
    else:
        click.echo(f"checked: {report.checked}")
        for label, paths in found.items():
            click.echo(f"{label}: {len(paths)}")
            for path in paths:
                click.echo(f"  {path}")
    if not report.ok:
        click.echo("problems found", err=True)
        sys.exit(1)


@click.command("transfer")
@click.argument("repo_from", type=click.Path(path_type=Path))
@click.argument("repo_to", type=click.Path(path_type=Path))
@click.argument("dataset_types", metavar="DATASET_TYPE...", nargs=-1, required=True)
@collections_option("Collection of REPO_FROM to take datasets from. Repeatable.", required=True)
@where_option
@bind_option
@click.option(
    "--transfer",
    type=click.Choice([mode.value for mode in BETWEEN_REPOSITORIES]),
    default=TransferMode.COPY.value,
    show_default=True,
    help="How files get into REPO_TO: copied, hard-linked (same file system) or symlinked.",
)
@click.option(
    "--find-first",
    is_flag=True,
    help="Only the first dataset found per data ID, in the order of --collections.",
)
@click.option("--dry-run", is_flag=True, help="Check and count what would be copied; copy nothing.")
@progress_option
def transfer(
    repo_from: Path,
    repo_to: Path,
    dataset_types: tuple[str, ...],
    collections: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
    transfer: str,
    find_first: bool,
    dry_run: bool,
    progress: bool,
) -> None:
    """Copy datasets between repositories.

    Copy the DATASET_TYPE... datasets in the collections of REPO_FROM into
    REPO_TO, keeping their IDs and runs and bringing their dimension records
    along, and recreate for them the chains, TAGGED memberships and
    CALIBRATION certifications (with their validity) that the collections
    reach. A collection of another type, or a validity overlapping another
    dataset's, in REPO_TO refuses the transfer before anything is copied.
    """
    from quanta.exec.progress import step_progress

    from .operations import open_butler, transfer_datasets

    with (
        open_butler(repo_from) as source,
        open_butler(repo_to) as target,
        step_progress(progress) as shown,
    ):
        found, new, plan = transfer_datasets(
            source,
            target,
            dataset_types,
            collections,
            where=where,
            binds=binds,
            transfer=transfer,
            find_first=find_first,
            dry_run=dry_run,
            progress=shown,
        )
    verb = "would transfer" if dry_run else "transferred"
    click.echo(f"{verb} {new} dataset(s) ({found - new} already in {repo_to})")
    if plan:
        click.echo(f"{'would recreate' if dry_run else 'recreated'} {plan.summary()}")


COMMANDS = (create, register_dataset_type, remove_runs, verify, transfer)
