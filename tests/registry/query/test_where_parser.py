"""Parsing ``where`` strings: every construct, precedence, columns and syntax errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from quanta.core.errors import QuantaError, QuerySyntaxError
from quanta.core.timespan import tai_ns_from_iso
from quanta.registry.query import (
    And,
    Bind,
    Comparison,
    Identifier,
    InList,
    Literal,
    Not,
    Or,
    Overlaps,
    RangeLiteral,
    TimeLiteral,
    TimespanLiteral,
    parse_where,
    referenced_identifiers,
)
from quanta.registry.query.parser import _parser


def ident(name: str) -> Identifier:
    return Identifier(tuple(name.split(".")))


def eq(name: str, value: object) -> Comparison:
    return Comparison("=", ident(name), Literal(value))  # type: ignore[arg-type]


MARCH_1 = tai_ns_from_iso("2026-03-01T00:00:00")
MARCH_2 = tai_ns_from_iso("2026-03-02T00:00:00")


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_means_no_constraint(text: str) -> None:
    assert parse_where(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x = 42", 42),
        ("x = -7", -7),
        ("x = +7", 7),
        ("x = 2.5", 2.5),
        ("x = -1.5e3", -1500.0),
        ("x = 1e-3", 0.001),
        ("x = 'SimCam'", "SimCam"),
        ("x = 'it''s'", "it's"),
        ("x = ''", ""),
        ("x = 'a \\ b'", "a \\ b"),
        ("x = '\\'' OR 1=1 --'", "\\' OR 1=1 --"),
        ("x = TRUE", True),
        ("x = false", False),
    ],
)
def test_literals(text: str, value: object) -> None:
    tree = parse_where(text)
    assert tree == eq("x", value)
    assert isinstance(tree, Comparison) and type(tree.rhs.value) is type(value)  # type: ignore[union-attr]


def test_time_literal_is_tai_nanoseconds() -> None:
    tree = parse_where("exposure.timespan.begin < T'2026-03-01T00:00:01.5'")
    expected_ns = MARCH_1 + 1_500_000_000
    assert tree == Comparison("<", ident("exposure.timespan.begin"), TimeLiteral(expected_ns))


def test_bind() -> None:
    assert parse_where("detector = :det_1") == Comparison("=", ident("detector"), Bind("det_1"))


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("band = 'g'", ("band",)),
        ("exposure.obs_id = 'g'", ("exposure", "obs_id")),
        ("exposure.timespan.end = 1", ("exposure", "timespan", "end")),
        ("Tx = 1", ("Tx",)),
        ("android = 1", ("android",)),
    ],
)
def test_identifiers(text: str, parts: tuple[str, ...]) -> None:
    tree = parse_where(text)
    assert isinstance(tree, Comparison) and tree.lhs == Identifier(parts)


@pytest.mark.parametrize(
    ("op", "normal"),
    [("=", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")],
)
def test_comparison_operators(op: str, normal: str) -> None:
    assert parse_where(f"x {op} 1") == Comparison(normal, ident("x"), Literal(1))


def test_value_on_the_left() -> None:
    assert parse_where("5 < x") == Comparison("<", Literal(5), ident("x"))


def test_in_list_with_ranges_and_binds() -> None:
    tree = parse_where("exposure IN (10..20, 25, 30..40:5, :more, 'a', T'2026-03-01')")
    items = (RangeLiteral(10, 20), Literal(25), RangeLiteral(30, 40, 5), Bind("more"), Literal("a"))
    assert tree == InList(ident("exposure"), (*items, TimeLiteral(MARCH_1)))


def test_not_in() -> None:
    tree = parse_where("detector NOT IN (-3..-1)")
    assert tree == InList(ident("detector"), (RangeLiteral(-3, -1),), negated=True)


@pytest.mark.parametrize(
    ("rhs_text", "rhs"),
    [
        ("(T'2026-03-01', T'2026-03-02')", TimespanLiteral(MARCH_1, MARCH_2)),
        ("T'2026-03-01'", TimeLiteral(MARCH_1)),
        ("visit.timespan", ident("visit.timespan")),
        (":span", Bind("span")),
    ],
)
def test_overlaps(rhs_text: str, rhs: object) -> None:
    tree = parse_where(f"exposure.timespan OVERLAPS {rhs_text}")
    assert tree == Overlaps(ident("exposure.timespan"), rhs)  # type: ignore[arg-type]


def test_keywords_are_case_insensitive() -> None:
    lower = parse_where("not a in (1) or b not in (2) and c.timespan overlaps t'2026-03-01'")
    upper = parse_where("NOT a IN (1) OR b NOT IN (2) AND c.timespan OVERLAPS T'2026-03-01'")
    assert lower == upper
    assert isinstance(lower, Or) and isinstance(lower.operands[0], Not)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a = 1 OR b = 2 AND c = 3", Or((eq("a", 1), And((eq("b", 2), eq("c", 3)))))),
        ("a = 1 AND b = 2 OR c = 3", Or((And((eq("a", 1), eq("b", 2))), eq("c", 3)))),
        ("NOT a = 1 AND b = 2", And((Not(eq("a", 1)), eq("b", 2)))),
        ("NOT a = 1 OR b = 2", Or((Not(eq("a", 1)), eq("b", 2)))),
        ("NOT (a = 1 OR b = 2)", Not(Or((eq("a", 1), eq("b", 2))))),
        ("(a = 1 OR b = 2) AND c = 3", And((Or((eq("a", 1), eq("b", 2))), eq("c", 3)))),
        ("NOT NOT a = 1", eq("a", 1)),
        ("a = 1 AND b = 2 AND c = 3", And((eq("a", 1), eq("b", 2), eq("c", 3)))),
        ("((a = 1))", eq("a", 1)),
    ],
)
def test_precedence(text: str, tree: object) -> None:
    assert parse_where(text) == tree


def test_columns_are_recorded() -> None:
    text = "instrument = 'SimCam' AND exposure IN (3..5, :x) AND v.timespan OVERLAPS T'2026-03-01'"
    tree = parse_where(text)
    assert isinstance(tree, And)
    comparison, in_list, overlaps = tree.operands
    assert isinstance(comparison, Comparison) and isinstance(comparison.rhs, Literal)
    assert (comparison.column, comparison.rhs.column) == (1, text.index("'SimCam'") + 1)
    assert isinstance(in_list, InList)
    assert [item.column for item in in_list.items] == [text.index("3..") + 1, text.index(":x") + 1]
    assert isinstance(overlaps, Overlaps) and isinstance(overlaps.rhs, TimeLiteral)
    assert overlaps.lhs.column == text.index("v.timespan") + 1
    assert overlaps.rhs.column == text.index("T'") + 1


def test_referenced_identifiers_are_distinct_and_ordered() -> None:
    tree = parse_where(
        "instrument = 'X' AND (exposure.timespan OVERLAPS visit.timespan "
        "OR NOT detector IN (1)) AND instrument != 'Y' AND 3 < exposure.exposure_time"
    )
    names = [identifier.name for identifier in referenced_identifiers(tree)]
    expected = ["instrument", "exposure.timespan", "visit.timespan", "detector"]
    assert names == [*expected, "exposure.exposure_time"]
    assert referenced_identifiers(None) == []


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("exposure = 5;", "unexpected ';'", 13),
        ("exposure =", "expected a value after '='", 11),
        ("exposure =   ", "expected a value after '='", 11),
        ("a = 'abc", "unterminated string", 5),
        ("a = 1 AND", "expected an expression after 'AND'", 10),
        ("a = 1 b = 2", "unexpected 'b'", 7),
        ("a IN 1", "expected '(' after 'IN', found '1'", 6),
        ("a = = 1", "expected a value after '=', found '='", 5),
        ("exposure", "expected an operator after 'exposure'", 9),
        (") = 1", "expected an expression, found ')'", 1),
        ("(a = 1", "')'", 7),
        ("a IN (1,)", "expected a value after ','", 9),
        ("a = 1.", "unexpected '.'", 6),
        ("a.b.c.d = 1", "unexpected '.'", 6),
        ('a = "x"', "unexpected '\"'", 5),
        ("a = 1\nAND ;", "unexpected ';'", 11),
        ("x = T'2026-13-01'", "invalid time '2026-13-01'", 5),
        ("x IN (5..1)", "range 5..1 ends before it starts", 7),
        ("x IN (1..5:0)", "range stride must be positive", 7),
        ("x.timespan OVERLAPS (T'2026-03-02', T'2026-03-01')", "ends before it begins", 22),
        ("x OVERLAPS 5", "expected a value after 'OVERLAPS', found '5'", 12),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_where(text)
    err = info.value
    assert (err.column, err.text) == (column, text)
    assert message in str(err)
    assert f"at column {column}" in str(err)
    assert isinstance(err, QuantaError) and isinstance(err, ValueError)


def test_parser_is_built_once() -> None:
    assert _parser() is _parser()


def test_import_is_light() -> None:
    """Importing the package loads neither lark nor SQLAlchemy; using each part loads its own."""
    script = (
        "import sys, quanta.registry\n"
        "had_sqlalchemy = 'sqlalchemy' in sys.modules\n"
        "import quanta.registry.query as q\n"
        "assert 'lark' not in sys.modules\n"
        "assert ('sqlalchemy' in sys.modules) == had_sqlalchemy\n"
        "assert 'quanta.registry.query.compiler' not in sys.modules\n"
        "q.parse_where('a = 1')\n"
        "assert 'lark' in sys.modules\n"
        "assert callable(q.compile_where)\n"
        "assert 'sqlalchemy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
