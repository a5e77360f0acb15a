"""The file datastore: file templates, one formatter per storage class, atomic writes."""

from .datastore import FileDatastore as FileDatastore
from .datastore import Staged as Staged
from .datastore import checksum as checksum
from .formatters import Formatter as Formatter
from .formatters import formatter_for as formatter_for
from .templates import DEFAULT_TEMPLATE as DEFAULT_TEMPLATE
from .templates import FileTemplate as FileTemplate
from .templates import FileTemplates as FileTemplates
