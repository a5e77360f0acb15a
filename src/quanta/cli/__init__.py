"""The ``quanta`` command line: click commands that parse, call the library and print."""

from .main import cli as cli
from .main import main as main
