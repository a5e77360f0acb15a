"""Connections: what a task reads and writes, declared by dataset type and dimensions.

A task's connections class lists ``Input``, ``PrerequisiteInput``, ``Output`` and
``InitOutput`` attributes and the task's quantum dimensions::

    EXPOSURE = ("instrument", "detector", "exposure")

    class CalexpConnections(PipelineTaskConnections, dimensions=EXPOSURE):
        raw = Input("raw", "NumpyArray", EXPOSURE)
        bias = PrerequisiteInput(
            "bias", "NumpyArray", ("instrument", "detector"), is_calibration=True
        )
        calexp = Output("calexp", "NumpyArray", EXPOSURE)

A config may rename the dataset type of any connection (``connections: {raw: other}``),
and a connections class may let its config decide which connections exist at all
(``omitted``): a calibration step that is switched off then has no prerequisite to find.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.dataset_type import DatasetType, check_storage_class
from ..core.errors import ConfigError
from ..core.universe import DimensionGroup, DimensionUniverse

if TYPE_CHECKING:
    from .config import PipelineTaskConfig


@dataclass(frozen=True)
class Connection:
    """One declared dataset of a task: type name, storage class and dimensions."""

    dataset_type: str
    storage_class: str
    dimensions: tuple[str, ...] = ()
    doc: str = ""
    multiple: bool = False
    is_calibration: bool = False

    def __post_init__(self) -> None:
        check_storage_class(self.storage_class)


@dataclass(frozen=True)
class Input(Connection):
    """A regular input: found in the input collections or produced upstream in the graph.

    ``multiple`` inputs give a list per quantum with at least ``minimum`` members;
    ``defer_load`` hands the task a handle it loads when it wants, keeping memory bounded.
    """

    minimum: int = 1
    defer_load: bool = False


@dataclass(frozen=True)
class PrerequisiteInput(Input):
    """An input that must already exist (never produced by the pipeline), such as a master
    calibration looked up in CALIBRATION collections by the quantum's timespan."""


@dataclass(frozen=True)
class Output(Connection):
    """A dataset each quantum writes."""


@dataclass(frozen=True)
class InitOutput(Connection):
    """A dataset written once per run, before any quantum (dimensions are always empty)."""


class PipelineTaskConnections:
    """Base of connections classes; subclasses pass ``dimensions=(...)`` in the class line."""

    dimensions: ClassVar[tuple[str, ...]] = ()
    all: ClassVar[dict[str, Connection]] = {}

    def __init_subclass__(cls, dimensions: tuple[str, ...] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if dimensions is not None:
            cls.dimensions = tuple(dimensions)
        found: dict[str, Connection] = {}
        for base in reversed(cls.__mro__):
            for name, value in vars(base).items():
                if isinstance(value, Connection):
                    found[name] = value
        cls.all = found

    @classmethod
    def omitted(cls, config: PipelineTaskConfig) -> Collection[str]:
        """Names of the connections that ``config`` does without (by default, none).

        Override it to let configuration decide which connections exist: a connection
        named here is left out when the task's connections are resolved, so the graph
        builder never looks for it and the task never receives it.
        """
        return ()


@dataclass(frozen=True)
class ResolvedConnection:
    """A connection with its final dataset type, ready for graph building."""

    name: str
    kind: type[Connection]
    dataset_type: DatasetType
    multiple: bool
    minimum: int
    defer_load: bool

    @property
    def is_input(self) -> bool:
        """True for regular and prerequisite inputs."""
        return issubclass(self.kind, Input)

    @property
    def is_prerequisite(self) -> bool:
        """True for inputs that must exist before the graph is built."""
        return issubclass(self.kind, PrerequisiteInput)

    @property
    def is_output(self) -> bool:
        """True for per-quantum outputs."""
        return issubclass(self.kind, Output)

    @property
    def is_init_output(self) -> bool:
        """True for once-per-run outputs."""
        return issubclass(self.kind, InitOutput)


@dataclass(frozen=True)
class TaskConnections:
    """The resolved connections and quantum dimensions of one configured task."""

    label: str
    dimensions: DimensionGroup
    connections: Mapping[str, ResolvedConnection]

    def of_kind(self, kind: type[Connection]) -> dict[str, ResolvedConnection]:
        """Connections of one kind (``Input`` includes prerequisites)."""
        return {n: c for n, c in self.connections.items() if issubclass(c.kind, kind)}

    @property
    def inputs(self) -> dict[str, ResolvedConnection]:
        """Regular inputs (not prerequisites)."""
        return {n: c for n, c in self.connections.items() if c.is_input and not c.is_prerequisite}

    @property
    def prerequisites(self) -> dict[str, ResolvedConnection]:
        """Prerequisite inputs."""
        return {n: c for n, c in self.connections.items() if c.is_prerequisite}

    @property
    def outputs(self) -> dict[str, ResolvedConnection]:
        """Per-quantum outputs."""
        return {n: c for n, c in self.connections.items() if c.is_output}

    @property
    def init_outputs(self) -> dict[str, ResolvedConnection]:
        """Once-per-run outputs."""
        return {n: c for n, c in self.connections.items() if c.is_init_output}


def resolve_connections(
    label: str,
    connections_class: type[PipelineTaskConnections],
    renames: Mapping[str, str],
    universe: DimensionUniverse,
    config: PipelineTaskConfig | None = None,
) -> TaskConnections:
    """Apply dataset type renames, leave out what ``config`` omits, check dimensions.

    Connections named by ``connections_class.omitted(config)`` are left out (none when
    ``config`` is None). Raises ``ConfigError`` naming the task and connection when a
    rename or an omission names no connection, a dimension is unknown, or a single (not
    ``multiple``) input or an output has dimensions the quantum does not determine.
    """
    omitted = list(connections_class.omitted(config)) if config is not None else []
    for what, names in (("renames", renames), ("omits", omitted)):
        unknown = [n for n in names if n not in connections_class.all]
        if unknown:
            raise ConfigError(
                f"task {label!r}: config {what} unknown connection(s) "
                f"{', '.join(map(repr, unknown))}; "
                f"connections: {', '.join(connections_class.all)}"
            )
    try:
        quantum = universe.group(connections_class.dimensions)
    except LookupError as err:
        raise ConfigError(f"task {label!r}: {err}") from None
    quantum_names = set(quantum.names)
    resolved = {}
    for name, conn in connections_class.all.items():
        if name in omitted:
            continue
        try:
            dims = universe.group(conn.dimensions)
        except LookupError as err:
            raise ConfigError(f"task {label!r}, connection {name!r}: {err}") from None
        if isinstance(conn, InitOutput) and conn.dimensions:
            raise ConfigError(f"task {label!r}: init-output {name!r} may not have dimensions")
        single = isinstance(conn, Output) or (isinstance(conn, Input) and not conn.multiple)
        if single and not set(dims.required) <= quantum_names:
            extra = sorted(set(dims.required) - quantum_names)
            raise ConfigError(
                f"task {label!r}, connection {name!r}: dimensions {dims} do not fit the task's "
                f"dimensions {quantum}; {', '.join(extra)} would not be determined by a quantum "
                "(make the input multiple=True, or add the dimensions to the task)"
            )
        dataset_type = DatasetType(
            renames.get(name, conn.dataset_type), dims, conn.storage_class, conn.is_calibration
        )
        resolved[name] = ResolvedConnection(
            name,
            type(conn),
            dataset_type,
            conn.multiple,
            getattr(conn, "minimum", 1),
            getattr(conn, "defer_load", False),
        )
    return TaskConnections(label, quantum, resolved)
