"""define_visits: one visit per science exposure, with its visit_definition row."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.simcam_raws import DAY_OBS, exposure_id, header, write_raw
from quanta.butler import Butler
from quanta.core.errors import RecordNotFoundError
from quanta.instruments.ingest import ingest_raws
from quanta.instruments.visits import define_visits


@pytest.fixture
def night(sqlite_simcam: Butler, tmp_path: Path) -> Butler:
    """Exposures 1 (bias), 2 (flat) and 3-5 (science, 5 with the g filter) ingested."""
    kinds = {1: "bias", 2: "flat", 3: "science", 4: "science", 5: "science"}
    files = [
        write_raw(
            tmp_path / f"{seq}.fits",
            header(seq, 0, imgtype, physical_filter="SimCam-g" if seq == 5 else "SimCam-r"),
        )
        for seq, imgtype in kinds.items()
    ]
    assert not ingest_raws(sqlite_simcam, files).refused
    return sqlite_simcam


def visits(butler: Butler) -> dict[int, dict]:
    return {r.id: r.values for r in butler.query_dimension_records("visit")}


def test_one_visit_per_science_exposure(night: Butler) -> None:
    assert define_visits(night, "SimCam") == 3
    (exposure,) = night.query_dimension_records(
        "exposure", data_id={"instrument": "SimCam", "exposure": exposure_id(4)}
    )
    assert visits(night)[exposure_id(4)] == {
        "instrument": "SimCam",
        "id": exposure_id(4),
        "physical_filter": "SimCam-r",
        "day_obs": DAY_OBS,
        "name": f"SC_{DAY_OBS}_000004",
        "exposure_time": 15.0,
        "observation_type": "science",
        "timespan": exposure.timespan,
    }
    links = night.query_data_ids(["exposure", "visit"], data_id={"instrument": "SimCam"})
    assert sorted((d["exposure"], d["visit"]) for d in links) == [
        (exposure_id(s), exposure_id(s)) for s in (3, 4, 5)
    ]
    assert define_visits(night, "SimCam") == 0
    assert len(visits(night)) == 3
    assert define_visits(night) == 4  # the science exposures of the test instrument Cam


def test_where_and_instrument_select_exposures(night: Butler) -> None:
    assert define_visits(night, "SimCam", where="band = :band", binds={"band": "g"}) == 1
    assert set(visits(night)) == {exposure_id(5)}
    assert define_visits(night, where="exposure.seq_num = 3") == 1
    assert set(visits(night)) == {exposure_id(5), exposure_id(3)}
    with pytest.raises(RecordNotFoundError, match="no instrument record for instrument='NoCam'"):
        define_visits(night, "NoCam")
