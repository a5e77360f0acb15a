"""Dimension record keys that could escape a path or that no database stores, text fields
wider than their column, and dataset type names longer than the registry's column are
refused before any SQL, with one line, on both backends, leaving the repository as it was."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.dataset_type import MAX_NAME_LENGTH
from quanta.core.errors import ConfigError, DataIdError
from quanta.core.universe import DEFAULT_STRING_LENGTH
from repo_data import INSTRUMENT
from repo_state import repo_state


@pytest.mark.parametrize(
    ("element", "record", "message"),
    [
        ("instrument", {"name": "a/b"}, r"instrument record key 'name': 'a/b' .* contain '/'"),
        ("instrument", {"name": ".."}, "may not be empty, '.' or '..'"),
        ("instrument", {"name": "a\\b"}, r"may not contain '\\\\'"),
        ("instrument", {"name": "a\x1bb"}, r"may not contain '\\x1b'"),
        ("instrument", {"name": "a\x00"}, "holds a NUL character at character 2"),
        ("instrument", {"name": "a\udc80"}, r"holds a byte that is not UTF-8 \(\\x80\)"),
        (
            "physical_filter",
            {"instrument": INSTRUMENT, "name": "../r", "band": "r"},
            "physical_filter record key 'name'",
        ),
        (
            "physical_filter",
            {"instrument": INSTRUMENT, "name": "Cam-x", "band": "a/b"},
            "physical_filter record key 'band'",
        ),
        (
            "detector",
            {"instrument": INSTRUMENT, "id": 9, "full_name": "S\x00"},
            "detector record field 'full_name': 'S\\\\x00' is not allowed: it holds a NUL",
        ),
        (
            "group_system",
            {"instrument": INSTRUMENT, "name": "s", "rule": "r" * (DEFAULT_STRING_LENGTH + 1)},
            f"group_system record field 'rule': .* is longer than {DEFAULT_STRING_LENGTH}",
        ),
    ],
)
def test_records_refused_before_sql(
    butler: Butler, element: str, record: dict[str, Any], message: str
) -> None:
    before = repo_state(butler)
    with pytest.raises(DataIdError, match=message):
        butler.insert_dimension_records(element, [record])
    assert repo_state(butler) == before


def test_text_fields_as_wide_as_their_column_are_stored(butler: Butler) -> None:
    rule = "r" * DEFAULT_STRING_LENGTH
    butler.insert_dimension_records(
        "group_system", [{"instrument": INSTRUMENT, "name": "s", "rule": rule}]
    )
    (record,) = butler.query_dimension_records("group_system")
    assert record.rule == rule


def test_dataset_type_names_longer_than_the_column(butler: Butler) -> None:
    longest = "a" * MAX_NAME_LENGTH
    assert butler.register_dataset_type(longest, ["instrument"], "NumpyArray").name == longest
    before = repo_state(butler)
    with pytest.raises(ConfigError, match=f"is {MAX_NAME_LENGTH + 1} characters long; at most"):
        butler.register_dataset_type(longest + "a", ["instrument"], "NumpyArray")
    result = CliRunner().invoke(
        cli, ["register-dataset-type", str(butler.root), "b" * 5000, "NumpyArray", "instrument"]
    )
    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (2, 1), result.output
    assert f"is 5000 characters long; at most {MAX_NAME_LENGTH} are allowed" in lines[0]
    assert repo_state(butler) == before
