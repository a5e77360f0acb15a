"""The pure data model of quanta (universe, data IDs, refs) and the vocabulary all layers share."""

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
