"""What a worker is given (``QuantumJob``) and what it hands back (``QuantumResult``).

Both hold plain values only (strings, numbers, tuples), convert to and from
JSON-compatible dicts, and are small enough to send to another process or host. A job
names the repository root instead of carrying a Butler: workers
build a datastore of their own and never open the registry (invariant 1).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.refs import DatasetRef
from ..core.status import QuantumStatus
from ..core.stored_file import StoredFile
from ..core.universe import DimensionUniverse

Extras = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RefSpec:
    """One dataset of a connection: ID (hex), run, data ID values, free-form keys and,
    for inputs, its file as (path, storage class, checksum, size, HDU or None)."""

    id: str
    run: str
    values: tuple[Any, ...]
    extras: Extras = ()
    file: tuple[str, str, str, int, int | None] | None = None

    def __reduce__(self) -> tuple[type[RefSpec], tuple[Any, ...]]:
        """Pickle as the class and a tuple of fields: several times cheaper than slots."""
        return RefSpec, (self.id, self.run, self.values, self.extras, self.file)

    def to_json(self) -> list[Any]:
        """A compact JSON form: a list of the fields."""
        return [
            self.id,
            self.run,
            list(self.values),
            [list(p) for p in self.extras],
            list(self.file) if self.file else None,
        ]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> RefSpec:
        """Rebuild from ``to_json`` output."""
        id_, run, values, extras, file = data
        return cls(
            id_,
            run,
            tuple(values),
            tuple((k, v) for k, v in extras),
            (file[0], file[1], file[2], int(file[3]), file[4]) if file else None,
        )


@dataclass(frozen=True, slots=True)
class ConnectionSpec:
    """One connection of a quantum: its dataset type, flags and datasets."""

    name: str
    dataset_type: str
    dimensions: tuple[str, ...]
    storage_class: str
    is_calibration: bool
    is_input: bool
    multiple: bool
    defer_load: bool
    refs: tuple[RefSpec, ...]

    def __reduce__(self) -> tuple[type[ConnectionSpec], tuple[Any, ...]]:
        """Pickle as the class and a tuple of fields (see ``RefSpec.__reduce__``)."""
        return ConnectionSpec, tuple(getattr(self, f) for f in _CONNECTION_FIELDS)

    def make_dataset_type(self, universe: DimensionUniverse) -> DatasetType:
        """The connection's ``DatasetType`` in ``universe``."""
        group = universe.group(self.dimensions)
        return DatasetType(self.dataset_type, group, self.storage_class, self.is_calibration)

    def make_refs(self, universe: DimensionUniverse) -> list[DatasetRef]:
        """The connection's refs, in order."""
        dataset_type = self.make_dataset_type(universe)
        group = dataset_type.dimensions
        return [
            DatasetRef(
                uuid.UUID(r.id),
                dataset_type,
                DataCoordinate(group, r.values, None, None, r.extras),
                r.run,
            )
            for r in self.refs
        ]

    def make_files(self) -> list[StoredFile]:
        """The input files, in ref order (inputs always carry them)."""
        return [StoredFile(uuid.UUID(r.id), *r.file) for r in self.refs if r.file is not None]

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "name": self.name,
            "dataset_type": self.dataset_type,
            "dimensions": list(self.dimensions),
            "storage_class": self.storage_class,
            "is_calibration": self.is_calibration,
            "is_input": self.is_input,
            "multiple": self.multiple,
            "defer_load": self.defer_load,
            "refs": [r.to_json() for r in self.refs],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConnectionSpec:
        """Rebuild from ``to_json`` output."""
        return cls(
            data["name"],
            data["dataset_type"],
            tuple(data["dimensions"]),
            data["storage_class"],
            data["is_calibration"],
            data["is_input"],
            data["multiple"],
            data["defer_load"],
            tuple(RefSpec.from_json(r) for r in data["refs"]),
        )


