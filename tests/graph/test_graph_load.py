"""Loading a saved graph: integer lists become arrays straight from the text (no Python
int per value, which is what made loading peak above building), and anything that is not
a compact integer list is parsed, and refused, as ``json`` does."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from quanta.graph.io import _read_json

#: Values in the big column; far above the small ints Python keeps as shared objects.
COUNT = 200_000


def _document(column: str) -> str:
    """A graph-shaped document with one dataset whose data ID column is ``column``."""
    return (
        '{"datasets":{"raw":{"data_ids":{"dimensions":["exposure"],"columns":['
        + column
        + '],"extras":null},"runs":[0],"producers":[-1]}}}'
    )


def test_a_big_integer_column_is_read_without_an_object_per_value() -> None:
    values = np.arange(10**9, 10**9 + COUNT, dtype=np.int64)
    values[::7] *= -1
    text = _document(json.dumps(values.tolist(), separators=(",", ":")))
    tracemalloc.start()
    try:
        parsed = _read_json(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    column = parsed["datasets"]["raw"]["data_ids"]["columns"][0]
    assert column.dtype == np.int64 and np.array_equal(column, values)
    # A list of Python ints costs 40 bytes a value (pointer and object) before the array.
    assert peak / COUNT < 32


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ('["Cam","Cam"]', ["Cam", "Cam"]),
        ("[1.5,2]", [1.5, 2]),
        ("[1, 2]", [1, 2]),
        ("[]", []),
    ],
)
def test_other_lists_are_parsed_as_json_parses_them(column: str, expected: list) -> None:
    parsed = _read_json(_document(column))["datasets"]["raw"]["data_ids"]["columns"][0]
    assert np.asarray(parsed).tolist() == expected


@pytest.mark.parametrize("column", ["[1,-,2]", "[1,,2]", "[--1]", "[1-2]", "[-]", "[1,]", "[1,2"])
def test_a_malformed_integer_list_is_refused(column: str) -> None:
    with pytest.raises(ValueError):
        _read_json(_document(column))
