"""Policy templates match the legacy fixture's files to their dataset types and data IDs."""

from __future__ import annotations

import pytest

from convert.legacy_fixture import LegacyRepo
from quanta.convert.templates import (
    Template,
    is_ignored,
    load_policy,
    match_path,
    read_policy,
    scan_tree,
)
from quanta.core.errors import ConfigError


def _section(legacy: LegacyRepo, section: str) -> list[Template]:
    return [t for t in read_policy(legacy.policy) if t.section == section]


def test_the_policy_gives_each_dataset_type_its_template_type_and_tables(
    legacy: LegacyRepo,
) -> None:
    templates = {t.dataset_type: t for t in read_policy(legacy.policy)}
    assert list(templates) == [
        "raw",
        "postISRCCD",
        "calexp",
        "deepCoadd",
        "bias",
        "dark",
        "flat",
        "defects",
    ]
    assert templates["raw"].tables == ("raw", "raw_visit")
    assert templates["defects"].tables == ("defect",)
    assert templates["raw"].python_type == "lsst.afw.image.DecoratedImageU"
    assert dict(templates["raw"].fields) == {
        "field": str,
        "dateObs": str,
        "pointing": int,
        "filter": str,
        "visit": int,
        "ccd": int,
    }


def test_raw_files_match_with_typed_data_ids_and_the_stray_file_does_not(
    legacy: LegacyRepo,
) -> None:
    found = scan_tree(legacy.root, _section(legacy, "exposures"), prune=("CALIB", "rerun"))
    assert found.matched == legacy.raws
    assert found.unmatched == legacy.stray


def test_calibration_and_rerun_files_match_their_templates(legacy: LegacyRepo) -> None:
    found = scan_tree(legacy.root / "CALIB", _section(legacy, "calibrations"))
    assert found.matched == legacy.calibs
    assert found.unmatched == []
    for path, rerun in legacy.reruns.items():
        found = scan_tree(legacy.root / path, _section(legacy, "exposures"))
        assert (found.matched, found.unmatched) == (rerun.files, [])


def test_a_path_formats_back_from_its_data_id(legacy: LegacyRepo) -> None:
    templates = read_policy(legacy.policy)
    by_name = {t.dataset_type: t for t in templates}
    for path, (dataset_type, data_id) in legacy.calibs.items():
        assert by_name[dataset_type].format(data_id) == path
        assert match_path(templates, path) == (dataset_type, data_id)


def test_a_repeated_field_must_repeat_its_value() -> None:
    flat = Template.parse("flat", "FLAT/%(calibDate)s/FLAT-%(calibDate)s-%(ccd)03d.fits")
    assert flat.match("FLAT/2026-03-01/FLAT-2026-03-01-007.fits") == {
        "calibDate": "2026-03-01",
        "ccd": 7,
    }
    assert flat.match("FLAT/2026-03-01/FLAT-2026-03-02-007.fits") is None
    assert Template.parse("x", "a%%b-%(n)d").match("a%b-12") == {"n": 12}


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("raw/%(visit", "a % that starts no field"),
        ("raw/%(visit)07x.fits", "conversion %x of field 'visit'"),
        ("raw/100%.fits", "a % that starts no field"),
        ("%(ccd)s/%(ccd)03d.fits", "field 'ccd' with two types"),
        ("/abs/%(ccd)d.fits", "an empty or absolute path"),
        ("raw/%(1st)d.fits", "field name '1st'"),
    ],
)
def test_a_template_that_does_not_parse_names_dataset_type_and_template(
    template: str, why: str
) -> None:
    policy = {"exposures": {"raw": {"template": template, "tables": "raw"}}}
    with pytest.raises(ConfigError) as caught:
        load_policy(policy)
    message = str(caught.value)
    assert message == f"dataset type 'raw': template {template!r} has {why}"
    assert "\n" not in message


def test_bookkeeping_files_and_editor_backups_are_ignored() -> None:
    for name in ("_mapper", "_parent", "repositoryCfg.yaml", "registry.sqlite3", "a.fits~"):
        assert is_ignored(name)
    assert not is_ignored("SIMCAM-0000001-000.fits")


def test_tables_must_be_names() -> None:
    policy = {"calibrations": {"bias": {"template": "BIAS/%(ccd)d.fits", "tables": 3}}}
    with pytest.raises(ConfigError, match="dataset type 'bias': tables 3 are not names"):
        load_policy(policy)
