"""What a running task may do with data: the ``QuantumIO`` protocol.

The concrete class lives in ``quanta.butler``; tasks see only this protocol, so the
pipeline layer depends on nothing above ``quanta.core``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..core.data_id import DataCoordinate
    from ..core.refs import DatasetRef


class QuantumIO(Protocol):
    """Reads the inputs and writes the outputs of one quantum, nothing else."""

    data_id: DataCoordinate

    @property
    def input_names(self) -> Sequence[str]:
        """Connection names of every input (prerequisites included)."""

    @property
    def output_names(self) -> Sequence[str]:
        """Connection names of every output."""

    def refs(self, name: str) -> list[DatasetRef]:
        """The refs of one connection, in order."""

    def get(self, name: str) -> Any:
        """The object of an input: a list for ``multiple``, and for ``defer_load`` a
        ``quanta.core.deferred.DeferredInput`` (or a list of them) instead of the object."""

    def put(self, obj: Any, name: str) -> None:
        """Write an output (a list, in ``refs(name)`` order, for ``multiple``)."""
