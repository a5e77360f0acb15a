"""The one-line error the command line prints for every user mistake."""

from __future__ import annotations

from typing import IO, Any

import click

#: Exit code of a user error (a ``QuantaError`` or a refused request), as for click usage errors.
USER_ERROR_EXIT = 2


class CommandError(click.ClickException):
    """A user mistake: printed as one ``error: <message>`` line on stderr, exit code 2."""

    exit_code = USER_ERROR_EXIT

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(line.strip() for line in message.splitlines() if line.strip()))

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the message as one line on stderr (or on ``file``)."""
        click.echo(f"error: {self.format_message()}", file=file, err=True)
