"""Header translation by astro-metadata-translator on real headers: every raw gives what the
library itself reports, in quanta's terms; processed images, unknown headers and missing
keywords are refused with one line; corrections from a search path change values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from astro_metadata_translator import ObservationInfo as LibraryObservation
from astropy.time import Time

from instruments.real_headers import DATA, PROCESSED, RAW, TRANSLATION, header, read_header
from quanta.core.errors import ConfigError, UnknownNameError
from quanta.core.timespan import utc_iso_from_tai_ns
from quanta.instruments import HeaderError, ObservationInfo
from quanta.instruments.base import DetectorInfo
from quanta.instruments.translation import (
    TranslatedInstrument,
    UnrecognisedHeaderError,
    correction_dirs,
    observation_type,
    translate_header,
)

#: Quanta's observation type of each raw header (the library says "object" or "zero").
TYPES = {name: "science" for name in RAW} | {"fitsheader-decam-0160496.yaml": "bias"}
EPOCH = Time("1970-01-01T00:00:00", scale="tai")
KNOWN = "DECam, HSC, MegaPrime, SDSS, SuprimeCam, VisitInfo"


def reference(values: dict[str, Any], **options: Any) -> LibraryObservation:
    """The library's own translation of a header, computed directly."""
    return LibraryObservation(dict(values), quiet=True, **options)


def tai_ns(time: Time) -> int:
    """Nanoseconds since 1970-01-01 TAI of an astropy time, computed independently."""
    return round((time.tai - EPOCH).to_value("s") * 1e9)


def assert_matches(info: ObservationInfo, expected: LibraryObservation, kind: str) -> None:
    """Every field of ``info`` is the library's value, in quanta's units and names."""
    assert expected.exposure_time is not None and expected.dark_time is not None
    assert expected.datetime_begin is not None and expected.datetime_end is not None
    assert info.instrument == expected.instrument
    assert info.detector == expected.detector_num
    assert info.exposure_id == expected.exposure_id
    assert info.obs_id == expected.observation_id
    assert info.observation_type == kind
    assert info.exposure_time == expected.exposure_time.to_value("s")
    assert info.dark_time == expected.dark_time.to_value("s")
    assert info.physical_filter == expected.physical_filter
    assert info.day_obs == expected.observing_day
    assert info.seq_num == expected.observation_counter
    assert info.group_name == expected.exposure_group
    assert info.target_name == (expected.object or None)
    assert info.timespan.begin is not None and info.timespan.end is not None
    assert abs(info.timespan.begin - tai_ns(expected.datetime_begin)) < 1000
    assert abs(info.timespan.end - tai_ns(expected.datetime_end)) < 1000
    assert utc_iso_from_tai_ns(info.timespan.begin) == expected.datetime_begin.utc.isot


@pytest.mark.parametrize("name", sorted(RAW))
def test_raw_headers_translate_as_the_library_reports(name: str) -> None:
    values = header(name)
    info = translate_header(values, filename=name)
    expected = reference(values, filename=name)
    assert expected.instrument == RAW[name]
    assert_matches(info, expected, TYPES[name])


def test_the_json_and_yaml_forms_of_one_header_agree() -> None:
    json_form = translate_header(header("fitsheader-hsc-HSCA04090107.json"))
    assert json_form == translate_header(header("fitsheader-hsc-HSCA04090107.yaml"))
    assert (json_form.instrument, json_form.detector, json_form.physical_filter) == (
        "HSC",
        37,
        "HSC-R",
    )


@pytest.mark.parametrize("name", sorted(PROCESSED))
def test_processed_images_are_refused_with_their_reason(name: str) -> None:
    with pytest.raises(HeaderError) as info:
        translate_header(header(name))
    assert str(info.value) == f"a processed image, not a raw: {PROCESSED[name]}"


def test_proctype_raw_in_any_case_is_a_raw() -> None:
    values = header("fitsheader-decam.yaml", PROCTYPE="raw")
    assert translate_header(values).obs_id == "ct4m20130901t060255"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("object", "science"),
        ("science", "science"),
        ("zero", "bias"),
        ("bias", "bias"),
        ("dark", "dark"),
        ("flat", "flat"),
        ("dome flat", "flat"),
        ("DomeFlat", "flat"),
        ("sky flat", "skyflat"),
        ("twilight_flat", "skyflat"),
        ("focus", "focus"),
        ("Standard_Star", "standard_star"),
    ],
)
def test_observation_types_take_quanta_names(given: str, expected: str) -> None:
    assert observation_type(given) == expected


def test_a_translation_is_not_a_header_and_no_translator_recognises_it() -> None:
    with pytest.raises(ValueError, match="holds a translation, not a header"):
        read_header(DATA / TRANSLATION)
    import json

    content = json.loads((DATA / TRANSLATION).read_text())
    with pytest.raises(UnrecognisedHeaderError) as info:
        translate_header(content)
    assert str(info.value) == (
        f"no header translator recognises this header (no INSTRUME); known translators: {KNOWN}"
    )
    assert "\n" not in str(info.value)


