"""Parse ``where`` strings into the syntax tree of :mod:`.ast`.

The language, in short: ``name`` or ``name.field`` (``exposure.timespan.begin``
has three parts); integers, floats, ``TRUE``/``FALSE``; single-quoted strings
where ``''`` stands for one quote and a backslash is an ordinary character;
``T'2026-03-01T00:00:00'`` instants in TAI; ``:name`` binds; ``= != <> < <= >
>=``; ``IN``/``NOT IN`` lists holding values, binds and inclusive integer
ranges ``10..20`` or ``10..20:2``; ``OVERLAPS`` with a timespan, a
``(T'...', T'...')`` interval, an instant or a bind; ``NOT`` binds tighter than
``AND``, which binds tighter than ``OR``; keywords ignore case. There are no
comments and no ``;``.

The grammar lives in ``grammar.lark`` beside this module. The LALR parser is
built on first use and kept, so importing this module stays cheap (lark is
imported inside the functions). Errors become ``QuerySyntaxError`` with the
1-based column, counted from the start of the text, where parsing stopped.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from quanta.core.errors import QuerySyntaxError
from quanta.core.text import bad_character
from quanta.core.timespan import TimespanError, tai_ns_from_iso

from .ast import (
    INT64_MAX,
    INT64_MIN,
    And,
    Bind,
    Comparison,
    Expression,
    Identifier,
    InList,
    Literal,
    Not,
    Or,
    Overlaps,
    RangeLiteral,
    TimeLiteral,
    TimespanLiteral,
)

if TYPE_CHECKING:
    from lark import Lark, Token
    from lark.exceptions import UnexpectedToken

_VALUE_TERMINALS = frozenset({"INT", "FLOAT", "STRING", "TIME", "BIND", "TRUE", "FALSE"})
_SHOWN = {
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_COMMA": "','",
    "_DOTS": "'..'",
    "_COLON": "':'",
    "_AND": "AND",
    "_OR": "OR",
    "_IN": "IN",
}


@functools.lru_cache(maxsize=64)
def parse_where(text: str) -> Expression | None:
    """Parse a ``where`` string; ``None`` when it is empty (no constraint). Trees are
    immutable, so a query searching many collections parses its text once."""
    if (bad := bad_character(text)) is not None:
        raise QuerySyntaxError(f"the text holds {bad[1]}", text, bad[0] + 1)
    if not text.strip():
        return None
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    parser = _parser()
    try:
        tree = cast(Expression, parser.parse(text))
    except UnexpectedCharacters as err:
        position = err.pos_in_stream or 0
        found = text[position]
        message = "unterminated string" if found == "'" else f"unexpected {found!r}"
        raise QuerySyntaxError(message, text, position + 1) from err
    except UnexpectedToken as err:
        raise _token_error(parser, text, err) from err
    except _InvalidLiteral as err:
        raise QuerySyntaxError(err.message, text, err.column) from err
    except RecursionError:
        raise QuerySyntaxError(_too_deep("more"), text, 1) from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise QuerySyntaxError(_too_deep(str(depth)), text, 1)
    return tree


def _too_deep(depth: str) -> str:
    return (
        f"the expression nests {depth} levels of AND, OR and NOT; at most {MAX_DEPTH} "
        "are allowed (write long lists with IN)"
    )


def _depth(expr: Expression) -> int:
    """How deeply AND, OR and NOT nest in ``expr``, walked without recursion."""
    deepest, pending = 0, [(expr, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        if isinstance(node, And | Or):
            pending += [(operand, level + 1) for operand in node.operands]
        elif isinstance(node, Not):
            pending.append((node.operand, level + 1))
    return deepest


#: How deeply AND, OR and NOT may nest: compiling and the databases' parsers recurse.
MAX_DEPTH = 200


@functools.cache
def _parser() -> Lark:
    """Build the LALR parser once; the builder turns each reduction into an AST node."""
    from lark import Lark

    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", transformer=_Builder())


def _token_error(parser: Lark, text: str, err: UnexpectedToken) -> QuerySyntaxError:
    """Describe a token the grammar did not allow, naming what was expected after what."""
    at_end = err.token.type == "$END"
    position = len(text.rstrip()) if at_end else err.token.start_pos
    previous = list(parser.lex(text[:position]))
    expected = set(err.expected)
    found = "the end" if at_end else repr(str(err.token))
    if not previous:
        message = f"expected an expression, found {found}"
    elif "$END" in expected and not at_end:
        message = f"unexpected {found}"
    else:
        message = f"expected {_describe(expected)} after {str(previous[-1])!r}"
        if not at_end:
            message += f", found {found}"
    return QuerySyntaxError(message, text, position + 1)


def _describe(expected: set[str]) -> str:
    """Say in words what the parser would have accepted."""
    if {"_NOT", "_LPAR", "NAME"} <= expected:
        return "an expression"
    if expected & _VALUE_TERMINALS:
        return "a value"
    if "COMP_OP" in expected:
        return "an operator"
    return " or ".join(sorted(_SHOWN.get(name, name) for name in expected))


class _InvalidLiteral(Exception):
    """A token that lexed fine but means nothing (a bad time, an empty range)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def _column(token: Token) -> int:
    """The 1-based column of ``token`` in the whole text."""
    return (token.start_pos or 0) + 1


