"""The syntax tree of a parsed ``where`` expression: small frozen dataclasses.

Every leaf remembers the 1-based column it started at, so the compiler can say
where a mistake is. Columns are left out of equality, so two trees that say the
same thing compare equal however they were spaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

#: Python types a literal or scalar bind value may have.
Scalar = int | float | str | bool


#: What a 64-bit integer database column holds: larger literals and binds are refused.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Identifier:
    """A dimension (``exposure``) or a dotted field (``exposure.obs_id``)."""

    parts: tuple[str, ...]
    column: int = field(default=0, compare=False)

    @property
    def name(self) -> str:
        """The identifier as written, parts joined by dots."""
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Literal:
    """An integer, float, string or boolean written in the expression."""

    value: Scalar
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Bind:
    """A ``:name`` placeholder whose value is supplied separately."""

    name: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class TimeLiteral:
    """A ``T'...'`` instant, as TAI nanoseconds."""

    ns: int
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class RangeLiteral:
    """An inclusive integer range ``start..stop[:stride]`` inside ``IN (...)``."""

    start: int
    stop: int
    stride: int = 1
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class TimespanLiteral:
    """A ``(T'...', T'...')`` half-open interval, as TAI nanoseconds."""

    begin_ns: int
    end_ns: int
    column: int = field(default=0, compare=False)


#: What may stand on either side of a comparison.
Operand = Identifier | Literal | Bind | TimeLiteral


@dataclass(frozen=True, slots=True)
class Comparison:
    """``lhs op rhs`` with op one of ``= != < <= > >=`` (``<>`` is read as ``!=``)."""

    op: str
    lhs: Operand
    rhs: Operand
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class InList:
    """``lhs IN (items)``, or ``lhs NOT IN (items)`` when ``negated``."""

    lhs: Identifier
    items: tuple[Literal | Bind | TimeLiteral | RangeLiteral, ...]
    negated: bool = False
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Overlaps:
    """``lhs OVERLAPS rhs``: a timespan against a timespan, an interval or an instant."""

    lhs: Identifier
    rhs: Identifier | TimespanLiteral | TimeLiteral | Bind
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """All operands hold."""

    operands: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one operand holds."""

    operands: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not hold."""

    operand: Expression


#: A whole boolean expression.
Expression = Comparison | InList | Overlaps | And | Or | Not


def referenced_identifiers(expr: Expression | None) -> list[Identifier]:
    """Every distinct identifier in ``expr``, in order of first appearance.

    The caller uses it to decide which dimension tables to join before compiling.
    """
    return list(dict.fromkeys(_identifiers(expr)))


def _identifiers(expr: Expression | None) -> Iterator[Identifier]:
    """Yield the identifiers of ``expr`` depth-first, repeats included."""
    match expr:
        case And(operands) | Or(operands):
            for operand in operands:
                yield from _identifiers(operand)
        case Not(operand):
            yield from _identifiers(operand)
        case Comparison(lhs=lhs, rhs=rhs) | Overlaps(lhs=lhs, rhs=rhs):
            yield from (side for side in (lhs, rhs) if isinstance(side, Identifier))
        case InList(lhs=lhs):
            yield lhs
