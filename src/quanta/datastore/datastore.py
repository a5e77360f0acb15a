"""The file datastore: puts dataset files in place atomically and checks them later.

Every file is written (or copied) to a temporary name beside its final path,
checksummed, then renamed into place, so a path the registry records always
holds a complete file (invariant 1) and a failed write leaves nothing behind.
The datastore never touches the registry: it returns a ``StoredFile`` that the
caller records. An ingested file may hold several datasets, one per HDU (a raw file
of many detectors): it is placed once and each dataset's record names its HDU.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from quanta.core.errors import DatastoreError
from quanta.core.refs import DatasetRef
from quanta.core.stored_file import StoredFile
from quanta.core.transfer import TransferMode, transfer_mode

from . import one_pass
from .formatters import HduReader, formatter_for
from .formatters.base import unreadable
from .templates import FileTemplates

#: Names at the repository root that belong to the repository, not to the datastore.
RESERVED_ROOT_NAMES = ("quanta.yaml", "dimensions.yaml")
_RESERVED_ROOT_PREFIXES = ("registry.sqlite3", ".")
FileStatus = Literal["ok", "missing", "corrupt"]
#: Names of the temporary files ``_place`` and ``removal_blocker`` make beside a target.
_TEMPORARY = re.compile(r"^\..+\.(?:tmp|probe)-[0-9a-f]{32}$")


def checksum(path: Path | str) -> str:
    """SHA-256 hex digest of a file, read in chunks (``sha256sum`` gives the same)."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def is_reserved(name: str) -> bool:
    """True for root-level names the repository itself uses (config, registry, dot files)."""
    return name in RESERVED_ROOT_NAMES or name.startswith(_RESERVED_ROOT_PREFIXES)


@dataclasses.dataclass(frozen=True)
class Staged:
    """A dataset's file written under a temporary name (``tmp``) beside its final path
    (``target``), with the record it will have once placed."""

    ref: DatasetRef
    target: Path
    tmp: Path
    stored: StoredFile


