"""The ``quanta`` command: a click group whose commands load the library only when they run.

Importing this module loads click and nothing heavy; every ``QuantaError`` a
command raises becomes one ``error: <message>`` line on stderr and exit code 2.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from . import (
    commands_bundle,
    commands_check,
    commands_collections,
    commands_compare,
    commands_convert,
    commands_demo,
    commands_graph,
    commands_instruments,
    commands_pipeline,
    commands_prune,
    commands_query,
    commands_repo,
    commands_run,
    commands_sim,
)
from .errors import CommandError, full_disk_message


class QuantaGroup(click.Group):
    """A group that turns user errors (``QuantaError``) into one-line ``CommandError``s."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; anything other than a ``QuantaError`` or a full disk keeps
        its traceback."""
        from quanta.core.errors import QuantaError

        try:
            return super().invoke(ctx)
        except QuantaError as err:
            logging.getLogger("quanta").debug("user error", exc_info=True)
            raise CommandError(str(err)) from err
        except Exception as err:
            message = full_disk_message(err)
            if message is None:
                raise
            logging.getLogger("quanta").debug("full disk", exc_info=True)
            raise CommandError(message) from err


def configure_logging(verbosity: int) -> None:
    """Warnings by default; -v adds quanta INFO, -vv quanta DEBUG and SQL statements."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("quanta").setLevel(
        logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    )
    if verbosity >= 2:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)


@click.group("quanta", cls=QuantaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="quanta", prog_name="quanta", message="%(prog)s %(version)s")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more to stderr: -v for what each step does, -vv for debugging and SQL statements.",
)
def cli(verbose: int) -> None:
    """Create, query and maintain quanta data repositories.

    REPO is a repository directory. User errors print one line on stderr and
    exit with code 2.
    """
    configure_logging(verbose)


for _command in (
    *commands_repo.COMMANDS,
    *commands_query.COMMANDS,
    *commands_collections.COMMANDS,
    *commands_prune.COMMANDS,
    *commands_pipeline.COMMANDS,
    *commands_run.COMMANDS,
    *commands_graph.COMMANDS,
    *commands_instruments.COMMANDS,
    *commands_sim.COMMANDS,
    *commands_demo.COMMANDS,
    *commands_compare.COMMANDS,
    *commands_check.COMMANDS,
    *commands_bundle.COMMANDS,
    *commands_convert.COMMANDS,
):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``quanta`` console script."""
    cli(prog_name="quanta")
