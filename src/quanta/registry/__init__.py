"""The registry: dimensions, dataset types, collections and datasets in SQLite or PostgreSQL."""

from .collections import CollectionRecord as CollectionRecord
from .database import Database as Database
from .registry import Registry as Registry
