"""Data IDs: validation, type conversion, refusal of unsafe values, canonical keys."""

from __future__ import annotations

import pytest

from quanta.core import DataCoordinate, DimensionUniverse
from quanta.core.errors import DataIdError

UNIVERSE = DimensionUniverse.default()
RAW = UNIVERSE.group(["instrument", "detector", "exposure"])


def test_values_are_converted_to_key_types() -> None:
    data_id = DataCoordinate.standardize({"instrument": "Cam", "detector": "3", "exposure": 7}, RAW)
    assert data_id["detector"] == 3 and isinstance(data_id["detector"], int)
    assert dict(data_id) == {"instrument": "Cam", "detector": 3, "exposure": 7}
    assert data_id.key() == "instrument=Cam,detector=3,exposure=7"


def test_missing_and_unknown_keys_are_explained() -> None:
    with pytest.raises(DataIdError, match="missing exposure"):
        DataCoordinate.standardize({"instrument": "Cam", "detector": 1}, RAW)
    with pytest.raises(DataIdError, match="valid keys: instrument, detector, exposure"):
        DataCoordinate.standardize({"instrument": "Cam", "detector": 1, "exposure": 1, "x": 2}, RAW)


def test_wrong_type_is_refused() -> None:
    with pytest.raises(DataIdError, match="expected an integer"):
        DataCoordinate.standardize({"instrument": "Cam", "detector": "one", "exposure": 1}, RAW)
    with pytest.raises(DataIdError, match="expected a string"):
        DataCoordinate.standardize({"instrument": 5, "detector": 1, "exposure": 1}, RAW)


@pytest.mark.parametrize("value", ["a/b", "..", "x\x00y", "line\nbreak", "back\\slash", ""])
def test_unsafe_string_values_are_refused(value: str) -> None:
    with pytest.raises(DataIdError, match="not allowed"):
        DataCoordinate.standardize({"instrument": value, "detector": 1, "exposure": 1}, RAW)


def test_free_form_keys_join_the_canonical_key_and_equality() -> None:
    group = UNIVERSE.group(["instrument", "detector"])
    plain = DataCoordinate.standardize({"instrument": "Cam", "detector": 1}, group)
    paired = plain.with_extras({"pair": "1001+1002"})
    assert paired.key() == "instrument=Cam,detector=1,pair=1001+1002"
    assert paired != plain and hash(paired) != hash(plain)
    assert paired["pair"] == "1001+1002"
    with pytest.raises(DataIdError):
        plain.with_extras({"detector": "2"})
    with pytest.raises(DataIdError):
        plain.with_extras({"pair": "../x"})


def test_group_inferred_from_keys_and_subset() -> None:
    data_id = DataCoordinate.standardize(
        {"instrument": "Cam", "detector": 1, "exposure": 2}, universe=UNIVERSE
    )
    assert data_id.group == RAW
    sub = data_id.subset(UNIVERSE.group(["detector"]))
    assert dict(sub) == {"instrument": "Cam", "detector": 1}


def test_fast_uuid5_matches_the_standard_library() -> None:
    import uuid

    from quanta.core.ids import QUANTA_NAMESPACE, output_dataset_id, uuid5_bytes

    for name in ["", "run\x1fraw\x1finstrument=Cam", "é" * 40]:
        assert uuid5_bytes(name) == uuid.uuid5(QUANTA_NAMESPACE, name).bytes
    data_id = DataCoordinate.standardize({"instrument": "Cam", "detector": 1, "exposure": 2}, RAW)
    assert output_dataset_id("r", "raw", data_id) == uuid.uuid5(
        QUANTA_NAMESPACE, "r\x1fraw\x1finstrument=Cam,detector=1,exposure=2"
    )
