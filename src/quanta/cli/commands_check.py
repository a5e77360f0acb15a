"""Checking what a run made: ``check``.

Exit code 0 when every expectation holds, 1 when any fails, 2 on a user error (a bad
expectations file, an unknown collection).
"""

from __future__ import annotations

from pathlib import Path

import click

from .params import repo_argument


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
    help="Print at most this many problems per failed expectation; 0 prints them all.",
)
def check(repo: Path, collection: str, expect: str | None, limit: int) -> None:
    """Check a run's outputs against expectations.

    Every output predicted by the saved graph of each RUN that COLLECTION is or
    chains must exist, unless its quantum is an allowed failure; the datasets
    found through COLLECTION must meet the counts, table rows and field ranges
    of --expect. Prints one line per problem, then how many expectations were
    checked and failed. Exit code 0 if all hold, 1 if any fails, 2 on a user
    error.
    """
    from quanta.check import check_collection, load_expectations

    from .operations import open_butler

    file = load_expectations(expect) if expect is not None else None
    with open_butler(repo) as butler:
        report = check_collection(butler, collection, file)
    for outcome in report.failed:
        shown = outcome.problems[:limit] if limit else outcome.problems
        for problem in shown:
            click.echo(problem)
        if len(shown) < len(outcome.problems):
            click.echo(f"... and {len(outcome.problems) - len(shown)} more ({outcome.expectation})")
    if report.runs:
        click.echo(f"graphs checked: {', '.join(report.runs)}")
    else:
        click.echo(f"no run in {collection} has a saved graph: predicted outputs not checked")
    click.echo(f"{len(report.outcomes)} expectations checked, {len(report.failed)} failed")
    if not report.ok:
        click.get_current_context().exit(1)


COMMANDS = (check,)
