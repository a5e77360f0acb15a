"""Compile a ``where`` syntax tree to a SQLAlchemy Core boolean expression.

Every value (literal or bind) reaches SQL as a bound parameter through column
operators; no text from the query is ever spliced into SQL (invariant 4). The compiler
knows no schema: a :class:`ColumnResolver` maps names to columns and raises
``QueryError`` for names it does not know.

Timespans are stored as half-open ``[begin, end)`` integer TAI nanoseconds, so
``[b1, e1)`` overlaps ``[b2, e2)`` when ``b1 < e2 AND b2 < e1``, and contains
the instant ``t`` when ``b <= t < e``.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from quanta.core.errors import QueryError
from quanta.core.text import text_problem
from quanta.core.timespan import Timespan

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
    Scalar,
    TimeLiteral,
    TimespanLiteral,
)

_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: The operator that keeps a comparison true when its sides are swapped.
_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "string": (str,),
    "bool": (bool,),
}
_NUMERIC = frozenset({"int", "float"})
_COLLECTIONS = (list, tuple, set, frozenset)
_BOUNDS = {"begin": 0, "end": 1}


class ColumnResolver(Protocol):
    """Maps identifiers to columns of the query being built; raises ``QueryError`` if unknown."""

    def column(self, ident: Identifier) -> ColumnElement[Any]:
        """The scalar column of a field, or the key column of a bare dimension name."""
        ...

    def timespan(self, ident: Identifier) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        """The (begin_ns, end_ns) columns of ``X.timespan``, a half-open interval."""
        ...

    def key_type(self, ident: Identifier) -> str | None:
        """``"int"``, ``"float"``, ``"string"``, ``"bool"``, or ``None`` if unknown."""
        ...

    def free_form(self, ident: Identifier) -> ColumnElement[Any] | None:
        """The extras column holding free-form key ``ident``, or ``None`` if it is not one."""
        ...


def compile_where(
    expr: Expression | None,
    resolver: ColumnResolver,
    binds: Mapping[str, Any] | None = None,
) -> ColumnElement[bool]:
    """Compile ``expr`` to a boolean column expression; ``None`` compiles to TRUE."""
    if expr is None:
        return sa.true()
    return _Compiler(resolver, binds or {}).expression(expr)


#: Terms one AND or OR may join: SQLite parses a chain of N terms into a tree N deep and
#: refuses trees deeper than 1,000.
MAX_TERMS = 900


def _as_in_lists(operands: Sequence[Expression], negated: bool) -> list[Expression]:
    """The operands with comparisons of one name to literal values merged into one IN list
    (``x = 1 OR x = 2`` is ``x IN (1, 2)``; ``x != 1 AND x != 2`` is ``x NOT IN (1, 2)``),
    so that long generated lists stay one term."""
    op = "!=" if negated else "="
    groups: dict[tuple[str, ...], list[Comparison]] = {}
    rest: list[Expression] = []
    for operand in operands:
        if (
            isinstance(operand, Comparison)
            and operand.op == op
            and isinstance(operand.lhs, Identifier)
            and isinstance(operand.rhs, Literal)
        ):
            groups.setdefault(operand.lhs.parts, []).append(operand)
        else:
            rest.append(operand)
    merged: list[Expression] = []
    for comparisons in groups.values():
        first = comparisons[0]
        if len(comparisons) == 1:
            merged.append(first)
        else:
            assert isinstance(first.lhs, Identifier)
            values = tuple(c.rhs for c in comparisons if isinstance(c.rhs, Literal))
            merged.append(InList(first.lhs, values, negated, first.column))
    return merged + rest


def _within_limit(terms: list[Expression], join: str) -> list[Expression]:
    if len(terms) > MAX_TERMS:
        raise QueryError(
            f"{len(terms)} terms joined by {join}; at most {MAX_TERMS} fit the databases' "
            "expression depth (comparisons of one name with values are merged into IN "
            "lists; write others as IN lists or split the query)"
        )
    return terms


def free_form_prefix(key: str) -> str:
    """The LIKE-escaped start of key ``key``'s pair in a dataset's stored extras."""
    return _like_escaped(json.dumps([key, ""])[:-2])


def _like_escaped(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern whose escape character is ``\\``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _error(message: str, column: int) -> QueryError:
    return QueryError(f"{message} (at column {column})" if column else message)


def _is_timespan(ident: Identifier) -> bool:
    return len(ident.parts) == 2 and ident.parts[1] == "timespan"


def _describe(node: Literal | Bind | TimeLiteral, value: object) -> str:
    """Name a value for an error message: the literal itself, or the bind and its value."""
    if isinstance(node, Bind):
        return f"bind :{node.name} = {value!r}"
    if isinstance(node, TimeLiteral):
        return "a time literal"
    return repr(value)


def _unordered(what: str, op: str) -> str:
    return f"cannot compare {what} with {op!r}: booleans have no order; use = or !="


class _Compiler:
    """One compilation: a resolver and bind values, walked over one tree."""

    def __init__(self, resolver: ColumnResolver, binds: Mapping[str, Any]) -> None:
        self.resolver = resolver
        self.binds = binds

    def expression(self, expr: Expression) -> ColumnElement[bool]:
        match expr:
            case And(operands):
                terms = _as_in_lists(operands, negated=True)
                return sa.and_(*(self.expression(term) for term in _within_limit(terms, "AND")))
            case Or(operands):
                terms = _as_in_lists(operands, negated=False)
                return sa.or_(*(self.expression(term) for term in _within_limit(terms, "OR")))
            case Not(operand):
                return sa.not_(self.expression(operand))
            case Comparison():
                return self.comparison(expr)
            case InList():
                return self.in_list(expr)
            case Overlaps():
                return self.overlaps(expr)
        raise TypeError(f"not a where expression: {expr!r}")

    def comparison(self, node: Comparison) -> ColumnElement[bool]:
        for side in (node.lhs, node.rhs):
            if isinstance(side, Identifier) and _is_timespan(side):
                raise _error(
                    f"cannot compare timespan {side.name} with {node.op!r}; use OVERLAPS, "
                    f"{side.name}.begin or {side.name}.end",
                    side.column,
                )
        lhs, rhs, op = node.lhs, node.rhs, node.op
        if not isinstance(lhs, Identifier):
            lhs, rhs, op = rhs, lhs, _MIRRORED[op]
        if not isinstance(lhs, Identifier):
            raise _error("comparison of two values; one side must be a name", node.column)
        if (extras := self.resolver.free_form(lhs)) is not None:
            if op not in ("=", "!=") or isinstance(rhs, Identifier):
                raise _error(
                    f"{lhs.name} is a free-form key: compare it with = or != to a value, or use IN",
                    node.column,
                )
            has = self.has_key_value(extras, lhs, rhs)
            return has if op == "=" else sa.not_(has)
        column, kind = self.scalar(lhs)
        if op not in ("=", "!=") and kind == "bool":
            raise _error(_unordered(lhs.name, op), lhs.column)
        if isinstance(rhs, Identifier):
            other, other_kind = self.scalar(rhs)
            if op not in ("=", "!=") and other_kind == "bool":
                raise _error(_unordered(rhs.name, op), rhs.column)
            if kind and other_kind and kind != other_kind and {kind, other_kind} - _NUMERIC:
                raise _error(
                    f"cannot compare {lhs.name} ({kind}) with {rhs.name} ({other_kind})", rhs.column
                )
            return _OPERATORS[op](column, other)
        value = self.value(rhs, lhs, kind)
        if isinstance(value, _COLLECTIONS):
            assert isinstance(rhs, Bind)  # only a bind can hold several values
            raise _error(f"bind :{rhs.name} holds several values; use IN", rhs.column)
        if op not in ("=", "!=") and isinstance(value, bool):
            raise _error(_unordered(_describe(rhs, value), op), rhs.column)
        return _OPERATORS[op](column, value)

    def in_list(self, node: InList) -> ColumnElement[bool]:
        if _is_timespan(node.lhs):
            raise _error(f"cannot use IN with timespan {node.lhs.name}", node.lhs.column)
        if (extras := self.resolver.free_form(node.lhs)) is not None:
            if any(isinstance(item, RangeLiteral) for item in node.items):
                raise _error(f"{node.lhs.name} is a free-form key: no ranges", node.column)
            clause = sa.or_(
                *(self.has_key_value(extras, node.lhs, item) for item in node.items)  # type: ignore[arg-type]
            )
            return sa.not_(clause) if node.negated else clause
        column, kind = self.scalar(node.lhs)
        values: list[Scalar] = []
        clauses: list[ColumnElement[bool]] = []
        for item in node.items:
            if isinstance(item, RangeLiteral):
                clauses.append(self.range(column, kind, node.lhs, item))
                continue
            value = self.value(item, node.lhs, kind)
            values.extend(value if isinstance(value, _COLLECTIONS) else [value])
        if values or not clauses:
            clauses.insert(0, column.in_(values))
        clause = sa.or_(*clauses)
        return sa.not_(clause) if node.negated else clause

    def has_key_value(
        self, extras: ColumnElement[Any], ident: Identifier, node: Literal | Bind | TimeLiteral
    ) -> ColumnElement[bool]:
        """True where the free-form key ``ident`` has one of the values ``node`` gives:
        a match of its canonical ``["key", "value"]`` pair inside the stored JSON list."""
        value = self.value(node, ident, "string")
        values = value if isinstance(value, list) else [value]
        pairs = [json.dumps([ident.name, str(v)]) for v in values]
        return sa.or_(*(extras.like(f"%{_like_escaped(pair)}%", escape="\\") for pair in pairs))

    def range(
        self, column: ColumnElement[Any], kind: str | None, ident: Identifier, item: RangeLiteral
    ) -> ColumnElement[bool]:
        if kind not in ("int", None):
            raise _error(
                f"range {item.start}..{item.stop} on {ident.name}, which is {kind}", item.column
            )
        clause = column.between(item.start, item.stop)
        if item.stride == 1:
            return clause
        return sa.and_(clause, (column - item.start) % item.stride == 0)

    def overlaps(self, node: Overlaps) -> ColumnElement[bool]:
        begin, end = self.timespan(node.lhs)
        match node.rhs:
            case Identifier():
                other_begin, other_end = self.timespan(node.rhs)
                return sa.and_(begin < other_end, other_begin < end)
            case TimespanLiteral(begin_ns=other_begin_ns, end_ns=other_end_ns):
                return sa.and_(begin < other_end_ns, end > other_begin_ns)
            case TimeLiteral(ns=ns):
                return sa.and_(begin <= ns, end > ns)
            case Bind():
                value = self.bind(node.rhs)
                if isinstance(value, Timespan):
                    other_begin_ns, other_end_ns = value.to_db()
                    return sa.and_(begin < other_end_ns, end > other_begin_ns)
                if isinstance(value, int) and not isinstance(value, bool):
                    if not INT64_MIN <= value <= INT64_MAX:
                        raise _error(
                            f"bind :{node.rhs.name} = {value} is outside the 64-bit range of "
                            "TAI-nanosecond instants",
                            node.rhs.column,
                        )
                    return sa.and_(begin <= value, end > value)
                raise _error(
                    f"bind :{node.rhs.name} = {value!r} is neither a Timespan nor "
                    "an integer TAI-nanosecond instant",
                    node.rhs.column,
                )
        raise TypeError(f"not an OVERLAPS operand: {node.rhs!r}")

    def timespan(self, ident: Identifier) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        if not _is_timespan(ident):
            raise _error(
                f"OVERLAPS needs a timespan like exposure.timespan, not {ident.name}", ident.column
            )
        return self.resolver.timespan(ident)

    def scalar(self, ident: Identifier) -> tuple[ColumnElement[Any], str | None]:
        """The column an identifier names and its key type; bounds of a timespan are ints."""
        if len(ident.parts) == 3:
            owner, bound = Identifier(ident.parts[:2], ident.column), ident.parts[2]
            if not _is_timespan(owner) or bound not in _BOUNDS:
                raise _error(
                    f"unknown field {ident.name}; only X.timespan.begin and X.timespan.end "
                    "have three parts",
                    ident.column,
                )
            return self.resolver.timespan(owner)[_BOUNDS[bound]], "int"
        return self.resolver.column(ident), self.resolver.key_type(ident)

    def value(
        self, node: Literal | Bind | TimeLiteral, ident: Identifier, kind: str | None
    ) -> Scalar | list[Scalar]:
        """The Python value of ``node``, checked against the type of ``ident``.

        A bind may hold a list, tuple or set of values; each one is checked.
        """
        match node:
            case Literal(value=value):
                raw: Any = value
            case TimeLiteral(ns=ns):
                raw = ns
            case Bind():
                raw = self.bind(node)
        values = list(raw) if isinstance(raw, _COLLECTIONS) else [raw]
        accepted = _ACCEPTED.get(kind or "", (int, float, str, bool))
        for value in values:
            if not isinstance(value, accepted) or (
                isinstance(value, bool) and kind not in ("bool", None)
            ):
                wanted = f"{kind} values" if kind else "numbers, strings or booleans"
                raise _error(
                    f"{ident.name} takes {wanted}, not {_describe(node, value)}", node.column
                )
            if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
                raise _error(
                    f"{_describe(node, value)} is outside the 64-bit integer range", node.column
                )
            if isinstance(value, str) and (problem := text_problem(value)) is not None:
                raise _error(f"{_describe(node, value)} {problem}", node.column)
        return values if isinstance(raw, _COLLECTIONS) else values[0]

    def bind(self, node: Bind) -> Any:
        try:
            return self.binds[node.name]
        except KeyError as err:
            supplied = ", ".join(f":{name}" for name in sorted(self.binds)) or "none"
            raise _error(f"unknown bind :{node.name}; supplied: {supplied}", node.column) from err
