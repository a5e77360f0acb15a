"""Rendering of query results as JSON, CSV and rich tables."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from quanta.cli.output import Rows, show
from quanta.core.collections import CollectionType
from quanta.core.timespan import Timespan

ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
ROWS = Rows(
    ["id", "type", "span", "children", "missing", "n", "flag"],
    [
        [
            ID,
            CollectionType.CHAINED,
            Timespan.from_iso("2024-01-01", None),
            ["a", "b"],
            None,
            3,
            True,
        ],
    ],
)


def test_json_is_a_list_of_plain_objects(capsys: pytest.CaptureFixture[str]) -> None:
    show(ROWS, "json")
    assert json.loads(capsys.readouterr().out) == [
        {
            "id": str(ID),
            "type": "CHAINED",
            "span": "[2024-01-01T00:00:00, +inf)",
            "children": ["a", "b"],
            "missing": None,
            "n": 3,
            "flag": True,
        }
    ]


def test_csv_has_a_header_and_one_line_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    show(ROWS, "csv")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ROWS.columns,
        [str(ID), "CHAINED", "[2024-01-01T00:00:00, +inf)", "a, b", "", "3", "True"],
    ]


def test_empty_results_still_name_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    show(Rows(["a", "b"]), "csv")
    assert capsys.readouterr().out == "a,b\n"
    show(Rows(["a", "b"]), "json")
    assert json.loads(capsys.readouterr().out) == []


def test_piped_table_never_wraps_and_shows_brackets_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long = "x" * 300
    show(Rows(["value", "markup"], [[long, "[bold]not markup[/bold]"]]), "table")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if long in line)
    assert "[bold]not markup[/bold]" in line
    assert "\x1b[" not in out


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown output format 'yaml'"):
        show(ROWS, "yaml")
