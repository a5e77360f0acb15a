"""The one-line error the command line prints for every user mistake."""

from __future__ import annotations

import errno
from typing import IO, Any

import click

#: Exit code of a user error (a ``QuantaError`` or a refused request), as for click usage errors.
USER_ERROR_EXIT = 2
#: SQLite's result code and PostgreSQL's SQLSTATE for a database that cannot grow.
_SQLITE_FULL = 13
_POSTGRES_DISK_FULL = "53100"


class CommandError(click.ClickException):
    """A user mistake: printed as one ``error: <message>`` line on stderr, exit code 2."""

    exit_code = USER_ERROR_EXIT

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(line.strip() for line in message.splitlines() if line.strip()))

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the message as one line on stderr (or on ``file``)."""
        click.echo(f"error: {self.format_message()}", file=file, err=True)


def full_disk_message(err: BaseException) -> str | None:
    """One line for an error that says the disk (or the database) is full, else None.

    A full disk is no bug, so it gets a line like a user error; the database rolled the
    failed transaction back. The driver's exception (``orig`` of SQLAlchemy's wrapper) is
    looked at by its attributes, so that this module needs no database library.
    """
    orig = getattr(err, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    if code == _SQLITE_FULL or getattr(orig, "sqlstate", None) == _POSTGRES_DISK_FULL:
        reason = str(orig).strip().splitlines()[0]
        return f"the registry database cannot grow ({reason}): free some space and run again"
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        where = f" for {err.filename}" if err.filename else ""
        return f"no space left on the device{where}: free some space and run again"
    return None