def test_an_unknown_camera_is_named() -> None:
    with pytest.raises(UnrecognisedHeaderError, match=r"\(INSTRUME 'NoSuchCam'\)"):
        translate_header({"INSTRUME": "NoSuchCam", "EXPTIME": 1.0})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"EXPNUM": None}, "DECam translator cannot compute exposure_id: missing keyword EXPNUM"),
        (
            {"CCDNUM": None},
            "DECam translator cannot compute detector_num: Could not find CCDNUM in header",
        ),
        (
            {"EXPTIME": "abc"},
            "DECam translator cannot compute exposure_time: "
            "could not convert string to float: 'abc'",
        ),
        ({"OBSTYPE": None}, "DECam translator gives no observation type"),
    ],
)
def test_a_missing_or_bad_keyword_is_one_line_naming_it(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(HeaderError) as info:
        translate_header(header("fitsheader-decam.yaml", **changes))
    assert str(info.value) == message


def test_a_named_translator_is_used_and_an_unknown_one_is_listed() -> None:
    values = header("fitsheader-hsc.yaml")
    assert translate_header(values, translator="HSC").detector == 50
    with pytest.raises(HeaderError, match=r"^DECam translator cannot compute"):
        translate_header(values, translator="DECam")
    with pytest.raises(UnknownNameError) as info:
        translate_header(values, translator="NoSuch")
    assert str(info.value) == f"unknown header translator 'NoSuch'; known translators: {KNOWN}"


def write_correction(directory: Path, name: str, text: str) -> Path:
    """A correction file in the library's format: a YAML mapping of keywords to values."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)
    return directory


def test_corrections_from_a_search_path_change_values(tmp_path: Path) -> None:
    values = header("fitsheader-decam.yaml")
    fixes = write_correction(
        tmp_path / "fixes", "DECam-ct4m20130901t060255.yaml", "OBSTYPE: dome flat\nEXPTIME: 12.5\n"
    )
    plain = translate_header(values)
    fixed = translate_header(values, corrections=[fixes])
    assert (plain.observation_type, plain.exposure_time) == ("science", 200.0)
    assert (fixed.observation_type, fixed.exposure_time) == ("flat", 12.5)
    assert_matches(fixed, reference(values, search_path=[str(fixes)]), "flat")
    assert values["EXPTIME"] == 200.0  # the caller's header is left alone


def test_the_first_correction_directory_wins(tmp_path: Path) -> None:
    name = "DECam-ct4m20130901t060255.yaml"
    first = write_correction(tmp_path / "first", name, "EXPTIME: 1.5\n")
    second = write_correction(tmp_path / "second", name, "EXPTIME: 2.5\n")
    values = header("fitsheader-decam.yaml")
    assert translate_header(values, corrections=[first, second]).exposure_time == 1.5
    assert translate_header(values, corrections=[second, first]).exposure_time == 2.5


def test_correction_directories_must_exist(tmp_path: Path) -> None:
    assert correction_dirs([str(tmp_path)]) == (tmp_path,)
    with pytest.raises(ConfigError, match=r"header correction directory '.*nowhere' does not"):
        correction_dirs([tmp_path / "nowhere"])
    (tmp_path / "file.yaml").write_text("EXPTIME: 1\n")
    with pytest.raises(ConfigError, match=r"'.*file\.yaml' is not a directory$"):
        correction_dirs([tmp_path, tmp_path / "file.yaml"])


def decam(**options: Any) -> TranslatedInstrument:
    """A DECam of three detectors and one filter, as a camera file would build it."""
    detectors = [DetectorInfo(n, name, ()) for n, name in ((62, "N31"), (1, "S29"), (25, "S1"))]
    z = "z DECam SDSS c0004 9260.0 1520.0"
    return TranslatedInstrument("MyDECam", {z: "z", "g": "g"}, detectors, **options)


def test_a_translated_instrument_names_and_checks_what_the_library_gives(tmp_path: Path) -> None:
    camera = decam(translator="DECam")
    assert [d.id for d in camera.detectors] == [1, 25, 62]
    info = camera.translate(header("fitsheader-decam.yaml"))
    assert (info.instrument, info.detector, info.exposure_id) == ("MyDECam", 25, 229388)
    with pytest.raises(HeaderError, match=r"detector 7 is not a MyDECam detector; valid: 1\.\.62"):
        camera.translate(header("fitsheader-decam.yaml", CCDNUM=7))
    with pytest.raises(HeaderError, match="unknown MyDECam filter 'g DECam SDSS c0001"):
        camera.translate(header("fitsheader-decam-raw_dec050441_25.yaml"))
    records = dict(camera.dimension_records())
    assert records["instrument"][0]["class_name"] == (
        "quanta.instruments.translation.TranslatedInstrument"
    )
    assert [r["name"] for r in records["band"]] == ["g", "z"]


def test_a_translated_instrument_searches_added_corrections_first(tmp_path: Path) -> None:
    name = "DECam-ct4m20130901t060255.yaml"
    own = write_correction(tmp_path / "own", name, "EXPTIME: 1.5\n")
    added = write_correction(tmp_path / "added", name, "EXPTIME: 2.5\n")
    camera = decam(corrections=[own])
    values = header("fitsheader-decam.yaml")
    assert camera.translate(values).exposure_time == 1.5
    assert camera.with_corrections([added]).translate(values).exposure_time == 2.5
    assert camera.corrections == (own,)
