"""The registry: dimensions, dataset types, collections and datasets in SQLite or PostgreSQL."""

from .database import Database as Database
from .registry import Registry as Registry
