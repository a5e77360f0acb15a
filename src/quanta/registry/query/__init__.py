"""The ``where`` query language: parse to a syntax tree, compile to SQLAlchemy with bound values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ast import And as And
from .ast import Bind as Bind
from .ast import Comparison as Comparison
from .ast import Expression as Expression
from .ast import Identifier as Identifier
from .ast import InList as InList
from .ast import Literal as Literal
from .ast import Not as Not
from .ast import Or as Or
from .ast import Overlaps as Overlaps
from .ast import RangeLiteral as RangeLiteral
from .ast import TimeLiteral as TimeLiteral
from .ast import TimespanLiteral as TimespanLiteral
from .ast import referenced_identifiers as referenced_identifiers
from .parser import parse_where as parse_where

if TYPE_CHECKING:
    from .compiler import ColumnResolver as ColumnResolver
    from .compiler import compile_where as compile_where

_LAZY = frozenset({"ColumnResolver", "compile_where"})


def __getattr__(name: str) -> Any:
    """Import the compiler (and with it SQLAlchemy) only when it is asked for."""
    if name in _LAZY:
        from . import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
