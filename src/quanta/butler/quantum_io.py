"""The I/O a running quantum gets: its inputs' files, its outputs' refs, nothing else.

``ButlerQuantumIO`` satisfies the ``QuantumIO`` protocol of ``quanta.pipe.quantum_io``
structurally (this layer does not import the pipeline layer). It reads inputs from the
file records it is given and writes outputs through ``FileDatastore.write`` (temporary
name, then rename); it never touches the registry. The process that runs the
quantum reports ``written`` back, and the driver records those files.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.data_id import DataCoordinate
from ..core.errors import (
    ConflictError,
    DatasetNotFoundError,
    DatastoreError,
    UnknownNameError,
)
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..datastore.datastore import FileDatastore
from ..datastore.formatters.image import FORMATTER as IMAGE_FORMATTER


@dataclass(frozen=True)
class InputBinding:
    """The refs of one input connection with their files (same order)."""

    refs: Sequence[DatasetRef]
    files: Sequence[StoredFile]
    multiple: bool = False
    defer_load: bool = False


@dataclass(frozen=True)
class OutputBinding:
    """The predicted refs of one output connection."""

    refs: Sequence[DatasetRef]
    multiple: bool = False


class DeferredFile:
    """A ``defer_load`` input: its file, read only when ``get()`` is called (it satisfies
    ``quanta.core.deferred.DeferredInput``)."""

    __slots__ = ("_datastore", "_stored", "ref")

    def __init__(self, datastore: FileDatastore, ref: DatasetRef, stored: StoredFile) -> None:
        self.ref = ref
        self._datastore = datastore
        self._stored = stored

    def get(self, rows: tuple[int, int] | None = None) -> Any:
        """Read the dataset now; ``rows=(y0, y1)`` reads only those rows of an ``Image``
        (its header whole), so a task can stream large images chunk by chunk."""
        if rows is None:
            return self._datastore.read(self._stored)
        return IMAGE_FORMATTER.read(self._image_path("read rows of"), rows=rows)

    def iter_rows(self, chunk_rows: int) -> Iterator[Any]:
        """An ``Image`` as consecutive chunks of ``chunk_rows`` rows (the last may be
        shorter), read from its file opened once."""
        return IMAGE_FORMATTER.iter_rows(self._image_path("read rows of"), chunk_rows)

    def shape(self) -> tuple[int, int]:
        """Rows and columns of an ``Image``, read from its file's header alone."""
        return IMAGE_FORMATTER.read_shape(self._image_path("read the shape of"))

    def _image_path(self, what: str) -> Path:
        storage_class = self._stored.storage_class
        if storage_class != IMAGE_FORMATTER.storage_class:
            raise DatastoreError(
                f"cannot {what} {self.ref.dataset_type.name} ({storage_class}): "
                "only the Image storage class reads by rows"
            )
        return self._datastore.path(self._stored)


class ButlerQuantumIO:
    """Reads the inputs and writes the outputs of one quantum.

    ``hidden`` outputs (the runner's metadata and log) are writable but not listed in
    ``output_names``, so a task's default ``run_quantum`` never sees them.
    """

    def __init__(
        self,
        datastore: FileDatastore,
        data_id: DataCoordinate,
        inputs: Mapping[str, InputBinding],
        outputs: Mapping[str, OutputBinding],
        hidden: Collection[str] = (),
    ) -> None:
        self.data_id = data_id
        self._datastore = datastore
        self._inputs = dict(inputs)
        self._outputs = dict(outputs)
        self._hidden = frozenset(hidden)
        self._put: set[str] = set()
        self._written: list[StoredFile] = []

    @property
    def input_names(self) -> list[str]:
        """Connection names of every input (prerequisites included)."""
        return list(self._inputs)

    @property
    def output_names(self) -> list[str]:
        """Connection names of every output the task writes."""
        return [name for name in self._outputs if name not in self._hidden]

    @property
    def written(self) -> list[StoredFile]:
        """Files written so far, in order."""
        return list(self._written)

    def refs(self, name: str) -> list[DatasetRef]:
        """The refs of one connection, in order."""
        if name in self._inputs:
            return list(self._inputs[name].refs)
        if name in self._outputs:
            return list(self._outputs[name].refs)
        raise UnknownNameError(
            f"quantum {self.data_id} has no connection {name!r}; "
            f"inputs: {', '.join(self._inputs) or '(none)'}; "
            f"outputs: {', '.join(self._outputs) or '(none)'}"
        )

    def get(self, name: str) -> Any:
        """An input's object; a list for ``multiple``; handles for ``defer_load``."""
        binding = self._inputs.get(name)
        if binding is None:
            raise UnknownNameError(
                f"quantum {self.data_id} has no input {name!r}; "
                f"inputs: {', '.join(self._inputs) or '(none)'}"
            )
        pairs = list(zip(binding.refs, binding.files, strict=True))
        values: list[Any]
        if binding.defer_load:
            values = [DeferredFile(self._datastore, ref, stored) for ref, stored in pairs]
        else:
            values = [self._datastore.read(stored) for _, stored in pairs]
        if binding.multiple:
            return values
        if not values:
            raise DatasetNotFoundError(f"quantum {self.data_id} has no {name!r} input")
        return values[0]

    def put(self, obj: Any, name: str) -> None:
        """Write an output (for ``multiple``, a sequence in ``refs(name)`` order), once."""
        binding = self._outputs.get(name)
        if binding is None:
            raise UnknownNameError(
                f"quantum {self.data_id} has no output {name!r}; "
                f"outputs: {', '.join(self._outputs) or '(none)'}"
            )
        if name in self._put:
            raise ConflictError(f"output {name!r} of quantum {self.data_id} was already written")
        refs = binding.refs
        if binding.multiple:
            if not isinstance(obj, Sequence) or len(obj) != len(refs):
                raise ValueError(
                    f"output {name!r} of quantum {self.data_id} takes a sequence of {len(refs)} "
                    f"objects, got {type(obj).__name__}"
                )
            objects = list(obj)
        else:
            objects = [obj]
        self._put.add(name)
        for item, ref in zip(objects, refs, strict=True):
            try:
                stored = self._datastore.write(item, ref)
            except DatastoreError:
                # An interrupted earlier attempt left a file with other bytes (timings in
                # metadata, say); quanta run only for unrecorded outputs, so it is an orphan.
                if not self._datastore.remove_unrecorded(ref):
                    raise
                stored = self._datastore.write(item, ref)
            self._written.append(stored)

    def discard(self) -> None:
        """Delete every file this quantum wrote (after a failure); directories stay, since
        another quantum may be writing into them."""
        for stored in self._written:
            self._datastore.path(stored).unlink(missing_ok=True)
        self._written.clear()
        self._put.clear()