class FileDatastore:
    """Dataset files under ``root``, named by ``templates`` and written by formatters."""

    def __init__(
        self, root: Path, templates: FileTemplates, verify_max_bytes: int | None = None
    ) -> None:
        self.root = Path(root).absolute()
        self.templates = templates
        #: Reads check the checksum of files up to this size first (None: never).
        self.verify_max_bytes = verify_max_bytes

    def write(self, obj: object, ref: DatasetRef) -> StoredFile:
        """Write ``obj`` as ``ref``'s file; rewriting identical bytes is a no-op."""
        return self.place(self.stage(obj, ref))

    def stage(self, obj: object, ref: DatasetRef) -> Staged:
        """Write ``obj`` under a temporary name beside ``ref``'s path, hidden from readers
        until ``place`` renames it (or ``discard`` deletes it)."""
        formatter = formatter_for(ref.dataset_type.storage_class)
        relpath = self.templates.path(ref) + formatter.extension
        bytes_formatter = one_pass.bytes_formatter(formatter)
        if bytes_formatter is not None:
            data = bytes_formatter.to_bytes(obj)
            digest = (hashlib.sha256(data).hexdigest(), len(data))
            return self._stage(ref, relpath, lambda tmp: one_pass.write_new(tmp, data), digest)
        return self._stage(ref, relpath, lambda tmp: formatter.write(obj, tmp))

    def place(self, staged: Staged) -> StoredFile:
        """Rename a staged file into place and return its record. If its path already
        exists it must hold the same bytes (an idempotent rewrite); otherwise another
        dataset owns that file, nothing is changed and the staged file is deleted."""
        target, tmp, stored = staged.target, staged.tmp, staged.stored
        try:
            if os.path.lexists(target):
                if target.exists() and checksum(target) == stored.checksum:
                    tmp.unlink()
                    return stored
                raise DatastoreError(
                    f"cannot write {staged.ref} to {target}: a different file is already there"
                )
            os.replace(tmp, target)
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            if isinstance(err, OSError) and not isinstance(err, DatastoreError):
                raise DatastoreError(f"cannot write {staged.ref} to {target}: {err}") from err
            raise
        return stored

    @staticmethod
    def discard(staged: Staged) -> None:
        """Delete a staged file that will not be placed (none if it was)."""
        staged.tmp.unlink(missing_ok=True)

    def read(self, stored: StoredFile) -> object:
        """Read a dataset's file, or its HDU of a shared file, with its storage class's
        formatter."""
        formatter = formatter_for(stored.storage_class)
        path = self.path(stored)
        verify = self.verify_max_bytes is not None and stored.size <= self.verify_max_bytes
        bytes_formatter = one_pass.bytes_formatter(formatter)
        if stored.hdu is None and bytes_formatter is not None:
            # One read serves the checksum and the parse.
            try:
                data = path.read_bytes()
            except OSError as err:
                raise unreadable(stored.storage_class, path, err) from err
            if verify:
                one_pass.check_bytes(stored, path, data)
            return bytes_formatter.from_bytes(data, path)
        if verify:
            self._verify(stored, path)
        if stored.hdu is None:
            return formatter.read(path)
        if not isinstance(formatter, HduReader):
            raise DatastoreError(
                f"cannot read HDU {stored.hdu} of {path}: storage class "
                f"{stored.storage_class!r} reads whole files only"
            )
        return formatter.read_hdu(path, stored.hdu)

    def ingest(
        self, source: Path, ref: DatasetRef, transfer: str, hdu: int | None = None
    ) -> StoredFile:
        """Bring an existing file in as ``ref``'s file (or, with ``hdu``, as the HDU of it
        that holds ``ref``); ``transfer`` is a ``TransferMode``. See ``ingest_file``."""
        return self.ingest_file(source, [(ref, hdu)], transfer)[0]

    def ingest_file(
        self, source: Path, datasets: Sequence[tuple[DatasetRef, int | None]], transfer: str
    ) -> list[StoredFile]:
        """Bring one existing file in for the datasets it holds, each with its HDU (``None``:
        the whole file), and return their records, in the same order.

        ``copy``, ``move``, ``link`` (hard link, same device only) and ``symlink`` put the
        file once, at the templated path of the first dataset with the formatter's
        extension (keeping a tile-compressed file's ``.fz``); ``move`` deletes the source
        once the file is in place, so every dataset of a file must come in this one call.
        ``direct`` leaves the file where it is and records its absolute path. Every record
        has the whole file's checksum and size.
        """
        mode = transfer_mode(transfer, DatastoreError)
        source = Path(os.path.abspath(source))
        if not datasets:
            return []
        bad = [hdu for _, hdu in datasets if hdu is not None and hdu < 0]
        if bad:
            raise DatastoreError(f"cannot ingest {source}: HDU {bad[0]} is not an HDU index")
        if not source.is_file():
            raise DatastoreError(f"cannot ingest {source}: no such file")
        first = datasets[0][0]
        if mode == TransferMode.DIRECT:
            stored = self._stored(first, str(source), source)
        else:
            stored = self._place_copy(source, first, mode)
        return [
            dataclasses.replace(
                stored, dataset_id=ref.id, storage_class=ref.dataset_type.storage_class, hdu=hdu
            )
            for ref, hdu in datasets
        ]

    def _place_copy(self, source: Path, ref: DatasetRef, mode: TransferMode) -> StoredFile:
        """Put ``source`` at ``ref``'s templated path by ``mode`` (not ``direct``)."""
        formatter = formatter_for(ref.dataset_type.storage_class)
        relpath = self.templates.path(ref) + _placed_extension(formatter.extension, source)
        stage: Callable[[Path], None] = {
            TransferMode.COPY: lambda tmp: shutil.copyfile(source, tmp),
            TransferMode.MOVE: lambda tmp: _link_or_copy(source, tmp),
            TransferMode.LINK: lambda tmp: _hard_link(source, tmp),
            TransferMode.SYMLINK: lambda tmp: tmp.symlink_to(source),
        }[mode]
        stored = self._place(ref, relpath, stage)
        moved = mode == TransferMode.MOVE
        if moved and os.path.realpath(source) != os.path.realpath(self.path(stored)):
            source.unlink()
        return stored

    def remove(self, stored: StoredFile) -> None:
        """Delete a dataset's file (never an external one) and its now-empty directories.

        A file that is already gone is not an error, so an interrupted cleanup can be rerun.
        The datastore does not know which datasets share a file: the caller removes a shared
        file only with the last dataset that uses it.
        """
        if stored.is_external:
            return
        path = self.path(stored)
        path.unlink(missing_ok=True)
        self._prune(path.parent)

    def removal_blocker(self, stored: StoredFile) -> str | None:
        """Why ``remove`` would fail on this dataset's file now, or None if it would not.

        A hard link made and deleted beside the file is the trial: it needs what deleting
        needs (a writable directory, a file that is not immutable), and it leaves the file
        itself untouched. A file system without hard links cannot tell, so passes.
        """
        if stored.is_external:
            return None
        path = self.path(stored)
        probe = path.parent / f".{path.name}.probe-{uuid.uuid4().hex}"
        try:
            os.link(path, probe, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
                return f"{path}: {err.strerror}"
            return None
        probe.unlink()
        return None

    def path(self, stored: StoredFile) -> Path:
        """The absolute path of a dataset's file."""
        if stored.is_external:
            return Path(stored.path)
        return self._inside(stored.path)

    def uri(self, stored: StoredFile) -> str:
        """The ``file://`` URI of a dataset's file."""
        return self.path(stored).as_uri()

    def check(self, stored: StoredFile) -> FileStatus:
        """``"ok"``, ``"missing"``, or ``"corrupt"`` (size or checksum differ from the record);
        the whole file is checked, whichever HDU the dataset is in."""
        path = self.path(stored)
        try:
            if path.stat().st_size != stored.size:
                return "corrupt"
            return "ok" if checksum(path) == stored.checksum else "corrupt"
        except FileNotFoundError:
            return "missing"

    def _verify(self, stored: StoredFile, path: Path) -> None:
        """Refuse to read a file whose size or checksum is not what was recorded."""
        try:
            size = path.stat().st_size
        except OSError:
            return  # the formatter says why it cannot read it
        one_pass.check_file(stored, path, size, lambda: checksum(path))

    def walk_files(self) -> Iterator[str]:
        """Relative paths of every file under the root that could be a dataset, in sorted order.

        Skips the repository's own root-level files (``quanta.yaml``, ``dimensions.yaml``,
        ``registry.sqlite3*``) and, at every level, names starting with ``.``: datasets never
        have them, temporary files always do.
        """
        for dirpath, dirnames, filenames in os.walk(self.root):
            at_root = dirpath == str(self.root)
            dirnames[:] = sorted(d for d in dirnames if not self._skipped(d, at_root))
            rel = Path(dirpath).relative_to(self.root)
            for name in sorted(filenames):
                if not self._skipped(name, at_root):
                    yield (rel / name).as_posix()

    def walk_temporaries(self, run: str | None = None) -> Iterator[str]:
        """Relative paths of the temporary files of writes that were killed before renaming
        them into place, in sorted order; with ``run``, only those among that run's files
        (under its directory, or, for templates that do not start with it, under any
        directories named like it)."""
        top = self.root
        if run is not None and self.templates.run_first:
            top, run = self.root.joinpath(*run.split("/")), None
        for dirpath, dirnames, filenames in os.walk(top):
            at_root = dirpath == str(self.root)
            dirnames[:] = sorted(d for d in dirnames if not self._skipped(d, at_root))
            rel = Path(dirpath).relative_to(self.root)
            if run is not None and not _holds_segments(rel.parts, tuple(run.split("/"))):
                continue
            for name in sorted(filenames):
                if _TEMPORARY.match(name):
                    yield (rel / name).as_posix()

    def remove_temporaries(self, run: str | None = None) -> list[str]:
        """Delete what ``walk_temporaries`` finds and return it. Only safe while nothing
        writes there: from ``verify --repair``, or for a run whose lease one holds."""
        removed = list(self.walk_temporaries(run))
        for relpath in removed:
            self.root.joinpath(*relpath.split("/")).unlink(missing_ok=True)
        return removed

    def remove_orphan(self, relpath: str) -> None:
        """Delete a file ``walk_files`` found with no registry row, and its empty directories."""
        path = self._inside(relpath)
        try:
            path.unlink()
        except FileNotFoundError:
            raise DatastoreError(f"cannot remove orphan {path}: no such file") from None
        self._prune(path.parent)

    def remove_unrecorded(self, ref: DatasetRef) -> bool:
        """Delete the file at ``ref``'s templated path, left by an attempt that died before
        its outputs were recorded; True if there was one. The caller knows no registry row
        points at it (the dataset is not recorded); directories stay, as in ``_place``."""
        extension = formatter_for(ref.dataset_type.storage_class).extension
        path = self._inside(self.templates.path(ref) + extension)
        if not path.is_file():
            return False
        path.unlink()
        return True

    @staticmethod
    def _skipped(name: str, at_root: bool) -> bool:
        return name.startswith(".") or (at_root and is_reserved(name))

    def _inside(self, relpath: str) -> Path:
        """``root / relpath``, refusing paths that could leave the root or hit repository files.

        Dataset paths never have empty segments or segments starting with ``.`` (templates
        refuse them), nor a reserved name at the root.
        """
        parts = relpath.split("/")
        if any(not p or p.startswith(".") or "\\" in p for p in parts) or is_reserved(parts[0]):
            raise DatastoreError(
                f"file path {relpath!r} is not a dataset path inside {self.root}: it has an "
                "empty segment, a segment starting with '.', or a reserved name at the root"
            )
        return self.root.joinpath(*parts)

    def _stored(
        self, ref: DatasetRef, path: str, file: Path, digest: tuple[str, int] | None = None
    ) -> StoredFile:
        """The record of ``ref``'s file; ``digest`` (checksum, size) when already known."""
        sha256, size = digest if digest is not None else (checksum(file), file.stat().st_size)
        return StoredFile(
            dataset_id=ref.id,
            path=path,
            storage_class=ref.dataset_type.storage_class,
            checksum=sha256,
            size=size,
        )

    def _place(
        self,
        ref: DatasetRef,
        relpath: str,
        stage: Callable[[Path], None],
        digest: tuple[str, int] | None = None,
    ) -> StoredFile:
        """Create a file with ``stage`` under a temporary name, then rename it to ``relpath``
        (see ``place``); ``digest`` is the (checksum, size) of what ``stage`` writes, when
        known beforehand."""
        return self.place(self._stage(ref, relpath, stage, digest))

    def _stage(
        self,
        ref: DatasetRef,
        relpath: str,
        stage: Callable[[Path], None],
        digest: tuple[str, int] | None = None,
    ) -> Staged:
        """Create a file with ``stage`` under a temporary name beside ``relpath``. Directories
        made for a write that fails later stay: pruning them could race with a concurrent
        write."""
        target = self._inside(relpath)
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            stage(tmp)
            stored = self._stored(ref, relpath, tmp, digest)
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            if isinstance(err, OSError) and not isinstance(err, DatastoreError):
                raise DatastoreError(f"cannot write {ref} to {target}: {err}") from err
            raise
        return Staged(ref, target, tmp, stored)

    def _prune(self, directory: Path) -> None:
        """Remove ``directory`` and its parents while they are empty, stopping at the root."""
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent


def _holds_segments(parts: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    """True if ``segments`` appear one after another somewhere in ``parts``."""
    size = len(segments)
    return any(parts[i : i + size] == segments for i in range(len(parts) - size + 1))


def _hard_link(source: Path, tmp: Path) -> None:
    """Hard-link ``source`` to ``tmp``; a link across devices is an error, never a copy."""
    try:
        os.link(source, tmp)
    except OSError as err:
        if err.errno == errno.EXDEV:
            raise DatastoreError(
                f"cannot hard-link {source} into the repository: it is on another device; "
                "use transfer 'copy' or 'symlink'"
            ) from err
        raise DatastoreError(f"cannot hard-link {source} to {tmp}: {err.strerror}") from err


def _placed_extension(extension: str, source: Path) -> str:
    """The formatter's extension, plus ``.fz`` for a tile-compressed source (``x.fits.fz``):
    tools that open FITS files by name expect compressed ones to say so."""
    return extension + ".fz" if source.name.endswith(f"{extension}.fz") else extension


def _link_or_copy(source: Path, tmp: Path) -> None:
    """Stage a move: a hard link when possible (no data copied), else a copy.

    The source is deleted only after the file is in place, so a failed move loses nothing.
    """
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
