"""The Butler: put, get, find and query datasets in a data repository."""

from .butler import Butler as Butler
from .butler import open_datastore as open_datastore
