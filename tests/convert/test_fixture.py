"""The legacy fixture writes every edge case a converter must meet."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import yaml
from astropy.io import fits

from convert.legacy_fixture import POLICY, LegacyRepo
from quanta.core.timespan import tai_ns_from_iso


def _rows(path: Path, sql: str) -> set[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return set(db.execute(sql))


def test_registry_rows_and_files_disagree_both_ways(legacy: LegacyRepo) -> None:
    registered = _rows(legacy.root / "registry.sqlite3", "SELECT visit, ccd FROM raw")
    on_disk = {(int(d["visit"]), int(d["ccd"])) for _, d in legacy.raws.values()}
    assert registered == legacy.registered
    assert legacy.rows_without_files == registered - on_disk != set()
    template = POLICY["exposures"]["raw"]["template"]
    unregistered = {
        p for p, (_, d) in legacy.raws.items() if (d["visit"], d["ccd"]) not in registered
    }
    assert unregistered == set(legacy.files_without_rows) != set()
    assert all(template % d == p for p, (_, d) in legacy.raws.items())
    assert all((legacy.root / p).is_file() for p in legacy.raws)
    visits = _rows(legacy.root / "registry.sqlite3", "SELECT visit FROM raw_visit")
    assert {v for (v,) in visits} == legacy.visits


def test_ccd_numbers_differ_from_detector_ids(legacy: LegacyRepo) -> None:
    assert any(ccd != detector for detector, ccd in legacy.ccd_of_detector.items())
    for path, (_, data_id) in legacy.raws.items():
        detector = int(fits.getheader(legacy.root / path, 0)["DETECTOR"])
        assert legacy.ccd_of_detector[detector] == data_id["ccd"]


def test_calibration_registry_holds_three_epochs_per_type_and_ccd(legacy: LegacyRepo) -> None:
    calib = legacy.root / "CALIB"
    for table in ("bias", "dark", "flat", "defect"):
        rows = _rows(calib / "calibRegistry.sqlite3", f"SELECT ccd, calibDate FROM {table}")
        assert len(rows) == 3 * len(legacy.ccd_of_detector)
    assert all((calib / p).is_file() for p in legacy.calibs)
    assert len(legacy.calibs) == 4 * 3 * len(legacy.ccd_of_detector)


def test_a_private_rerun_sits_over_a_shared_one_over_the_root(legacy: LegacyRepo) -> None:
    parents = {}
    for path, rerun in legacy.reruns.items():
        directory = legacy.root / path
        # The first line is the legacy YAML tag of the configuration class.
        tag, text = (directory / "repositoryCfg.yaml").read_text().split("\n", 1)
        assert tag == "!RepositoryCfg_v1"
        (parent,) = yaml.safe_load(text)["_parents"]
        parents[path] = (directory / parent).resolve()
        assert rerun.files and all((directory / p).is_file() for p in rerun.files)
    assert parents == {
        "rerun/shared/proc": legacy.root.resolve(),
        "rerun/private/alice": (legacy.root / "rerun/shared/proc").resolve(),
    }


def test_a_stray_file_and_ignored_files_are_there(legacy: LegacyRepo) -> None:
    for path in [*legacy.stray, *legacy.ignored, "_mapper", "registry.sqlite3"]:
        assert (legacy.root / path).is_file()
    assert (legacy.root / "_mapper").read_text().strip() == legacy.mapper


def test_neighbouring_calibrations_overlap_and_leave_short_and_long_gaps(
    legacy: LegacyRepo,
) -> None:
    calib = legacy.root / "CALIB" / "calibRegistry.sqlite3"

    def between(table: str, earlier: str, later: str) -> int:
        ranges = dict(
            (date, (start, end))
            for date, start, end in _rows(
                calib, f"SELECT calibDate, validStart, validEnd FROM {table}"
            )
        )
        return tai_ns_from_iso(ranges[later][0]) - tai_ns_from_iso(ranges[earlier][1])

    day = 86_400 * 10**9
    assert all(between(*pair) < 0 for pair in legacy.overlaps)
    assert all(0 < between(*pair) < day for pair in legacy.short_gaps)
    assert all(between(*pair) >= day for pair in legacy.long_gaps)
    assert legacy.overlaps and legacy.short_gaps and legacy.long_gaps
    assert legacy.until_superseded == ("defect",)
