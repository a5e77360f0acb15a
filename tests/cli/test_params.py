"""Parsing of ``--bind NAME=VALUE`` options."""

from __future__ import annotations

import pytest

from quanta.cli.errors import CommandError
from quanta.cli.params import parse_bind_value, parse_binds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-12", -12),
        ("+7", 7),
        ("2.5", 2.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("-4.0E-2", -0.04),
        ("g_01", "g_01"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("1_000", "1_000"),
        ("0x10", "0x10"),
        (" 3", " 3"),
        ("", ""),
    ],
)
def test_values_become_numbers_only_when_they_look_like_numbers(
    text: str, expected: object
) -> None:
    value = parse_bind_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_binds_keep_everything_after_the_first_equals_sign() -> None:
    assert parse_binds(["a=1", "expr=x=y", "empty="]) == {"a": 1, "expr": "x=y", "empty": ""}


@pytest.mark.parametrize("item", ["novalue", "=3", "1a=3", "a-b=3", "a b=1"])
def test_malformed_binds_are_user_errors(item: str) -> None:
    with pytest.raises(CommandError, match="invalid --bind") as info:
        parse_binds([item])
    assert info.value.exit_code == 2


def test_repeated_bind_is_a_user_error() -> None:
    with pytest.raises(CommandError, match="more than once"):
        parse_binds(["a=1", "a=2"])
