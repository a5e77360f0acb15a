"""Instrument commands: ``register-instrument``, ``ingest-raws``, ``scan``,
``define-visits``, ``define-groups`` and ``write-curated-calibrations``.

``ingest-raws`` and ``scan`` exit with 0 when every file went in or would go in (or was
already there), 1 when any file was refused (each named on stderr), and 2 on a user error.
"""

from __future__ import annotations

from pathlib import Path

import click

from quanta.core.transfer import TransferMode

from .option_groups import jobs_option, progress_option, report_format_option
from .params import (
    BindValue,
    bind_option,
    format_option,
    header_corrections_option,
    repo_argument,
    where_option,
)

#: Left-out exposures define-groups lists before summing up the rest.
SHOWN_LEFT_OUT = 20


@click.command("register-instrument")
@repo_argument
@click.argument("name", required=False)
@click.option(
    "--camera",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A camera file (YAML: filters, detectors, amplifiers) defining the instrument.",
)
def register_instrument(repo: Path, name: str | None, camera: Path | None) -> None:
    """Write an instrument's dimension records.

    The instrument NAME (SimCam, or one another package provides), or the one a
    --camera file defines, with its bands, physical filters and detectors, into
    REPO. A camera file is checked whole first and kept in REPO/cameras. Running
    it again changes nothing.
    """
    from .errors import CommandError
    from .operations import open_butler

    if (name is None) == (camera is None):
        raise CommandError("give an instrument NAME or a --camera file, not both")
    with open_butler(repo) as butler:
        if camera is not None:
            from quanta.instruments.camera import register_camera

            defined, new = register_camera(butler, camera)
            name = defined.name
        else:
            from quanta.instruments import get_instrument

            new = get_instrument(str(name)).register(butler)
    click.echo(f"registered {name}: {new} new dimension records")


@click.command("ingest-raws")
@repo_argument
@click.argument(
    "paths", metavar="PATHS...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--transfer",
    type=click.Choice([mode.value for mode in TransferMode]),
    default=TransferMode.COPY.value,
    show_default=True,
    help="How files enter the repository: copied, moved, hard-linked, symlinked, or "
    "left where they are (direct).",
)
@jobs_option("Processes reading headers.", default=1)
@header_corrections_option
@report_format_option
@progress_option
def ingest_raws(
    repo: Path,
    paths: tuple[Path, ...],
    transfer: str,
    jobs: int,
    corrections: tuple[Path, ...],
    fmt: str,
    progress: bool,
) -> None:
    """Ingest raw FITS files.

    PATHS are raw files or directories searched for *.fits and *.fits.fz. Raws go
    into the RUN <instrument>/raw/all with their exposure records, one per detector
    extension of a file of many detectors; raws already ingested are skipped. A bad
    file (or extension) is refused by name on stderr and nothing of it is recorded;
    the exit code is then 1. Camera files registered in REPO translate the headers
    of the translator they name. Header corrections are also looked up in the directories
    the repository's quanta.yaml lists under instruments: header_corrections.
    """
    from quanta.exec.progress import step_progress
    from quanta.instruments.ingest import ingest_raws as ingest

    from .ingest_json import show_ingest_json
    from .operations import open_butler

    with open_butler(repo) as butler, step_progress(progress) as shown:
        report = ingest(butler, paths, transfer, jobs, corrections, shown)
    if fmt == "json":
        show_ingest_json(repo, report)
    else:
        click.echo(
            f"ingested: {len(report.ingested)}, already present: "
            f"{len(report.already_present)}, refused: {len(report.refused)}"
        )
    for path, warning in report.warnings:
        click.echo(f"warning: {path}: {warning}", err=True)
    for path, reason in report.refused:
        click.echo(f"refused: {path}: {reason}", err=True)
    if report.refused:
        click.get_current_context().exit(1)


