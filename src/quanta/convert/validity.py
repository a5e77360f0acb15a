"""Validity ranges of legacy calibrations, made fit to certify.

A calibration registry gives each calibration a range [validStart, validEnd) of TAI dates
(a date alone is its midnight). Neighbouring ranges of one type and data ID may overlap or
leave a sliver uncovered; quanta certifies no overlaps, so the earlier range is cut or
stretched to the later one's start. Types valid "until superseded" (defects) ignore the
stored dates: each range runs from its calibration date to the next one's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core.timespan import Timespan, iso_from_tai_ns, tai_ns_from_iso
from .registries import CalibRow

DAY_NS = 86_400 * 1_000_000_000
#: Where the last range of an "until superseded" type ends.
LAST_END = "2037-12-31"


@dataclass(frozen=True)
class CalibRange:
    """One calibration's date and the TAI timespan it is valid for."""

    calib_date: str
    timespan: Timespan


@dataclass(frozen=True)
class Note:
    """A message for the log: its level (``logging.WARNING`` or ``INFO``) and text."""

    level: int
    text: str


#: (calibration type, filter, ccd): the ranges of one key are adjusted together.
CalibKey = tuple[str, str, int]


def close_ranges(what: str, ranges: Sequence[CalibRange]) -> tuple[list[CalibRange], list[Note]]:
    """Sort ``ranges`` by start; cut overlaps (a warning) and close gaps shorter than a day
    (an info line) by moving the earlier end to the later start. ``what`` names them."""
    ordered = sorted(ranges, key=lambda r: (r.timespan.to_db()[0], r.calib_date))
    fixed: list[CalibRange] = []
    notes: list[Note] = []
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        if following is None:
            fixed.append(current)
            continue
        end, start = current.timespan.to_db()[1], following.timespan.to_db()[0]
        if end > start:
            notes.append(
                Note(
                    logging.WARNING,
                    f"{what}: {current.calib_date} overlaps {following.calib_date} "
                    f"from {iso_from_tai_ns(start)} to {iso_from_tai_ns(end)}; cut at "
                    f"{iso_from_tai_ns(start)}",
                )
            )
        elif 0 < start - end < DAY_NS:
            notes.append(
                Note(
                    logging.INFO,
                    f"{what}: gap from {iso_from_tai_ns(end)} to {iso_from_tai_ns(start)} "
                    f"closed by extending {current.calib_date}",
                )
            )
        else:
            fixed.append(current)
            continue
        fixed.append(CalibRange(current.calib_date, Timespan(current.timespan.begin, start)))
    return fixed, notes


def until_superseded(calib_dates: Iterable[str]) -> list[CalibRange]:
    """Ranges from each calibration date to the next one, the last to ``LAST_END``."""
    dates = sorted(set(calib_dates), key=tai_ns_from_iso)
    ends = [*dates[1:], LAST_END]
    return [CalibRange(d, Timespan.from_iso(d, e)) for d, e in zip(dates, ends, strict=True)]


def calib_ranges(
    rows: Iterable[CalibRow], superseded_types: Iterable[str] = ()
) -> tuple[dict[CalibKey, list[CalibRange]], list[Note]]:
    """Every key's adjusted ranges and the notes made on the way; the calibration types in
    ``superseded_types`` are valid until superseded."""
    superseded = frozenset(superseded_types)
    grouped: dict[CalibKey, list[CalibRow]] = {}
    for row in rows:
        grouped.setdefault((row.calib_type, row.filter, row.ccd), []).append(row)
    found: dict[CalibKey, list[CalibRange]] = {}
    notes: list[Note] = []
    for key, members in sorted(grouped.items()):
        if key[0] in superseded:
            found[key] = until_superseded(row.calib_date for row in members)
            continue
        ranges = [
            CalibRange(row.calib_date, Timespan.from_iso(row.valid_start, row.valid_end))
            for row in members
        ]
        found[key], more = close_ranges(f"{key[0]} filter={key[1]} ccd={key[2]}", ranges)
        notes.extend(more)
    return found, notes
