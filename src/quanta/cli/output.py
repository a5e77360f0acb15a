"""Printing query results as a rich table, JSON or CSV, and reports as JSON, all to stdout.

Values are made plain first: UUIDs, timespans and paths become strings, enums
their names, sequences lists (joined with ``", "`` in tables and CSV).
"""

from __future__ import annotations

import csv
import enum
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMATS = ("table", "json", "csv")
#: The version of every report's JSON shape; a change that removes or renames a key
#: increases it (new keys may appear without).
SCHEMA_VERSION = 1


@dataclass
class Rows:
    """Query results: column names and one sequence of values per row."""

    columns: list[str]
    rows: Sequence[Sequence[Any]] = ()


def plain(value: Any) -> Any:
    """A JSON-compatible form of one value."""
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def cell(value: Any) -> str:
    """The text of one value in a table or CSV cell; empty for None."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def show(result: Rows, fmt: str) -> None:
    """Print ``result`` to stdout in one of ``FORMATS``."""
    if fmt == "json":
        objects = [dict(zip(result.columns, map(plain, row), strict=True)) for row in result.rows]
        sys.stdout.write(json.dumps(objects, indent=2) + "\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([cell(v) for v in row] for row in result.rows)
    elif fmt == "table":
        _print_table(result)
    else:
        raise ValueError(f"unknown output format {fmt!r}; valid: {', '.join(FORMATS)}")


def show_json(kind: str, data: Mapping[str, Any]) -> None:
    """Print one report of command ``kind`` to stdout as a JSON object whose first key,
    ``schema``, names its shape (``quanta.<kind>/<version>``)."""
    shaped = {"schema": f"quanta.{kind}/{SCHEMA_VERSION}", **data}
    sys.stdout.write(json.dumps(shaped, indent=2, default=plain) + "\n")


def _print_table(result: Rows) -> None:
    """A rich table; when stdout is not a terminal it is made wide enough never to wrap."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*result.columns)
    for row in result.rows:
        table.add_row(*(Text(cell(v)) for v in row))
    console = Console()
    if not console.is_terminal:
        needed = console.measure(table, options=console.options.update_width(1_000_000))
        console.width = max(console.width, needed.maximum)
    console.print(table)