@click.command("scan")
@click.argument(
    "paths", metavar="DIR|FILES...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@jobs_option("Processes reading headers.", default=1)
@header_corrections_option
@progress_option
@click.option(
    "--camera",
    "cameras",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A camera file translating and checking the headers of its instrument "
    "(repeatable), as once registered in a repository.",
)
@format_option
def scan(
    paths: tuple[Path, ...],
    jobs: int,
    corrections: tuple[Path, ...],
    progress: bool,
    cameras: tuple[Path, ...],
    fmt: str,
) -> None:
    """Check raw files as ingest-raws would, without a repository.

    DIR|FILES are raw files, or directories searched for *.fits and *.fits.fz.
    Prints one row per detector (one per image extension of a multi-extension
    file): instrument, detector, obs_id, observation type, physical filter,
    exposure time and start time (UTC), or why the file would be refused. Cameras
    without a quanta instrument are read by the header translators of
    astro-metadata-translator, and named and checked by a --camera file that uses
    that translator. Exits with 1 when a file would be refused.
    """
    from quanta.exec.progress import step_progress
    from quanta.instruments.scan import COLUMNS
    from quanta.instruments.scan import scan as scan_files

    from .output import Rows, show

    with step_progress(progress) as shown:
        report = scan_files(
            paths, jobs=jobs, corrections=corrections, cameras=cameras, progress=shown
        )
    show(Rows(list(COLUMNS), [row.values() for row in report.rows]), fmt)
    for row in report.rows:
        for warning in row.warnings:
            click.echo(f"warning: {row.label}: {warning}", err=True)
    for row in report.refused:
        click.echo(f"refused: {row.label}: {row.reason}", err=True)
    if report.refused:
        click.get_current_context().exit(1)


@click.command("define-visits")
@repo_argument
@click.option("--instrument", metavar="NAME", help="Only this instrument's exposures.")
@where_option
@bind_option
def define_visits(
    repo: Path, instrument: str | None, where: str | None, binds: dict[str, BindValue]
) -> None:
    """Define one visit per science exposure.

    Each science exposure of REPO (matching --where) gets a visit with its id,
    obs_id as name, filter, night, exposure time and timespan. Running it again
    changes nothing.
    """
    from quanta.instruments.visits import define_visits as define

    from .operations import open_butler

    with open_butler(repo) as butler:
        new = define(butler, instrument, where, binds)
    click.echo(f"defined {new} new visits")


@click.command("define-groups")
@repo_argument
@click.option("--system", required=True, metavar="NAME", help="Group system to fill.")
@click.option(
    "--exclusive",
    is_flag=True,
    help="Each exposure may be in at most one group of the system; the registry refuses a "
    "second one.",
)
@click.option(
    "--instrument",
    metavar="NAME",
    help="Instrument whose exposures are grouped; by default the repository's only one.",
)
@click.option(
    "--rule",
    metavar="RULE",
    help='Grouping rule with its arguments: "flat-pairs" (by exposure time), "flat-pairs '
    '--by-signal TOL", "flat-pairs --by-photodiode TOL" (within a fraction TOL), "flat-pairs '
    '--by-order", "by-keyword KEY" or "consecutive N" (or a rule another package provides).',
)
@click.option(
    "--stats",
    "stats",
    multiple=True,
    metavar="COLLECTION",
    help="flat-pairs --by-signal: collection holding the flatStats of the flats (repeatable).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="flat-pairs: the largest exposure time difference within a pair (default 0.005).",
)
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="CSV or YAML file naming each group and its exposures in order.",
)
@click.option(
    "--group-size",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --from-file: the number of exposures of every group of a new system.",
)
@where_option
@bind_option
def define_groups(
    repo: Path,
    system: str,
    exclusive: bool,
    instrument: str | None,
    rule: str | None,
    tolerance: float | None,
    from_file: Path | None,
    group_size: int | None,
    where: str | None,
    binds: dict[str, BindValue],
    stats: tuple[str, ...],
) -> None:
    """Define groups of exposures.

    Fills the group system --system of REPO with groups made by a --rule from the
    exposures (matching --where), or read --from-file, and prints what was defined
    and which exposures the rule left out. Nothing is written unless every group is
    valid; running it again changes nothing.
    """
    from quanta.instruments.groups import define_groups as define

    from .operations import open_butler

    with open_butler(repo) as butler:
        report = define(
            butler,
            system,
            rule=rule,
            from_file=from_file,
            exclusive=exclusive,
            instrument=instrument,
            where=where,
            binds=binds,
            tolerance=tolerance,
            group_size=group_size,
            stats=stats,
        )
    click.echo(report.summary())
    for item in report.left_out[:SHOWN_LEFT_OUT]:
        click.echo(f"  left out {item.exposure}: {item.reason}")
    if len(report.left_out) > SHOWN_LEFT_OUT:
        click.echo(f"  ... and {len(report.left_out) - SHOWN_LEFT_OUT} more")


@click.command("write-curated-calibrations")
@repo_argument
@click.argument("instrument")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.option(
    "--collection",
    metavar="COLLECTION",
    help="CALIBRATION collection to certify into [default: INSTRUMENT/calib].",
)
def write_curated_calibrations(
    repo: Path, instrument: str, directory: Path, collection: str | None
) -> None:
    """Ingest and certify curated calibrations.

    DIR holds TYPE/DETECTOR/START.ecsv|yaml files: defects (ECSV boxes x0, y0,
    width, height), linearity, crosstalk and gains (YAML), each valid from its
    START (a TAI date or date-time) until the next of its type and detector. All
    are checked before anything is written; running it again changes nothing.
    """
    from quanta.core.timespan import iso_from_tai_ns
    from quanta.instruments.curated import write_curated_calibrations as write

    from .operations import open_butler

    with open_butler(repo) as butler:
        report = write(butler, instrument, directory, collection)
    click.echo(
        f"wrote {len(report.written)} curated calibrations "
        f"({report.already_present} already present); certified into {report.collection}:"
    )
    for (type_, detector), spans in report.ranges.items():
        starts = ", ".join(iso_from_tai_ns(s.begin) for s in spans if s.begin is not None)
        click.echo(f"  {type_} detector {detector}: from {starts}")


COMMANDS = (
    register_instrument,
    ingest_raws,
    scan,
    define_visits,
    define_groups,
    write_curated_calibrations,
)
