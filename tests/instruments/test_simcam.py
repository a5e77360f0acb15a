"""SimCam: header translation, the instrument registry, and its dimension records."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.simcam_raws import DAY_OBS, exposure_id, header
from quanta.butler import Butler
from quanta.core.errors import QuantaError
from quanta.core.timespan import Timespan, tai_ns_from_iso
from quanta.instruments import (
    HeaderError,
    ObservationInfo,
    UnknownInstrumentError,
    get_instrument,
    known_instruments,
)
from quanta.instruments.simcam import SimCam
from quanta.instruments.simcam_layout import FILTERS, MAX_DETECTORS, amp_geometry


@pytest.fixture(scope="module")
def simcam() -> SimCam:
    instrument = get_instrument("SimCam")
    assert isinstance(instrument, SimCam)
    return instrument


def test_translate_maps_every_field(simcam: SimCam) -> None:
    info = simcam.translate(header(7, 3, imgtype="FLAT", exptime=2.5, physical_filter="SimCam-g"))
    # 2025-03-02T03:07:00 UTC is 37 s later in TAI (leap seconds since 1972).
    begin = tai_ns_from_iso("2025-03-02T03:07:37")
    assert info == ObservationInfo(
        instrument="SimCam",
        detector=3,
        exposure_id=exposure_id(7),
        obs_id=f"SC_{DAY_OBS}_000007",
        observation_type="flat",
        exposure_time=2.5,
        dark_time=3.0,
        physical_filter="SimCam-g",
        day_obs=DAY_OBS,
        seq_num=7,
        timespan=Timespan(begin, begin + 2_500_000_000),
        group_name="group3",
        target_name=None,
    )
    assert info.exposure_record() == {
        "instrument": "SimCam",
        "id": exposure_id(7),
        "obs_id": f"SC_{DAY_OBS}_000007",
        "physical_filter": "SimCam-g",
        "day_obs": DAY_OBS,
        "seq_num": 7,
        "exposure_time": 2.5,
        "dark_time": 3.0,
        "observation_type": "flat",
        "group_name": "group3",
        "target_name": None,
        "timespan": info.timespan,
    }
    assert ObservationInfo.from_dict(info.to_dict()) == info


def test_translate_keeps_the_target_and_accepts_numbers_as_strings(simcam: SimCam) -> None:
    info = simcam.translate(header(1, 0, EXPTIME="30", SEQNUM="1"))
    assert (info.target_name, info.exposure_time, info.seq_num) == ("field1", 30.0, 1)


@pytest.mark.parametrize(
    "keyword", ["INSTRUME", "DETECTOR", "EXPID", "OBSID", "IMGTYPE", "EXPTIME", "DARKTIME",
                "FILTER", "DATE-OBS", "DATE-END", "DAYOBS", "SEQNUM"]
)  # fmt: skip
def test_missing_keyword_is_named(simcam: SimCam, keyword: str) -> None:
    values = header(1, 0)
    del values[keyword]
    with pytest.raises(HeaderError, match=f"^missing keyword {keyword}$"):
        simcam.translate(values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"EXPTIME": "long"}, "keyword EXPTIME: expected float, got 'long'"),
        ({"SEQNUM": 1.5}, "keyword SEQNUM: expected int"),
        ({"DETECTOR": True}, "keyword DETECTOR: expected int"),
        ({"DETECTOR": MAX_DETECTORS}, f"detector {MAX_DETECTORS} is not a SimCam detector"),
        ({"FILTER": "SimCam-u"}, "unknown SimCam filter 'SimCam-u'"),
        ({"DAYOBS": 20251301}, "keyword DAYOBS: 20251301 is not a YYYYMMDD date"),
        ({"DATE_OBS": "yesterday"}, "keyword DATE-OBS: invalid UTC time 'yesterday'"),
        ({"DATE_END": "2025-03-02T02:00:00"}, "DATE-OBS and DATE-END: timespan ends"),
        ({"INSTRUME": "OtherCam"}, "keyword INSTRUME: 'OtherCam' is not 'SimCam'"),
    ],
)
def test_bad_values_are_header_errors(simcam: SimCam, changes: dict, message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        simcam.translate(header(1, 0, **changes))


def test_simcam_detectors_and_filters(simcam: SimCam) -> None:
    assert [d.id for d in simcam.detectors] == list(range(MAX_DETECTORS))
    assert simcam.detector(5).full_name == "S05"
    full = tuple(amp_geometry())
    assert all(tuple(a.geometry for a in d.amplifiers) == full for d in simcam.detectors)
    assert simcam.filters == FILTERS


def test_registry_of_instruments_uses_entry_points() -> None:
    assert "SimCam" in known_instruments()
    assert get_instrument("SimCam") is get_instrument("SimCam")
    with pytest.raises(UnknownInstrumentError, match=r"unknown instrument 'NoCam'.*SimCam"):
        get_instrument("NoCam")
    assert issubclass(UnknownInstrumentError, LookupError)
    assert issubclass(HeaderError, QuantaError) and issubclass(HeaderError, ValueError)


def test_register_is_idempotent(tmp_path: Path, simcam: SimCam) -> None:
    butler = Butler.create(tmp_path / "repo")
    first = simcam.register(butler)
    assert first == 1 + 4 + len(FILTERS) + MAX_DETECTORS  # instrument, bands, filters, detectors
    assert simcam.register(butler) == 0
    (record,) = butler.query_dimension_records("instrument", where="instrument = 'SimCam'")
    assert record.class_name == "quanta.instruments.simcam.SimCam"
    assert record.detector_max == MAX_DETECTORS
    filters = butler.query_dimension_records("physical_filter", data_id={"instrument": "SimCam"})
    assert {f.name: f.band for f in filters} == FILTERS
    detectors = butler.query_dimension_records("detector", data_id={"instrument": "SimCam"})
    assert [(d.id, d.full_name) for d in detectors][:2] == [(0, "S00"), (1, "S01")]
