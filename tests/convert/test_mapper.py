"""The instrument of a legacy repository comes from its mapper class."""

from __future__ import annotations

from pathlib import Path

import pytest

from convert.legacy_fixture import LegacyRepo
from quanta.convert.errors import LegacyRepositoryError
from quanta.convert.mapper import instrument_of


def test_the_fixture_mapper_is_simcam(legacy: LegacyRepo) -> None:
    assert instrument_of(legacy.root) == legacy.instrument == "SimCam"


def test_an_unknown_mapper_is_one_line_listing_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "_mapper").write_text("lsst.obs.hsc.HscMapper\n")
    with pytest.raises(LegacyRepositoryError) as caught:
        instrument_of(tmp_path)
    message = str(caught.value)
    assert "'lsst.obs.hsc.HscMapper'" in message
    assert message.endswith("known: lsst.obs.simcam.SimCamMapper")
    assert "\n" not in message


def test_a_missing_mapper_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LegacyRepositoryError, match="cannot read the mapper"):
        instrument_of(tmp_path)
