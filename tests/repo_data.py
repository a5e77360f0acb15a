"""Small, fully known repository contents shared by registry and butler tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from quanta.butler import Butler
from quanta.butler.config import RepoConfig
from quanta.core import Timespan
from quanta.core.timespan import tai_ns_from_iso

INSTRUMENT = "Cam"
DETECTORS = (0, 1, 2, 3)
NIGHT = 20250101
#: Exposure ids 1..12: 1-4 bias, 5-8 flat (exposure times 1, 1, 2, 2 s), 9-12 science.
EXPOSURES = tuple(range(1, 13))
NIGHT_START = tai_ns_from_iso("2025-01-01T20:00:00")


def observation_type(exposure: int) -> str:
    """Observation type of each test exposure."""
    return "bias" if exposure <= 4 else "flat" if exposure <= 8 else "science"


def exposure_timespan(exposure: int) -> Timespan:
    """Exposures start every 60 s and last 30 s."""
    begin = NIGHT_START + (exposure - 1) * 60_000_000_000
    return Timespan(begin, begin + 30_000_000_000)


def fill_dimensions(butler: Butler) -> None:
    """Insert the instrument, bands, filters, detectors, night and exposures."""
    butler.insert_dimension_records("instrument", [{"name": INSTRUMENT, "detector_max": 4}])
    butler.insert_dimension_records("band", [{"name": b} for b in "gri"])
    butler.insert_dimension_records(
        "physical_filter",
        [{"instrument": INSTRUMENT, "name": f"{INSTRUMENT}-{b}", "band": b} for b in "gri"],
    )
    butler.insert_dimension_records(
        "detector", [{"instrument": INSTRUMENT, "id": d, "full_name": f"D{d}"} for d in DETECTORS]
    )
    butler.insert_dimension_records(
        "day_obs",
        [{"instrument": INSTRUMENT, "id": NIGHT, "timespan": Timespan(NIGHT_START, None)}],
    )
    butler.insert_dimension_records(
        "exposure",
        [
            {
                "instrument": INSTRUMENT,
                "id": e,
                "obs_id": f"CAM_{NIGHT}_{e:04d}",
                "seq_num": e,
                "physical_filter": f"{INSTRUMENT}-{'gri'[e % 3]}",
                "day_obs": NIGHT,
                "exposure_time": 0.0 if e <= 4 else float((e - 3) // 2) if e <= 8 else 30.0,
                "dark_time": 0.0 if e <= 4 else 30.0,
                "observation_type": observation_type(e),
                "timespan": exposure_timespan(e),
            }
            for e in EXPOSURES
        ],
    )


def make_repo(root: Path, db_url: str | None = None) -> Butler:
    """A new repository at ``root`` holding the test dimension records."""
    butler = Butler.create(root, db=db_url)
    fill_dimensions(butler)
    return butler


def clone_repo(template: Path, root: Path, db_url: str | None = None) -> Butler:
    """A copy at ``root`` of the repository at ``template``, which nothing may be writing.

    Copying the standard repository made once by ``make_repo`` is several times faster than
    making it again. A SQLite registry inside the repository is copied with it; a registry
    elsewhere (PostgreSQL) must already have been copied to ``db_url``, which the copy's
    configuration then points at.
    """
    shutil.copytree(template, root)
    if db_url is not None:
        config = RepoConfig.load(root)
        config.registry.db = db_url
        config.save(root)
    return Butler(root)
