"""Field paths with wildcards into structured datasets."""

from __future__ import annotations

import pytest

from quanta.check.fields import MISSING, as_number, parse_path, resolve

PTC = {
    "instrument": "SimCam",
    "amps": {
        "C00": {"gain": 1.5, "noise": 5.0, "used": [True, False]},
        "C01": {"gain": 1.7},
    },
    "pairs": [{"mean": 10.0}, {"mean": 20.0}, {}],
    "empty": {},
}


def _resolve(path: str) -> list[tuple[str, object]]:
    return list(resolve(PTC, parse_path(path)))


def test_wildcards_reach_every_key_of_a_mapping_and_item_of_a_list() -> None:
    assert _resolve("amps.*.gain") == [("amps.C00.gain", 1.5), ("amps.C01.gain", 1.7)]
    assert _resolve("pairs.*.mean") == [
        ("pairs.0.mean", 10.0),
        ("pairs.1.mean", 20.0),
        ("pairs.2.mean", MISSING),
    ]
    assert _resolve("amps.*.used.*") == [
        ("amps.C00.used.0", True),
        ("amps.C00.used.1", False),
        ("amps.C01.used", MISSING),
    ]
    assert _resolve("*") == [(k, v) for k, v in PTC.items()]


def test_plain_keys_and_list_indices_pick_one_value() -> None:
    assert _resolve("instrument") == [("instrument", "SimCam")]
    assert _resolve("amps.C00.noise") == [("amps.C00.noise", 5.0)]
    assert _resolve("pairs.1.mean") == [("pairs.1.mean", 20.0)]


def test_absent_keys_are_missing_where_the_path_broke_off() -> None:
    assert _resolve("amps.C02.gain") == [("amps.C02", MISSING)]
    assert _resolve("pairs.3.mean") == [("pairs.3", MISSING)]
    assert _resolve("amps.*.noise") == [("amps.C00.noise", 5.0), ("amps.C01.noise", MISSING)]
    assert _resolve("instrument.name") == [("instrument.name", MISSING)]
    assert _resolve("instrument.*") == [("instrument.*", MISSING)]


def test_a_wildcard_over_an_empty_container_reaches_nothing() -> None:
    assert _resolve("empty.*.gain") == []


@pytest.mark.parametrize("path", ["", "a.", ".a", "a..b"])
def test_empty_keys_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="has an empty key"):
        parse_path(path)


def test_only_ints_and_floats_are_numbers() -> None:
    assert [as_number(v) for v in (1, 2.5, True, "3", None, [1])] == [
        1.0,
        2.5,
        None,
        None,
        None,
        None,
    ]
