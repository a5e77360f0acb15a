"""The one exception root of quanta and a subclass per kind of user mistake.

The CLI turns any ``QuantaError`` into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class QuantaError(Exception):
    """Root of every error quanta raises on purpose."""


class ConfigError(QuantaError, ValueError):
    """A malformed configuration, universe or pipeline file."""


class DataIdError(QuantaError, ValueError):
    """A data ID that is incomplete, has unknown keys or values of the wrong type."""


class UnknownNameError(QuantaError, LookupError):
    """A dimension, field, collection or dataset type name that does not exist."""


class DimensionNotFoundError(UnknownNameError):
    """An unknown dimension or dimension record field."""


class DatasetTypeNotFoundError(UnknownNameError):
    """A dataset type that has not been registered."""


class CollectionNotFoundError(UnknownNameError):
    """A collection that does not exist."""


class DatasetNotFoundError(UnknownNameError):
    """A dataset that is not in the searched collections."""


class RecordNotFoundError(UnknownNameError):
    """A dimension record that has not been inserted."""


class ConflictError(QuantaError, ValueError):
    """A definition that contradicts one already in the repository."""


class CollectionTypeError(QuantaError, TypeError):
    """An operation that needs a different type of collection."""


class CalibrationOverlapError(ConflictError):
    """Two validity ranges for the same dataset type and data ID overlap."""


class QuerySyntaxError(QuantaError, ValueError):
    """A ``where`` expression that does not parse; says the column."""

    def __init__(self, message: str, text: str = "", column: int | None = None) -> None:
        self.text = text
        self.column = column
        if column is not None and text:
            message = f"{message} at column {column} of {text!r}"
        super().__init__(message)


class QueryError(QuantaError, ValueError):
    """A ``where`` expression that parses but cannot be compiled."""


class DatastoreError(QuantaError, OSError):
    """A file that cannot be written, read, or ingested."""


class ChecksumError(DatastoreError):
    """A file whose size or checksum differs from what was recorded when it was written."""


class FileRemovalError(DatastoreError):
    """Files that cannot be deleted, so a removal changed nothing (exit code 1, not 2:
    the request was sound, the file system refused)."""


class RepositoryError(QuantaError):
    """A repository that is missing, unreachable or inconsistent."""


class BundleError(QuantaError, ValueError):
    """A malformed export bundle: a bad manifest entry, or a file it names that is missing."""
