"""Fixtures of the instrument tests: SimCam registered in the test repository."""

from __future__ import annotations

import pytest

from quanta.butler import Butler
from quanta.instruments import get_instrument


@pytest.fixture
def simcam_butler(butler: Butler) -> Butler:
    """The shared test repository (SQLite and PostgreSQL) with SimCam registered."""
    get_instrument("SimCam").register(butler)
    return butler


@pytest.fixture
def sqlite_simcam(sqlite_butler: Butler) -> Butler:
    """The SQLite test repository with SimCam registered."""
    get_instrument("SimCam").register(sqlite_butler)
    return sqlite_butler
