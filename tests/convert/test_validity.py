"""Validity ranges: short overlaps and gaps closed, long gaps kept, defects until superseded."""

from __future__ import annotations

import logging

from convert.legacy_fixture import UNTIL_SUPERSEDED, LegacyRepo
from quanta.convert.registries import read_calib_registry
from quanta.convert.validity import (
    LAST_END,
    CalibRange,
    calib_ranges,
    close_ranges,
    until_superseded,
)
from quanta.core.timespan import Timespan


def _spans(ranges: list[CalibRange]) -> list[tuple[str, Timespan]]:
    return [(r.calib_date, r.timespan) for r in ranges]


def _expected(*rows: tuple[str, str, str]) -> list[tuple[str, Timespan]]:
    return [(date, Timespan.from_iso(start, end)) for date, start, end in rows]


def test_the_fixture_ranges_are_cut_closed_kept_and_superseded(legacy: LegacyRepo) -> None:
    tables = read_calib_registry(legacy.root / "CALIB" / "calibRegistry.sqlite3")
    rows = [row for table in tables.values() for row in table]
    ranges, notes = calib_ranges(rows, UNTIL_SUPERSEDED)
    for ccd in legacy.ccd_of_detector.values():
        assert _spans(ranges["bias", "NONE", ccd]) == _expected(
            ("2026-02-20", "2026-02-15", "2026-02-25"),
            ("2026-03-01", "2026-02-25", "2026-03-06"),
            ("2026-03-10", "2026-03-06", "2026-03-15"),
        )
        assert _spans(ranges["dark", "NONE", ccd]) == _expected(
            ("2026-02-20", "2026-02-15", "2026-02-26"),
            ("2026-03-01", "2026-02-26", "2026-03-05"),
            ("2026-03-10", "2026-03-07", "2026-03-15"),
        )
        assert _spans(ranges["flat", "SimCam-r", ccd]) == _expected(
            ("2026-02-20", "2026-02-15", "2026-02-25"),
            ("2026-03-01", "2026-02-25", "2026-03-06"),
            ("2026-03-10", "2026-03-06", "2026-03-15"),
        )
        assert _spans(ranges["defect", "NONE", ccd]) == _expected(
            ("2026-02-20", "2026-02-20", "2026-03-01"),
            ("2026-03-01", "2026-03-01", "2026-03-10"),
            ("2026-03-10", "2026-03-10", LAST_END),
        )
    warnings = [n.text for n in notes if n.level == logging.WARNING]
    infos = [n.text for n in notes if n.level == logging.INFO]
    assert len(warnings) == len(infos) == len(legacy.ccd_of_detector) == len(notes) // 2
    assert warnings[0] == (
        "bias filter=NONE ccd=0: 2026-02-20 overlaps 2026-03-01 from 2026-02-25T00:00:00 "
        "to 2026-02-26T00:00:00; cut at 2026-02-25T00:00:00"
    )
    assert infos[0] == (
        "dark filter=NONE ccd=0: gap from 2026-02-25T18:00:00 to 2026-02-26T00:00:00 "
        "closed by extending 2026-02-20"
    )


def test_ranges_are_sorted_and_a_gap_of_a_whole_day_is_kept() -> None:
    later = CalibRange("2026-01-10", Timespan.from_iso("2026-01-06", "2026-01-15"))
    earlier = CalibRange("2026-01-01", Timespan.from_iso("2025-12-28", "2026-01-05"))
    fixed, notes = close_ranges("bias", [later, earlier])
    assert fixed == [earlier, later]
    assert notes == []


def test_a_contained_range_cuts_the_one_around_it_at_its_start() -> None:
    outer = CalibRange("2026-01-05", Timespan.from_iso("2026-01-01", "2026-01-20"))
    inner = CalibRange("2026-01-08", Timespan.from_iso("2026-01-07", "2026-01-09"))
    fixed, notes = close_ranges("flat", [outer, inner])
    assert _spans(fixed) == _expected(
        ("2026-01-05", "2026-01-01", "2026-01-07"), ("2026-01-08", "2026-01-07", "2026-01-09")
    )
    assert [n.level for n in notes] == [logging.WARNING]


def test_until_superseded_ends_each_range_at_the_next_date() -> None:
    ranges = until_superseded(["2026-03-01", "2026-01-01", "2026-03-01"])
    assert _spans(ranges) == _expected(
        ("2026-01-01", "2026-01-01", "2026-03-01"), ("2026-03-01", "2026-03-01", "2037-12-31")
    )
