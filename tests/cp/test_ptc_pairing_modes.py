"""The B3 generation hook's pairing modes on candidate flats: exposure time, signal and
photodiode charge (from flatStats tables handed over at build time), and order."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from quanta.core.data_id import DataCoordinate
from quanta.core.dataset_type import DatasetType
from quanta.core.errors import ConfigError
from quanta.core.records import DimensionRecord
from quanta.core.refs import DatasetRef
from quanta.core.universe import DimensionUniverse
from quanta.cp.ptc_pairs import PtcExtractPairConfig, PtcExtractPairTask, rule_pairs
from quanta.pipe.task import Candidate

UNIVERSE = DimensionUniverse.default()
EXPOSURE = UNIVERSE.group(["instrument", "detector", "exposure"])
NIGHT = 20260301


def candidate(name: str, exposure: int, seconds: float, data: Any = None) -> Candidate:
    data_id = DataCoordinate.standardize(
        {"instrument": "Cam", "detector": 0, "exposure": exposure}, EXPOSURE
    )
    dataset_type = DatasetType(name, EXPOSURE, "ArrowTable" if data is not None else "Image")
    record = DimensionRecord.from_mapping(
        UNIVERSE,
        "exposure",
        {
            "instrument": "Cam",
            "id": exposure,
            "obs_id": f"E{exposure}",
            "day_obs": NIGHT,
            "exposure_time": seconds,
            "observation_type": "flat",
        },
    )
    return Candidate(
        DatasetRef.for_output(dataset_type, data_id, "run"), {"exposure": record}, data
    )


def stats(exposure: int, median: float | None, photodiode: float | None) -> pa.Table:
    return pa.table(
        {
            "amp": ["C00", "C01"],
            "exposure": [exposure] * 2,
            "median": [median, median],
            "exposure_time": [1.0, 1.0],
            "photodiode": pa.array([photodiode] * 2, pa.float64()),
        }
    )


# A lamp 2 % brighter from the second flat of each exposure time on.
SIGNALS = {1: (1000.0, 1.0), 2: (1020.0, 1.02), 3: (1020.0, 1.02), 4: (None, 4.0)}
FLATS = [candidate("postISRCCD", e, 1.0 if e < 4 else 4.0) for e in SIGNALS]
STATS = [candidate("flatStats", e, 1.0, stats(e, m, p)) for e, (m, p) in SIGNALS.items()]


@pytest.mark.parametrize(
    ("mode", "pairs"),
    [
        ("exposure_time", [("1+2", 1, 2)]),
        ("signal", [("2+3", 2, 3)]),  # exposure 4 is all masked: no signal, left out
        ("photodiode", [("2+3", 2, 3)]),
        ("order", [("1+2", 1, 2), ("3+4", 3, 4)]),
    ],
)
def test_each_mode_makes_its_pairs(mode: str, pairs: list[tuple[str, int, int]]) -> None:
    assert rule_pairs(FLATS, 0.005, mode, 0.005, STATS) == pairs


def test_photodiode_pairing_without_photodiode_values_is_a_config_error() -> None:
    bare = [candidate("flatStats", e, 1.0, stats(e, 1000.0, None)) for e in SIGNALS]
    with pytest.raises(ConfigError, match=r"no flat has a photodiode .* no PHOTODIO keyword"):
        rule_pairs(FLATS, 0.005, "photodiode", 0.005, bare)


def test_statistics_are_a_build_time_input_only_when_pairing_by_them() -> None:
    connections = PtcExtractPairTask.ConnectionsClass
    assert "stats" in PtcExtractPairTask.build_time_inputs
    assert connections.omitted(PtcExtractPairConfig()) == ("stats",)
    assert connections.omitted(PtcExtractPairConfig(pairing="signal")) == ()
    assert connections.omitted(PtcExtractPairConfig(pairing="order")) == ("stats",)
