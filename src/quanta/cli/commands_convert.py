"""``quanta convert``: a legacy directory-tree repository into a quanta repository."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from quanta.core.transfer import BETWEEN_REPOSITORIES, TransferMode

from .option_groups import jobs_option, progress_option
from .params import repo_argument

if TYPE_CHECKING:
    from quanta.convert.converter import ConvertReport
    from quanta.convert.plan import Plan

#: Transfer modes that leave the legacy repository as it was.
CONVERT_TRANSFERS = (*BETWEEN_REPOSITORIES, TransferMode.DIRECT)


@click.command("convert")
@repo_argument
@click.argument("legacy_root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mapper policy YAML with the path templates (default: the one quanta ships for "
    "the repository's mapper).",
)
@click.option(
    "--calibs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Calibration root with calibRegistry.sqlite3  [default: LEGACY_ROOT/CALIB]",
)
@click.option(
    "--reruns",
    multiple=True,
    metavar="NAME",
    help="Convert only these reruns (names under LEGACY_ROOT/rerun, such as private/alice) "
    "and those they sit on. Repeatable. [default: all]",
)
@click.option(
    "--transfer",
    type=click.Choice([mode.value for mode in CONVERT_TRANSFERS]),
    default=TransferMode.COPY.value,
    show_default=True,
    help="How files enter REPO; the legacy repository is never changed.",
)
@click.option(
    "--skymap",
    metavar="NAME",
    help="The registered skymap that coadds' tracts and patches belong to.",
)
@click.option("--db", metavar="URL", help="Registry database of REPO if it is created here.")
@jobs_option("Processes reading headers and checking files.", default=1)
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@progress_option
def convert(
    repo: Path,
    legacy_root: Path,
    policy: Path | None,
    calibs: Path | None,
    reruns: tuple[str, ...],
    transfer: str,
    skymap: str | None,
    db: str | None,
    jobs: int,
    dry_run: bool,
    progress: bool,
) -> None:
    """Convert a legacy directory-tree repository.

    Reads LEGACY_ROOT's mapper (_mapper), path templates, raw registry
    (registry.sqlite3), calibration registry (CALIB/calibRegistry.sqlite3) and
    reruns (rerun/...) and brings it all into REPO (created if it does not exist):
    raws by their headers with visits defined, each calibration date as the RUN
    <instrument>/calib/<calibDate> certified in <instrument>/calib, the root's other
    datasets in <instrument>/legacy/root, each rerun in a RUN under its chain
    (rerun/private/X: u/X; rerun/shared/X and rerun/X: <instrument>/runs/X) that then
    searches its parents; <instrument>/legacy chains the root's collections.
    What is skipped and why is listed on stderr. Exit code 1 when a file or table could
    not be converted (each named), 2 when nothing could be.
    """
    from quanta.convert.plan import make_plan

    plan = make_plan(legacy_root.resolve(), policy, calibs and calibs.resolve(), reruns)
    if dry_run:
        _print_plan(plan)
        _print_problems(plan.skipped, plan.errors, [(n.level, n.text) for n in plan.notes])
        if plan.errors:
            click.get_current_context().exit(1)
        return
    report = _convert(repo, db, plan, transfer, jobs, skymap, progress)
    _print_report(report)
    _print_problems(report.skipped, report.errors, [(n.level, n.text) for n in report.notes])
    if report.errors:
        click.get_current_context().exit(1)


def _convert(
    repo: Path,
    db: str | None,
    plan: Plan,
    transfer: str,
    jobs: int,
    skymap: str | None,
    progress: bool,
) -> ConvertReport:
    """Open or create REPO and convert into it, showing progress on stderr if asked."""
    from quanta.butler import Butler
    from quanta.convert.converter import convert as run_conversion
    from quanta.exec.progress import step_progress

    from .operations import open_butler

    if repo.exists() and (repo / "quanta.yaml").exists():
        if db is not None:
            raise click.UsageError(f"--db is for a new repository; {repo} exists")
        butler = open_butler(repo)
    else:
        if skymap is not None:
            raise click.UsageError(f"--skymap names a skymap registered in REPO; {repo} is new")
        butler = Butler.create(repo, db=db)
        click.echo(f"created repository {repo}")
    with butler, step_progress(progress) as shown:
        return run_conversion(butler, plan, transfer, jobs, skymap, shown)


def _print_plan(plan: Plan) -> None:
    """What a conversion would bring in, and into which collections."""
    from quanta.convert.converter import calib_run, rerun_run, root_chain, root_run
    from quanta.instruments.ingest import raw_run

    instrument = plan.instrument
    click.echo(f"legacy repository {plan.root} (mapper {plan.mapper}: {instrument})")
    click.echo(
        f"  {len(plan.raws)} raw file(s) -> {raw_run(instrument)} "
        f"({len(plan.unregistered)} not in the raw registry)"
    )
    runs = Counter(calib_run(instrument, c.calib_date) for c in plan.calibs)
    for run, count in sorted(runs.items()):
        click.echo(f"  {count} calibration(s) -> {run}")
    for calib in plan.calibs:
        data_id = ", ".join(f"{k}={v}" for k, v in calib.file.data_id.items())
        click.echo(f"    certify {calib.file.dataset_type} {data_id} over {calib.timespan}")
    if plan.datasets:
        click.echo(f"  {len(plan.datasets)} other dataset(s) -> {root_run(instrument)}")
    for rerun_files in plan.reruns:
        rerun = rerun_files.rerun
        parents = ", ".join(p or "the root" for p in rerun.parents)
        click.echo(
            f"  rerun {rerun.directory}: {len(rerun_files.files)} dataset(s) -> "
            f"{rerun_run(rerun)}, chain {rerun.chain} over {parents}"
        )
    click.echo(f"  chain {root_chain(instrument)} over the root's collections")


def _print_report(report: ConvertReport) -> None:
    """What a conversion did, one line per kind of thing."""
    click.echo(
        f"raws: {report.raws_ingested} ingested, {report.raws_present} already present; "
        f"{report.visits} new visit(s)"
    )
    for run in sorted(set(report.new) | set(report.present)):
        click.echo(f"{run}: {report.new[run]} new, {report.present[run]} already present")
    click.echo(f"certified: {report.certified} new")
    for chain, children in report.chains.items():
        click.echo(f"chain {chain}: {', '.join(children)}")
    for path in report.unregistered:
        click.echo(f"not in the raw registry (ingested by its header): {path}", err=True)
    click.echo(
        f"skipped: {len(report.skipped)}, errors: {len(report.errors)}, "
        f"warnings: {sum(1 for n in report.notes if n.level >= logging.WARNING)}"
    )


def _print_problems(
    skipped: list[tuple[str, str]], errors: list[str], notes: list[tuple[int, str]]
) -> None:
    """Skipped items, notes (warnings and info lines) and errors, one line each on stderr."""
    for what, why in skipped:
        click.echo(f"skipped: {what}: {why}", err=True)
    for level, text in notes:
        click.echo(f"{logging.getLevelName(level).lower()}: {text}", err=True)
    for error in errors:
        click.echo(f"error: {error}", err=True)


@click.command("demo-legacy")
@click.argument(
    "directory",
    required=False,
    default="quanta-legacy",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--preset",
    type=click.Choice(("quick", "ptc")),
    default="quick",
    show_default=True,
    help="Simulation size of the night.",
)
@jobs_option("Worker processes building the masters.", default=1)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (>= 0).")
def demo_legacy(directory: Path, preset: str, jobs: int, seed: int) -> None:
    """Write a legacy repository of a simulated night, to try convert and compare on.

    Simulates a night into DIRECTORY/sim and writes DIRECTORY/legacy in the old
    directory-tree layout: the raws filed by template with their raw registry, and master
    bias, dark and flat (made by quanta's own pipelines) with their calibration registry.
    """
    from quanta.demo import write_legacy_night

    root = write_legacy_night(directory, preset, jobs, seed, say=lambda s: click.echo(f"== {s}"))
    click.echo(f"legacy repository: {root}; convert it with 'quanta convert REPO {root}'")


COMMANDS = [convert, demo_legacy]