@dataclass(frozen=True, slots=True)
class QuantumJob:
    """Everything a worker needs to run one quantum.

    ``index`` identifies the job to its executor (the quantum's index in its graph);
    ``repo`` is the repository root, whose configuration names the file templates;
    ``timeout`` (seconds) is enforced by executors that can interrupt work; ``cores`` is
    how many workers the task asks for (``resources: {cores: N}``); ``workers`` is how many
    the quantum may map its items over (``quanta.pipe.parallel``), set by the executor
    that runs it.
    """

    index: int
    repo: str
    label: str
    task_class: str
    config: Mapping[str, Any]
    dimensions: tuple[str, ...]
    values: tuple[Any, ...]
    extras: Extras
    connections: tuple[ConnectionSpec, ...]
    timeout: float | None = None
    workers: int = 1
    cores: int = 1

    def __reduce__(self) -> tuple[type[QuantumJob], tuple[Any, ...]]:
        """Pickle as the class and a tuple of fields (see ``RefSpec.__reduce__``)."""
        return QuantumJob, tuple(getattr(self, f) for f in _JOB_FIELDS)

    def data_id(self, universe: DimensionUniverse) -> DataCoordinate:
        """The quantum's data ID, free-form keys included."""
        return DataCoordinate(universe.group(self.dimensions), self.values, None, None, self.extras)

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form (nothing is pickled)."""
        return {
            "index": self.index,
            "repo": self.repo,
            "label": self.label,
            "task_class": self.task_class,
            "config": dict(self.config),
            "dimensions": list(self.dimensions),
            "values": list(self.values),
            "extras": [list(p) for p in self.extras],
            "connections": [c.to_json() for c in self.connections],
            "timeout": self.timeout,
            "workers": self.workers,
            "cores": self.cores,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuantumJob:
        """Rebuild from ``to_json`` output."""
        return cls(
            index=data["index"],
            repo=data["repo"],
            label=data["label"],
            task_class=data["task_class"],
            config=data["config"],
            dimensions=tuple(data["dimensions"]),
            values=tuple(data["values"]),
            extras=tuple((k, v) for k, v in data["extras"]),
            connections=tuple(ConnectionSpec.from_json(c) for c in data["connections"]),
            timeout=data.get("timeout"),
            workers=data.get("workers", 1),
            cores=data.get("cores", 1),
        )


_CONNECTION_FIELDS = tuple(f.name for f in fields(ConnectionSpec))
_JOB_FIELDS = tuple(f.name for f in fields(QuantumJob))


@dataclass(slots=True)
class QuantumResult:
    """The outcome of one attempt at a job.

    ``status`` is ``done``, ``no_work`` or ``failed`` (the driver adds ``blocked`` and
    ``skipped_existing`` for quanta it does not run); ``outputs`` are the files written (none
    when the attempt failed: its partial outputs were deleted); ``message`` is the
    ``NoWorkFound`` reason or the error; ``logs`` the task's log records.
    """

    index: int
    status: QuantumStatus
    outputs: list[StoredFile] = field(default_factory=list)
    start_ns: int = 0
    end_ns: int = 0
    host: str = ""
    peak_memory_bytes: int | None = None
    cpu_s: float = 0.0
    logs: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    traceback: str | None = None

    @classmethod
    def failure(cls, job: QuantumJob, message: str, start_ns: int, end_ns: int) -> QuantumResult:
        """A failed attempt the executor observed from outside (timeout, dead worker)."""
        return cls(
            job.index, QuantumStatus.FAILED, start_ns=start_ns, end_ns=end_ns, message=message
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "index": self.index,
            "status": self.status,
            "outputs": [
                [str(f.dataset_id), f.path, f.storage_class, f.checksum, f.size]
                for f in self.outputs
            ],
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "host": self.host,
            "peak_memory_bytes": self.peak_memory_bytes,
            "cpu_s": self.cpu_s,
            "logs": self.logs,
            "message": self.message,
            "traceback": self.traceback,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuantumResult:
        """Rebuild from ``to_json`` output."""
        outputs = [
            StoredFile(uuid.UUID(i), path, sc, checksum, int(size))
            for i, path, sc, checksum, size in data["outputs"]
        ]
        return cls(
            index=data["index"],
            status=QuantumStatus(data["status"]),
            outputs=outputs,
            start_ns=data["start_ns"],
            end_ns=data["end_ns"],
            host=data["host"],
            peak_memory_bytes=data["peak_memory_bytes"],
            cpu_s=data["cpu_s"],
            logs=list(data["logs"]),
            message=data["message"],
            traceback=data["traceback"],
        )
