"""Dimension records on both databases: idempotent inserts, conflicts, expansion."""

from __future__ import annotations

import pytest

from quanta.butler import Butler
from quanta.core.errors import (
    ConflictError,
    DataIdError,
    DimensionNotFoundError,
    RecordNotFoundError,
)
from repo_data import INSTRUMENT, NIGHT, exposure_timespan


def test_reinserting_identical_records_adds_nothing(butler: Butler) -> None:
    records = butler.query_dimension_records("detector")
    assert [r.id for r in records] == [0, 1, 2, 3]
    assert butler.insert_dimension_records("detector", records) == 0
    assert butler.registry.sync_dimension_record("detector", {"instrument": INSTRUMENT, "id": 9})
    assert not butler.registry.sync_dimension_record(
        "detector", {"instrument": INSTRUMENT, "id": 9}
    )
    assert len(butler.query_dimension_records("detector")) == 5


def test_conflicting_reinsert_names_the_field(butler: Butler) -> None:
    record = butler.query_dimension_records("exposure", where="exposure = 5")[0].to_dict()
    record["exposure_time"] = 99.0
    with pytest.raises(ConflictError, match=r"exposure_time: 1\.0 != 99\.0"):
        butler.insert_dimension_records("exposure", [record])
    assert butler.query_dimension_records("exposure", where="exposure = 5")[0].exposure_time == 1.0


def test_record_referring_to_missing_parent_is_refused(butler: Butler) -> None:
    with pytest.raises(ConflictError, match="insert the records they refer to"):
        butler.insert_dimension_records("detector", [{"instrument": "NoSuchCam", "id": 1}])
    assert butler.query_dimension_records("instrument")[0].name == INSTRUMENT
    assert len(butler.query_dimension_records("instrument")) == 1


def test_unknown_field_and_bad_type_are_refused(butler: Butler) -> None:
    with pytest.raises(DimensionNotFoundError, match="valid fields"):
        butler.insert_dimension_records("detector", [{"instrument": INSTRUMENT, "id": 7, "x": 1}])
    with pytest.raises(DataIdError, match="expected a number"):
        butler.insert_dimension_records(
            "exposure",
            [{"instrument": INSTRUMENT, "id": 99, "obs_id": "x", "exposure_time": "long"}],
        )


def test_expand_fills_implied_values_and_records(butler: Butler) -> None:
    data_id = butler.registry.expand_data_id(
        {"instrument": INSTRUMENT, "detector": 1, "exposure": 6}
    )
    assert data_id.full()["physical_filter"] == "Cam-g"
    assert data_id.full()["band"] == "g"
    assert data_id.full()["day_obs"] == NIGHT
    assert data_id.records is not None
    assert data_id.records["exposure"].timespan == exposure_timespan(6)
    with pytest.raises(RecordNotFoundError, match="no exposure record"):
        butler.registry.expand_data_id({"instrument": INSTRUMENT, "detector": 1, "exposure": 77})


def test_records_round_trip_types(butler: Butler) -> None:
    record = butler.query_dimension_records(
        "exposure", where="exposure.obs_id = 'CAM_20250101_0009'"
    )
    assert len(record) == 1
    assert record[0].id == 9 and record[0].observation_type == "science"
    assert isinstance(record[0].exposure_time, float) and isinstance(record[0].seq_num, int)


def _define_pairs(butler: Butler) -> None:
    butler.insert_dimension_records(
        "group_system", [{"instrument": INSTRUMENT, "name": "ptc", "exclusive": True}]
    )
    butler.insert_dimension_records(
        "group",
        [
            {"instrument": INSTRUMENT, "group_system": "ptc", "name": name, "n_members": 2}
            for name in ("5+6", "7+8")
        ],
    )
    butler.registry.insert_join_rows(
        "group_membership",
        [
            {
                "instrument": INSTRUMENT,
                "group_system": "ptc",
                "group": f"{first}+{first + 1}",
                "exposure": first + i,
                "position": i,
            }
            for first in (5, 7)
            for i in (0, 1)
        ],
    )


def test_group_membership_is_queryable(butler: Butler) -> None:
    _define_pairs(butler)
    members = butler.query_data_ids(
        ["group", "exposure"], where="group.system = 'ptc' AND group = '7+8'"
    )
    assert [d["exposure"] for d in members] == [7, 8]
    groups = butler.query_data_ids(["group"], where="exposure IN (5, 8)")
    assert [d["group"] for d in groups] == ["5+6", "7+8"]
    flats = butler.query_dimension_records(
        "exposure", where="group.system = 'ptc' AND exposure.exposure_time = 2.0"
    )
    assert [r.id for r in flats] == [7, 8]


def test_join_rows_are_idempotent_and_checked(butler: Butler) -> None:
    _define_pairs(butler)
    row = {"instrument": INSTRUMENT, "group_system": "ptc", "group": "5+6", "exposure": 5}
    assert butler.registry.insert_join_rows("group_membership", [{**row, "position": 0}]) == 0
    with pytest.raises(ConflictError, match="position: 0 != 1"):
        butler.registry.insert_join_rows("group_membership", [{**row, "position": 1}])
    with pytest.raises(DataIdError, match="valid: instrument"):
        butler.registry.insert_join_rows("group_membership", [{**row, "slot": 1}])
    with pytest.raises(ConflictError, match="insert the dimension records"):
        butler.registry.insert_join_rows(
            "group_membership", [{**row, "group": "nope", "position": 0}]
        )
