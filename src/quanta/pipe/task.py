"""``PipelineTask``: a configured step that turns input datasets into output datasets.

Science lives in ``run()``, which takes and returns Python objects; ``run_quantum()``
does the I/O through the ``QuantumIO`` a quantum is given. Two class-level hooks let a
task shape its quanta while the graph is built: ``adjust_quantum`` (drop inputs or the
whole quantum) and ``generate_quanta`` (return quanta of its own, labelled with
free-form keys such as ``pair=1001+1002``); a third, ``check_quanta``, sees all of a
task's quanta at once and may refuse the graph.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.errors import QuantaError
from .config import PipelineTaskConfig
from .connections import PipelineTaskConnections

if TYPE_CHECKING:
    from ..core.data_id import DataCoordinate
    from ..core.records import DimensionRecord
    from ..core.refs import DatasetRef
    from .quantum_io import QuantumIO


class NoWorkFound(QuantaError):
    """Raised by a task (while the graph is built, or while it runs) when a quantum has
    nothing to do; the quantum is skipped, not failed."""


@dataclass
class Candidate:
    """A candidate input of the quantum generation hook: a ref and its dimension records,
    and for a connection in ``PipelineTask.build_time_inputs`` the dataset itself."""

    ref: DatasetRef
    records: Mapping[str, DimensionRecord]
    data: Any = None


@dataclass
class QuantumSpec:
    """A quantum as a task's generation hook describes it: a data ID over the task's
    dimensions (with any free-form keys) and, per input connection, its refs."""

    data_id: DataCoordinate
    inputs: dict[str, list[DatasetRef]] = field(default_factory=dict)


class PipelineTask:
    """Base class of all tasks."""

    ConfigClass: ClassVar[type[PipelineTaskConfig]] = PipelineTaskConfig
    ConnectionsClass: ClassVar[type[PipelineTaskConnections]] = PipelineTaskConnections
    #: Input connections whose datasets ``generate_quanta`` reads while the graph is built
    #: (such as measured statistics to pair by): they must exist by then, so a pipeline
    #: that produces them runs in steps (``quanta.graph.steps``).
    build_time_inputs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: PipelineTaskConfig | None = None, label: str | None = None) -> None:
        self.config = config if config is not None else self.ConfigClass()
        self.label = label or type(self).__name__
        self.log = logging.getLogger(f"quanta.task.{self.label}")

    def run(self, **inputs: Any) -> Mapping[str, Any]:
        """Compute the outputs (by connection name) from the inputs (by connection name)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")

    def run_quantum(self, qio: QuantumIO) -> None:
        """Read every input, call ``run``, write every output that ``run`` returned."""
        inputs = {name: qio.get(name) for name in qio.input_names}
        outputs = self.run(**inputs)
        for name in qio.output_names:
            if name in outputs:
                qio.put(outputs[name], name)

    @classmethod
    def adjust_quantum(
        cls,
        config: PipelineTaskConfig,
        data_id: DataCoordinate,
        inputs: dict[str, list[DatasetRef]],
    ) -> dict[str, list[DatasetRef]]:
        """Return the inputs to keep for one quantum; raise ``NoWorkFound`` to drop it."""
        return inputs

    @classmethod
    def check_quanta(
        cls,
        config: PipelineTaskConfig,
        quanta: Sequence[tuple[DataCoordinate, Mapping[str, Sequence[DatasetRef]]]],
    ) -> None:
        """Raise a ``QuantaError`` if the task's quanta (data ID and inputs each, after
        ``adjust_quantum``) contradict one another; the graph is then not built."""

    @classmethod
    def generate_quanta(
        cls,
        config: PipelineTaskConfig,
        quantum_data_ids: Sequence[DataCoordinate],
        candidates: Mapping[str, Sequence[Candidate]],
    ) -> list[QuantumSpec] | None:
        """Return the quanta this task wants, or None to keep the default ones.

        ``quantum_data_ids`` are the default quanta; ``candidates`` holds, per regular
        input connection, every candidate ref with the records of its dimensions.
        Returned data IDs may carry free-form keys (``data_id.with_extras(...)``); inputs
        must be drawn from the candidates.
        """
        return None
