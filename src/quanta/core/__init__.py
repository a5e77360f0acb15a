"""The pure data model of quanta (universe, data IDs, refs) and the vocabulary all layers
share; each name is imported from its module on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .collections import CollectionType as CollectionType
    from .data_id import DataCoordinate as DataCoordinate
    from .dataset_type import DatasetType as DatasetType
    from .errors import QuantaError as QuantaError
    from .plugins import PluginLoader as PluginLoader
    from .records import DimensionRecord as DimensionRecord
    from .refs import DatasetRef as DatasetRef
    from .status import QuantumStatus as QuantumStatus
    from .stored_file import StoredFile as StoredFile
    from .timespan import Timespan as Timespan
    from .transfer import TransferMode as TransferMode
    from .universe import DimensionGroup as DimensionGroup
    from .universe import DimensionUniverse as DimensionUniverse

__getattr__ = lazy_exports(
    __name__,
    {
        "CollectionType": ".collections",
        "DataCoordinate": ".data_id",
        "DatasetType": ".dataset_type",
        "QuantaError": ".errors",
        "PluginLoader": ".plugins",
        "DimensionRecord": ".records",
        "DatasetRef": ".refs",
        "QuantumStatus": ".status",
        "StoredFile": ".stored_file",
        "Timespan": ".timespan",
        "TransferMode": ".transfer",
        "DimensionGroup": ".universe",
        "DimensionUniverse": ".universe",
    },
)
