"""Structured data: differences by path, tolerances, keys on one side, type changes."""

from __future__ import annotations

import math

from quanta.compare import CompareOptions, compare_structured

EXACT = CompareOptions()


def ptc(gain: float = 1.5, means: tuple[float, ...] = (100.0, 200.0)) -> dict:
    return {
        "instrument": "SimCam",
        "detector": 0,
        "amps": {
            "C00": {"gain": gain, "noise": 5.0, "means": list(means), "used": [True, True]},
            "C01": {"gain": 1.6, "noise": 5.5, "means": [100.0, 200.0], "used": [True, True]},
        },
    }


def paths(a: object, b: object, options: CompareOptions = EXACT) -> dict[str, str]:
    return {d.path: d.kind for d in compare_structured(a, b, options).paths}


def test_equal_documents() -> None:
    diff = compare_structured(ptc(), ptc(), EXACT)
    assert diff.status == "identical" and diff.n_compared == 14 and diff.n_paths == 0


def test_value_differences_are_named_by_path() -> None:
    diff = compare_structured(ptc(), ptc(gain=1.50001, means=(100.0, 201.0)), EXACT)
    assert [(d.path, d.a, d.b) for d in diff.paths] == [
        ("amps.C00.gain", 1.5, 1.50001),
        ("amps.C00.means[1]", 200.0, 201.0),
    ]
    assert diff.paths[1].abs_diff == 1.0 and diff.status == "different"


def test_tolerances_apply_to_numbers() -> None:
    changed = ptc(gain=1.50001)
    diff = compare_structured(ptc(), changed, CompareOptions(rtol=1e-4))
    assert (diff.n_unequal, diff.n_paths, diff.status) == (1, 0, "within_tolerance")
    assert paths(ptc(), changed, CompareOptions(atol=1e-6)) == {"amps.C00.gain": "value"}


def test_keys_on_one_side_and_list_lengths() -> None:
    a, b = ptc(), ptc(means=(100.0, 200.0, 300.0))
    del b["amps"]["C01"]
    b["amps"]["C02"] = {"gain": 1.7}
    b["model"] = "astier"
    found = compare_structured(a, b, EXACT).paths
    assert {d.path: d.kind for d in found} == {
        "amps.C00.means": "length",
        "amps.C01": "only_in_a",
        "amps.C02": "only_in_b",
        "model": "only_in_b",
    }
    lengths = next(d for d in found if d.kind == "length")
    assert (lengths.a, lengths.b) == (2, 3)
    assert next(d for d in found if d.path == "amps.C01").a == "<dict of 4 keys>"


def test_type_changes() -> None:
    a = {"n": 1, "flag": True, "x": None, "amps": {"C00": 1.0}, "s": "1"}
    b = {"n": 1.0, "flag": 1, "x": 0.0, "amps": [1.0], "s": 1}
    # An int and a float of one value are equal; a bool is not a number here.
    assert paths(a, b) == {"flag": "type", "x": "type", "amps": "type", "s": "type"}


def test_nan_equals_nan_and_infinities_differ_from_numbers() -> None:
    a = {"x": math.nan, "y": math.inf, "z": [math.nan, 1.0]}
    b = {"x": math.nan, "y": 1e300, "z": [math.nan, 1.0]}
    assert paths(a, b, CompareOptions(rtol=1.0)) == {"y": "value"}


def test_a_scalar_document_and_the_listing_cap() -> None:
    assert paths(1, 2) == {"$": "value"}
    many = compare_structured(list(range(100)), list(range(1, 101)), CompareOptions(max_listed=5))
    assert many.n_paths == 100 and [d.path for d in many.paths] == [f"[{i}]" for i in range(5)]
