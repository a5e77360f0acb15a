"""The pure data model of quanta: universe, data IDs, records, timespans, dataset types, refs."""

from .collections import CollectionType as CollectionType
from .data_id import DataCoordinate as DataCoordinate
from .dataset_type import DatasetType as DatasetType
from .errors import QuantaError as QuantaError
from .records import DimensionRecord as DimensionRecord
from .refs import DatasetRef as DatasetRef
from .stored_file import StoredFile as StoredFile
from .timespan import Timespan as Timespan
from .universe import DimensionGroup as DimensionGroup
from .universe import DimensionUniverse as DimensionUniverse
