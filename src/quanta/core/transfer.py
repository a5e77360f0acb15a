"""How a file enters a repository: the transfer modes of ingest and of transfers between
repositories, with the values users type (``--transfer``)."""

from __future__ import annotations

from enum import StrEnum

from .errors import ConfigError, QuantaError


class TransferMode(StrEnum):
    """A way to bring an existing file into a repository's datastore."""

    #: Copy the file to its templated path.
    COPY = "copy"
    #: Place the file at its templated path and delete the source once it is there.
    MOVE = "move"
    #: Hard-link the file to its templated path (same file system only).
    LINK = "link"
    #: Symlink the file from its templated path.
    SYMLINK = "symlink"
    #: Leave the file where it is and record its absolute path.
    DIRECT = "direct"


#: Modes ``quanta transfer`` offers between repositories: the source keeps its files and
#: the target gets them at its own paths.
BETWEEN_REPOSITORIES = (TransferMode.COPY, TransferMode.LINK, TransferMode.SYMLINK)


def transfer_mode(mode: str, error: type[QuantaError] = ConfigError) -> TransferMode:
    """``mode`` as a ``TransferMode``; ``error`` (a ``ConfigError`` by default) lists the
    valid modes, so each layer can raise its own kind of error."""
    try:
        return TransferMode(mode)
    except ValueError:
        valid = ", ".join(TransferMode)
        raise error(f"unknown transfer mode {mode!r}; valid modes: {valid}") from None
