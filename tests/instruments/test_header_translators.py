"""Header translators a user installs are picked up without changing quanta: through
quanta's ``quanta.header_translators`` entry points (a module or a translator class) and
the library's own ``astro_metadata_translators`` group; a broken one is one clear error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from click.testing import CliRunner

from instruments.toy_packages import TRANSLATOR_MODULE, TRANSLATOR_SOURCE, toy_header
from quanta.cli.main import cli
from quanta.core.errors import ConfigError
from quanta.core.timespan import Timespan, tai_ns_from_utc_iso
from quanta.instruments import HeaderError, ObservationInfo
from quanta.instruments.translation import load_translators, translate_header

Install = Callable[[dict[str, str], str], None]
SOURCES = {TRANSLATOR_MODULE: TRANSLATOR_SOURCE}
EXPECTED = ObservationInfo(
    instrument="ToyCam",
    detector=3,
    exposure_id=501,
    obs_id="toy_501",
    observation_type="flat",
    exposure_time=5.0,
    dark_time=5.5,
    physical_filter="toy-r",
    day_obs=20260102,
    seq_num=7,
    timespan=Timespan(
        tai_ns_from_utc_iso("2026-01-03T01:02:03.500"),
        tai_ns_from_utc_iso("2026-01-03T01:02:08.500"),
    ),
    group_name="pair1",
    target_name="lamp",
)


@pytest.mark.parametrize(
    "entry_points",
    [
        "[quanta.header_translators]\ntoy = toy_translators\n",
        "[quanta.header_translators]\ntoy = toy_translators:ToyCamTranslator\n",
        "[astro_metadata_translators]\ntoy = toy_translators:translators\n",
    ],
    ids=["quanta-module", "quanta-class", "library-group"],
)
def test_an_installed_translator_is_used(install_package: Install, entry_points: str) -> None:
    with pytest.raises(HeaderError, match="no header translator recognises"):
        translate_header(toy_header())
    install_package(SOURCES, entry_points)
    assert "ToyCam" in load_translators()
    assert translate_header(toy_header()) == EXPECTED
    assert translate_header(toy_header(), translator="ToyCam") == EXPECTED


def test_scan_reads_a_camera_known_only_to_an_installed_translator(
    install_package: Install, tmp_path: Path
) -> None:
    install_package(SOURCES, "[quanta.header_translators]\ntoy = toy_translators\n")
    path = tmp_path / "toy.fits"
    fits.PrimaryHDU(header=fits.Header(list(toy_header().items()))).writeto(path)
    result = CliRunner().invoke(cli, ["scan", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "file": str(path),
            "hdu": None,
            "instrument": "ToyCam",
            "detector": 3,
            "obs_id": "toy_501",
            "observation_type": "flat",
            "physical_filter": "toy-r",
            "exposure_time": 5.0,
            "start_utc": "2026-01-03T01:02:03.500",
            "refused": None,
        }
    ]


@pytest.mark.parametrize(
    ("entry_points", "message"),
    [
        (
            "[quanta.header_translators]\nbroken = no_such_translators\n",
            "header translator 'broken' (no_such_translators) cannot be loaded: "
            "No module named 'no_such_translators'",
        ),
        (
            "[quanta.header_translators]\nvalue = toy_translators:ToyCamTranslator.name\n",
            "entry point 'value' (toy_translators:ToyCamTranslator.name) of "
            "quanta.header_translators must name a module or an "
            "astro_metadata_translator.MetadataTranslator subclass, not an instance of str",
        ),
        (
            "[astro_metadata_translators]\nbroken = no_such_translators:translators\n",
            "astro-metadata-translator plugin 'broken' (no_such_translators:translators) "
            "cannot be loaded: No module named 'no_such_translators'",
        ),
    ],
)
def test_a_broken_translator_package_is_one_user_error(
    install_package: Install, tmp_path: Path, entry_points: str, message: str
) -> None:
    install_package(SOURCES, entry_points)
    with pytest.raises(ConfigError) as info:
        load_translators()
    assert str(info.value) == message
    result = CliRunner().invoke(cli, ["scan", str(tmp_path)])
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DAYOBS": 20261345}, "ToyCam translator gives observing_day 20261345"),
        (
            {"EXPNUM": "five"},
            "ToyCam translator cannot compute exposure_id: invalid literal for int() with "
            "base 10: 'five'",
        ),
        ({"IMAGETYP": " "}, "ToyCam translator gives no observation type"),
        ({"FILTER": None}, "ToyCam translator cannot compute physical_filter: "),
        (
            {"DATE-END": "2026-01-03T01:02:00"},
            "ToyCam translator gives an end time (2026-01-03T01:02:00.000 UTC) before the "
            "start (2026-01-03T01:02:03.500 UTC)",
        ),
    ],
)
def test_values_quanta_cannot_record_are_one_line(
    install_package: Install, changes: dict[str, Any], message: str
) -> None:
    install_package(SOURCES, "[quanta.header_translators]\ntoy = toy_translators\n")
    values = {k: v for k, v in toy_header(**changes).items() if v is not None}
    with pytest.raises(HeaderError) as info:
        translate_header(values)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
