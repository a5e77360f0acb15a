"""Timespans in TAI nanoseconds: parsing, overlap and UTC conversion."""

from __future__ import annotations

import pytest

from quanta.core.timespan import (
    NS_MAX,
    NS_MIN,
    Timespan,
    TimespanError,
    iso_from_tai_ns,
    tai_ns_from_iso,
    tai_ns_from_utc_iso,
)


def test_iso_round_trip_keeps_nanoseconds() -> None:
    ns = tai_ns_from_iso("2026-03-01T12:34:56.123456789")
    assert iso_from_tai_ns(ns) == "2026-03-01T12:34:56.123456789"
    assert tai_ns_from_iso("1970-01-01T00:00:01") == 1_000_000_000


def test_utc_to_tai_adds_leap_seconds() -> None:
    # Since 2017, TAI - UTC = 37 s.
    utc = tai_ns_from_utc_iso("2026-03-01T00:00:00")
    assert utc - tai_ns_from_iso("2026-03-01T00:00:00") == 37_000_000_000


def test_overlap_is_half_open() -> None:
    a = Timespan(0, 10)
    assert a.overlaps(Timespan(9, 20))
    assert not a.overlaps(Timespan(10, 20))
    assert a.overlaps(Timespan(None, 1)) and Timespan(None, None).overlaps(a)
    assert a.contains(0) and not a.contains(10)


def test_unbounded_sides_round_trip_through_storage() -> None:
    span = Timespan(None, 5)
    assert span.to_db() == (NS_MIN, 5)
    assert Timespan.from_db(NS_MIN, NS_MAX) == Timespan(None, None)
    assert Timespan.from_db(*span.to_db()) == span


def test_invalid_input_is_refused() -> None:
    with pytest.raises(TimespanError):
        Timespan(10, 5)
    with pytest.raises(TimespanError, match="invalid time"):
        tai_ns_from_iso("yesterday")


def test_utc_times_since_1973_convert_as_astropy_converts_them() -> None:
    import random

    from astropy.time import Time

    from quanta.core.timespan import tai_ns_from_time, tai_ns_from_utc_iso

    rng = random.Random(7)
    texts = ["2016-12-31T23:59:59.999", "2017-01-01T00:00:00", "1973-01-01T00:00:00.000000001"]
    for _ in range(500):
        day = f"{rng.randint(1973, 2025):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        texts.append(f"{day}T{clock}.{rng.randint(0, 999):03d}")
    for text in texts:
        expected = tai_ns_from_time(Time(text, scale="utc", format="isot"))
        assert tai_ns_from_utc_iso(text) == expected, text


def test_a_leap_second_and_older_times_still_convert() -> None:
    from quanta.core.timespan import tai_ns_from_utc_iso

    inside = tai_ns_from_utc_iso("2016-12-31T23:59:60.500")
    assert tai_ns_from_utc_iso("2016-12-31T23:59:59.500") + 10**9 == inside
    assert tai_ns_from_utc_iso("2017-01-01T00:00:00.500") - 10**9 == inside
    assert tai_ns_from_utc_iso("1965-06-01T00:00:00") < 0
