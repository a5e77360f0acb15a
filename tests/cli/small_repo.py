"""The small repository of the CLI tests, and helpers to check what commands print.

The repository holds instrument ``Cam`` with filters g_01 and r_01,
detectors 0 and 1, one night and four exposures (1, 2 in g; 3, 4 in r; exposure
time 10 s times the ID); 8 ``raw`` NumpyArray datasets in run ``Cam/raw`` (value:
100 times the exposure plus the detector); and 2 ``bias`` calibration datasets in
run ``Cam/calib/run1`` (value: the detector), not yet certified.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from click.testing import Result

from quanta.butler import Butler
from quanta.core.timespan import Timespan

Invoke = Callable[..., Result]

EXPOSURES = (1, 2, 3, 4)
DETECTORS = (0, 1)


def exposure_timespan(exposure: int) -> Timespan:
    """Exposure N starts at 2024-01-02T0N:00 (TAI) and lasts one minute."""
    return Timespan.from_iso(f"2024-01-02T0{exposure}:00", f"2024-01-02T0{exposure}:01")


def fill(butler: Butler) -> None:
    """Insert the records and datasets the module docstring describes."""
    butler.insert_dimension_records("instrument", [{"name": "Cam", "detector_max": 2}])
    butler.insert_dimension_records("band", [{"name": "g"}, {"name": "r"}])
    butler.insert_dimension_records(
        "physical_filter",
        [{"instrument": "Cam", "name": f"{b}_01", "band": b} for b in ("g", "r")],
    )
    butler.insert_dimension_records(
        "detector", [{"instrument": "Cam", "id": d, "full_name": f"S{d}"} for d in DETECTORS]
    )
    butler.insert_dimension_records(
        "day_obs",
        [
            {
                "instrument": "Cam",
                "id": 20240101,
                "timespan": Timespan.from_iso("2024-01-01T12:00", "2024-01-02T12:00"),
            }
        ],
    )
    butler.insert_dimension_records(
        "exposure",
        [
            {
                "instrument": "Cam",
                "id": e,
                "obs_id": f"CAM_{e:04d}",
                "physical_filter": "g_01" if e <= 2 else "r_01",
                "day_obs": 20240101,
                "exposure_time": 10.0 * e,
                "timespan": exposure_timespan(e),
            }
            for e in EXPOSURES
        ],
    )
    butler.register_dataset_type("raw", ["exposure", "detector"], "NumpyArray")
    butler.put_many(
        [
            (np.full(4, 100 * e + d), {"instrument": "Cam", "exposure": e, "detector": d})
            for e in EXPOSURES
            for d in DETECTORS
        ],
        "raw",
        run="Cam/raw",
    )
    butler.register_dataset_type("bias", ["detector"], "NumpyArray", is_calibration=True)
    for d in DETECTORS:
        butler.put(np.full(4, d), "bias", instrument="Cam", detector=d, run="Cam/calib/run1")


def assert_user_error(result: Result, message: str) -> None:
    """Exit code 2, nothing on stdout, one ``error:`` line on stderr containing ``message``."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
