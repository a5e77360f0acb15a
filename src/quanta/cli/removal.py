"""What the removing commands share: listing what goes and what depends on it, asking,
and reporting files that could not be deleted (exit code 1: the file system refused)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import click

from .errors import CommandError

if TYPE_CHECKING:
    from quanta.butler.removal import Removal
    from quanta.registry.dependencies import Dependencies

#: How many items a prompt lists before summarizing the rest (a dry run lists all).
LISTED = 20
#: Exit code when the request was sound but files could not be deleted.
FILE_ERROR_EXIT = 1


def stdin_is_terminal() -> bool:
    """True when someone can answer a prompt."""
    return sys.stdin.isatty()


def confirm(
    heading: str,
    items: Sequence[str],
    deps: Dependencies | None,
    question: str,
    *,
    yes: bool,
    dry_run: bool = False,
    refused: str | None = None,
) -> bool:
    """Print what would go and what depends on it, then ask unless ``yes``; False when
    ``dry_run`` (nothing is to change; ``refused`` says why the real run would stop).
    Without a terminal to ask on, ``yes`` is needed."""
    if not yes and not dry_run and not stdin_is_terminal():
        raise CommandError(
            f"refusing to {question} without confirmation: stdin is not a terminal; pass --yes"
        )
    shown = items if dry_run or len(items) <= LISTED else items[:LISTED]
    more = [f"... and {len(items) - len(shown)} more (--dry-run lists them all)"]
    click.echo(f"{heading}:")
    for item in [*shown, *(more if len(shown) < len(items) else [])]:
        click.echo(f"  {item}")
    if deps is not None:
        click.echo(f"datasets to remove: {deps.datasets}")
        lines = deps.describe()
        click.echo(
            "depending on them:\n" + "\n".join(f"  {line}" for line in lines)
            if lines
            else "nothing else depends on them"
        )
    if dry_run:
        if refused is not None:
            click.echo(f"as asked, this would be refused: {refused}")
        click.echo("dry run: nothing changed")
        return False
    if not yes:
        click.confirm(f"{question}?", abort=True)
    return True


def refusal(check: Callable[[], None], dry_run: bool) -> str | None:
    """Run a removal's ``check``; in a dry run, return its refusal instead of raising it."""
    from quanta.core.errors import ConflictError

    try:
        check()
    except ConflictError as err:
        if not dry_run:
            raise
        return str(err)
    return None


@contextlib.contextmanager
def file_errors_exit_1() -> Iterator[None]:
    """A ``FileRemovalError`` (nothing was removed) as one line on stderr and exit code 1."""
    from quanta.core.errors import FileRemovalError

    try:
        yield
    except FileRemovalError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(FILE_ERROR_EXIT)


def report_files(removal: Removal) -> None:
    """Exit with code 1, saying so, if files whose rows went could not be deleted."""
    if removal.left_behind:
        click.echo(
            f"error: {len(removal.left_behind)} file(s) could not be deleted after their "
            f"datasets were removed (first: {removal.left_behind[0]}); `quanta verify --repair` "
            "deletes them",
            err=True,
        )
        sys.exit(FILE_ERROR_EXIT)
