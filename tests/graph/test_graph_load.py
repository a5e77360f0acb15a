"""Loading a saved graph: the text is parsed as it is decompressed, integer lists become
arrays straight from the bytes (no Python int per value) and string columns keep one
object per distinct value, which is what made loading peak above building; anything that
is not a compact integer list is parsed, and refused, as ``json`` does."""

from __future__ import annotations

import base64
import io
import json
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from graph.helpers import as_lists
from quanta.graph.io import LAYOUT, _read_json
from quanta.graph.stream_json import JsonStream

#: Values in the big column; far above the small ints Python keeps as shared objects.
COUNT = 200_000


def _document(column: str) -> str:
    """A graph-shaped document with one dataset whose data ID column is ``column``."""
    return (
        '{"datasets":{"raw":{"data_ids":{"dimensions":["exposure"],"columns":['
        + column
        + '],"extras":null},"runs":[0],"producers":[-1]}}}'
    )


def _parsed(data: bytes, step: int | None = None) -> object:
    """The document parsed from a stream that gives ``step`` bytes a read (all it is asked
    for if None)."""
    stream = io.BytesIO(data)
    read: Callable[[int], bytes] = stream.read if step is None else lambda _n: stream.read(step)
    return JsonStream(read).document(LAYOUT)


def test_a_big_integer_column_is_read_without_an_object_per_value() -> None:
    values = np.arange(10**9, 10**9 + COUNT, dtype=np.int64)
    values[::7] *= -1
    data = _document(json.dumps(values.tolist(), separators=(",", ":"))).encode()
    tracemalloc.start()
    try:
        parsed = _parsed(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    column = parsed["datasets"]["raw"]["data_ids"]["columns"][0]  # type: ignore[index]
    assert column.dtype == np.int64 and np.array_equal(column, values)
    # The text (11 bytes a value here) is held twice, then the array's 8 bytes; a list of
    # Python ints on the way would add 40 more (a pointer and an int object a value).
    assert peak / COUNT < 44


def test_a_string_column_keeps_one_object_per_distinct_value() -> None:
    text = _document(json.dumps(["Cam", "LATISS"] * 1000))
    column = _read_json(text)["datasets"]["raw"]["data_ids"]["columns"][0]
    assert column.tolist() == ["Cam", "LATISS"] * 1000
    assert len({id(v) for v in column}) == 2


def test_a_document_read_a_few_bytes_at_a_time_is_parsed_as_json() -> None:
    document = {
        "format": "quanta-graph",
        "header": {"note": 'caf\u00e9 "quoted" ]}', "values": [1.5, None, True, 12345678]},
        "runs": ["u/é/run"],
        "datasets": {
            "raw": {
                "data_ids": {
                    "dimensions": ["instrument", "exposure"],
                    "columns": [["Cam", "Cam", "Cam"], [123456789, -2, 30]],
                    "extras": None,
                },
                "ids": base64.b64encode(bytes(range(48))).decode("ascii"),
                "runs": [0, 0, 0],
                "producers": [-1, -1, -1],
            }
        },
        "tasks": [{"label": "isr", "inputs": {"raw": {"offsets": [0, 1], "indices": [2]}}}],
    }
    for text in (json.dumps(document), json.dumps(document, indent=2, ensure_ascii=False)):
        expected = json.loads(text)
        for step in (1, 2, 3, 7, 64, None):
            parsed = _parsed(text.encode(), step)
            assert as_lists(parsed) == expected
            raw = parsed["datasets"]["raw"]  # type: ignore[index]
            assert raw["producers"].dtype == np.int64 and raw["ids"].dtype == np.dtype("V16")


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
    for step in (1, 5, None):
        with pytest.raises(ValueError):
            _parsed(_document(column).encode(), step)
