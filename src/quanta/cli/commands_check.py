"""Checking what a run made: ``check``.

Exit code 0 when every expectation holds, 1 when any fails, 2 on a user error (a bad
expectations file, an unknown collection).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .option_groups import report_format_option
from .params import repo_argument

if TYPE_CHECKING:
    from quanta.check.report import CheckReport


@click.command("check")
@repo_argument
@click.argument("collection")
@click.option(
    "--expect",
    "expect",
    metavar="FILE",
    help="Expectations file (YAML), or the name of a shipped one such as calibration_quick.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Print at most this many problems per failed expectation; 0 prints them all "
    "(JSON always holds them all).",
)
@report_format_option
def check(repo: Path, collection: str, expect: str | None, limit: int, fmt: str) -> None:
    """Check a run's outputs against expectations.

    Every output predicted by the saved graph of each RUN that COLLECTION is or
    chains must exist, unless its quantum is an allowed failure; the datasets
    found through COLLECTION must meet the counts, table rows and field ranges
    of --expect. Prints one line per problem, then how many expectations were
    checked and failed (with --format json, one object holding every outcome).
    Exit code 0 if all hold, 1 if any fails, 2 on a user error.
    """
    from quanta.check import check_collection, load_expectations

    from .operations import open_butler

    file = load_expectations(expect) if expect is not None else None
    with open_butler(repo) as butler:
        report = check_collection(butler, collection, file)
    if fmt == "json":
        _show_json(report)
    else:
        _show_text(report, limit)
    if not report.ok:
        click.get_current_context().exit(1)


def _show_text(report: CheckReport, limit: int) -> None:
    """One line per problem (at most ``limit`` per expectation), then the totals."""
    for outcome in report.failed:
        shown = outcome.problems[:limit] if limit else outcome.problems
        for problem in shown:
            click.echo(problem)
        if len(shown) < len(outcome.problems):
            click.echo(f"... and {len(outcome.problems) - len(shown)} more ({outcome.expectation})")
    if report.runs:
        click.echo(f"graphs checked: {', '.join(report.runs)}")
    else:
        click.echo(
            f"no run in {report.collection} has a saved graph: predicted outputs not checked"
        )
    click.echo(f"{len(report.outcomes)} expectations checked, {len(report.failed)} failed")


def _show_json(report: CheckReport) -> None:
    """The whole report as one ``quanta.check`` JSON object."""
    from .output import show_json

    show_json(
        "check",
        {
            "collection": report.collection,
            "ok": report.ok,
            "runs": list(report.runs),
            "checked": len(report.outcomes),
            "failed": len(report.failed),
            "expectations": [
                {"expectation": o.expectation, "ok": o.ok, "problems": list(o.problems)}
                for o in report.outcomes
            ],
        },
    )


COMMANDS = (check,)
