"""Compiling ``where`` trees and running them against a real table on both backends."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from quanta.core.errors import QueryError
from quanta.core.timespan import Timespan
from quanta.registry.query import compile_where, parse_where
from registry.query.exposure_table import (
    ALL_IDS,
    EXPOSURE,
    OTHER,
    T0,
    ExposureDb,
    ExposureResolver,
    S,
)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            "instrument = 'SimCam' AND exposure.observation_type = 'flat' "
            "AND exposure.exposure_time > 5",
            [3],
        ),
        ("exposure.observation_type = 'flat'", [2, 3, 6]),
        ("exposure.observation_type != 'flat'", [1, 4, 5]),
        ("exposure.observation_type <> 'flat'", [1, 4, 5]),
        ("exposure.exposure_time >= 5", [2, 3, 4, 5]),
        ("5 <= exposure.exposure_time", [2, 3, 4, 5]),
        ("5 < exposure.exposure_time", [3, 4]),
        ("exposure.exposure_time <= 2.5", [1, 6]),
        ("exposure.exposure_time = 5", [2, 5]),
        ("detector < 3", [1, 2]),
        ("exposure.obs_id = 'it''s'", [6]),
        ("exposure.obs_id IN ('SC_001', 'SC_004', 'nope')", [1, 4]),
        ("exposure.note = 'b'", [2]),
        ("detector = exposure", ALL_IDS),
        ("detector < exposure.exposure_time", [2, 3, 4]),
    ],
)
def test_comparisons(exposure_db: ExposureDb, where: str, expected: list[int]) -> None:
    assert exposure_db.ids(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("exposure IN (2..4)", [2, 3, 4]),
        ("exposure IN (1..6:2)", [1, 3, 5]),
        ("exposure IN (2..6:2, 1)", [1, 2, 4, 6]),
        ("exposure IN (3..3, 5..100:10)", [3, 5]),
        ("exposure IN (4, 6)", [4, 6]),
        ("exposure NOT IN (1..4)", [5, 6]),
        ("exposure NOT IN (1..6:3, 2)", [3, 5, 6]),
    ],
)
def test_in_lists_and_ranges(exposure_db: ExposureDb, where: str, expected: list[int]) -> None:
    assert exposure_db.ids(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("NOT exposure.observation_type = 'flat' AND detector > 1", [4, 5]),
        ("NOT (exposure.observation_type = 'flat' AND detector > 1)", [1, 4, 5]),
        ("detector = 1 OR detector = 2 AND instrument = 'OtherCam'", [1]),
        ("(detector = 1 OR detector = 2) AND instrument = 'OtherCam'", []),
        ("(detector = 1 OR detector = 2) AND instrument = 'SimCam'", [1, 2]),
    ],
)
def test_boolean_logic(exposure_db: ExposureDb, where: str, expected: list[int]) -> None:
    assert exposure_db.ids(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # [300 s, 306 s) meets exposure 4 [300, 330) and exposure 5 [305, 400).
        ("exposure.timespan OVERLAPS (T'2026-03-01T00:05:00', T'2026-03-01T00:05:06')", [4, 5]),
        # Ends exactly where exposure 5 begins: half-open, so no overlap.
        ("exposure.timespan OVERLAPS (T'2026-03-01T00:05:00', T'2026-03-01T00:05:05')", [4]),
        # The instant 400 s is the end of 5 (excluded) and the begin of 6 (included).
        ("exposure.timespan OVERLAPS T'2026-03-01T00:06:40'", [6]),
        ("exposure.timespan OVERLAPS T'2026-03-01T00:00:00'", [1]),
        ("exposure.timespan.begin >= T'2026-03-01T00:05:00'", [4, 5, 6]),
        ("T'2026-03-01T00:05:00' < exposure.timespan.begin", [5, 6]),
        ("exposure.timespan.end <= T'2026-03-01T00:01:50'", [1, 2]),
        ("exposure.timespan OVERLAPS (T'2027-01-01', T'2027-01-02')", []),
    ],
)
def test_timespans(exposure_db: ExposureDb, where: str, expected: list[int]) -> None:
    assert exposure_db.ids(where) == expected


def test_timespan_overlapping_timespan(exposure_db: ExposureDb) -> None:
    clause = compile_where(
        parse_where("exposure.timespan OVERLAPS other.timespan AND exposure != other"),
        ExposureResolver(),
    )
    query = sa.select(EXPOSURE.c.id, OTHER.c.id).where(clause).order_by(EXPOSURE.c.id)
    with exposure_db.engine.connect() as conn:
        pairs = [tuple(row) for row in conn.execute(query)]
    # 5 [305, 400) and 6 [400, 500) only touch, so they do not overlap.
    assert pairs == [(4, 5), (5, 4)]


@pytest.mark.parametrize(
    ("where", "binds", "expected"),
    [
        ("exposure IN (:ids)", {"ids": [1, 3]}, [1, 3]),
        ("exposure IN (:ids, 6)", {"ids": (2, 4)}, [2, 4, 6]),
        ("exposure IN (:ids)", {"ids": {5}}, [5]),
        ("exposure IN (:ids)", {"ids": []}, []),
        ("exposure NOT IN (:ids)", {"ids": []}, ALL_IDS),
        ("exposure NOT IN (:ids)", {"ids": frozenset({1, 2, 3})}, [4, 5, 6]),
        ("exposure.obs_id = :obs", {"obs": "SC_002"}, [2]),
        ("exposure.exposure_time > :t", {"t": 5}, [3, 4]),
        ("exposure.exposure_time > :t", {"t": 4.5}, [2, 3, 4, 5]),
        ("exposure.timespan OVERLAPS :s", {"s": Timespan(T0 + 305 * S, T0 + 306 * S)}, [4, 5]),
        ("exposure.timespan OVERLAPS :s", {"s": Timespan(None, T0 + 5 * S)}, [1]),
        ("exposure.timespan OVERLAPS :s", {"s": Timespan(T0 + 450 * S, None)}, [6]),
        ("exposure.timespan OVERLAPS :s", {"s": T0 + 400 * S}, [6]),
        ("exposure.timespan.begin < :t", {"t": T0 + 100 * S}, [1]),
    ],
)
def test_binds(
    exposure_db: ExposureDb, where: str, binds: dict[str, Any], expected: list[int]
) -> None:
    assert exposure_db.ids(where, binds) == expected


def test_no_expression_selects_everything(exposure_db: ExposureDb) -> None:
    clause = compile_where(None, ExposureResolver())
    with exposure_db.engine.connect() as conn:
        ids = list(conn.scalars(sa.select(EXPOSURE.c.id).where(clause).order_by(EXPOSURE.c.id)))
    assert ids == ALL_IDS


@pytest.mark.parametrize(
    ("where", "binds", "message"),
    [
        ("detector = 'abc'", {}, "detector takes int values, not 'abc' (at column 12)"),
        ("detector = '5'", {}, "detector takes int values, not '5'"),
        ("detector = 5.0", {}, "detector takes int values, not 5.0"),
        ("detector = TRUE", {}, "detector takes int values, not True"),
        ("exposure.obs_id = 5", {}, "exposure.obs_id takes string values, not 5"),
        ("exposure.exposure_time = 'x'", {}, "takes float values, not 'x'"),
        ("exposure.obs_id < T'2026-03-01'", {}, "string values, not a time literal"),
        ("instrument IN ('a', 3)", {}, "instrument takes string values, not 3 (at column 21)"),
        ("exposure.obs_id IN (1..3)", {}, "range 1..3 on exposure.obs_id, which is string"),
        ("exposure.exposure_time IN (1..3)", {}, "which is float"),
        ("exposure.obs_id OVERLAPS T'2026-03-01'", {}, "OVERLAPS needs a timespan"),
        ("exposure.timespan OVERLAPS exposure.obs_id", {}, "not exposure.obs_id (at column 28)"),
        ("exposure.timespan = 5", {}, "cannot compare timespan exposure.timespan with '='"),
        ("5 < exposure.timespan", {}, "cannot compare timespan"),
        ("exposure.timespan IN (1)", {}, "cannot use IN with timespan"),
        ("exposure.timespan.middle < 5", {}, "only X.timespan.begin and X.timespan.end"),
        ("exposure.obs_id.begin < 5", {}, "only X.timespan.begin and X.timespan.end"),
        ("exposure.obs_id = exposure.exposure_time", {}, "cannot compare exposure.obs_id"),
        ("1 = 1", {}, "comparison of two values"),
        ("'1' = '1'", {}, "comparison of two values"),
        (":a = :b", {"a": 1, "b": 1}, "comparison of two values"),
        ("detector = :nope", {"b": 1, "a": 2}, "unknown bind :nope; supplied: :a, :b"),
        ("detector = :nope", {}, "supplied: none"),
        ("detector = :d", {"d": "3"}, "not bind :d = '3' (at column 12)"),
        ("detector = :d", {"d": None}, "not bind :d = None"),
        ("detector = :d", {"d": {"x": 1}}, "not bind :d = {'x': 1}"),
        ("detector = :d", {"d": [1, 2]}, "bind :d holds several values; use IN"),
        ("exposure IN (:ids)", {"ids": [1, "2"]}, "not bind :ids = '2'"),
        ("exposure.timespan OVERLAPS :s", {"s": "2026"}, "neither a Timespan nor"),
        ("exposure.timespan OVERLAPS :s", {"s": True}, "neither a Timespan nor"),
        ("nosuch = 1", {}, "unknown name 'nosuch'; valid names: exposure, other"),
    ],
)
def test_compile_errors(where: str, binds: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError) as info:
        compile_where(parse_where(where), ExposureResolver(), binds)
    assert message in str(info.value)