def _identifier(token: Token) -> Identifier:
    return Identifier(tuple(str(token).split(".")), _column(token))


def _time(token: Token) -> TimeLiteral:
    try:
        ns = tai_ns_from_iso(str(token)[2:-1])
    except TimespanError as err:
        raise _InvalidLiteral(str(err), _column(token)) from err
    if not INT64_MIN <= ns <= INT64_MAX:
        raise _InvalidLiteral(
            f"time {str(token)[1:]} is outside the range of 64-bit nanoseconds "
            "(years 1677 to 2262)",
            _column(token),
        )
    return TimeLiteral(ns, _column(token))


def _int64(token: Token) -> int:
    """An integer token, refused beyond what a 64-bit database column holds."""
    value = int(token)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _InvalidLiteral(f"integer {value} is outside the 64-bit range", _column(token))
    return value


class _Builder:
    """Callbacks lark calls on each reduction, named after the grammar's rules and aliases."""

    def or_expr(self, children: list[Any]) -> Or:
        return Or(tuple(children))

    def and_expr(self, children: list[Any]) -> And:
        return And(tuple(children))

    def not_(self, children: list[Any]) -> Expression:
        operand = children[0]
        return operand.operand if isinstance(operand, Not) else Not(operand)

    def comparison(self, children: list[Any]) -> Comparison:
        lhs, op, rhs = children
        return Comparison("!=" if op == "<>" else str(op), lhs, rhs, lhs.column)

    def in_list(self, children: list[Any], negated: bool = False) -> InList:
        name, *items = children
        return InList(_identifier(name), tuple(items), negated, _column(name))

    def not_in_list(self, children: list[Any]) -> InList:
        return self.in_list(children, negated=True)

    def overlaps(self, children: list[Any]) -> Overlaps:
        name, rhs = children
        return Overlaps(_identifier(name), rhs, _column(name))

    def identifier(self, children: list[Token]) -> Identifier:
        return _identifier(children[0])

    def integer(self, children: list[Token]) -> Literal:
        return Literal(_int64(children[0]), _column(children[0]))

    def real(self, children: list[Token]) -> Literal:
        return Literal(float(children[0]), _column(children[0]))

    def string(self, children: list[Token]) -> Literal:
        return Literal(str(children[0])[1:-1].replace("''", "'"), _column(children[0]))

    def true(self, children: list[Token]) -> Literal:
        return Literal(True, _column(children[0]))

    def false(self, children: list[Token]) -> Literal:
        return Literal(False, _column(children[0]))

    def bind(self, children: list[Token]) -> Bind:
        return Bind(str(children[0])[1:], _column(children[0]))

    def time(self, children: list[Token]) -> TimeLiteral:
        return _time(children[0])

    def range(self, children: list[Token]) -> RangeLiteral:
        start, stop = _int64(children[0]), _int64(children[1])
        stride = _int64(children[2]) if len(children) == 3 else 1
        column = _column(children[0])
        if stride < 1:
            raise _InvalidLiteral(f"range stride must be positive, not {stride}", column)
        if stop < start:
            raise _InvalidLiteral(f"range {start}..{stop} ends before it starts", column)
        return RangeLiteral(start, stop, stride, column)

    def timespan(self, children: list[Token]) -> TimespanLiteral:
        begin, end = (_time(token) for token in children)
        if end.ns < begin.ns:
            raise _InvalidLiteral("timespan ends before it begins", begin.column)
        return TimespanLiteral(begin.ns, end.ns, begin.column)
