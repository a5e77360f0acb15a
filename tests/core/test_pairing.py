"""The flat-pair rule: consecutive equal exposure times within a night, the rest reported."""

from __future__ import annotations

import pytest

from quanta.core.pairing import Flat, flat_pairs, pair_name


def night(day_obs: int, first: int, times: list[float]) -> list[Flat]:
    return [Flat(first + i, day_obs, t) for i, t in enumerate(times)]


def test_consecutive_equal_times_pair_up_in_order() -> None:
    result = flat_pairs(night(20240101, 10, [1.0, 1.0, 2.0, 2.0004, 5.0, 5.0]))
    assert result.pairs == [(10, 11), (12, 13), (14, 15)]
    assert result.left_out == []
    assert pair_name(*result.pairs[0]) == "10+11"


def test_a_third_match_is_left_out_and_reported() -> None:
    result = flat_pairs(night(20240101, 1, [3.0, 3.0, 3.0, 7.0, 7.0]))
    assert result.pairs == [(1, 2), (4, 5)]
    assert [o.exposure for o in result.left_out] == [3]
    assert result.left_out[0].reason == "third flat of exposure time 3 s after the pair 1+2"


def test_times_beyond_the_tolerance_do_not_pair() -> None:
    flats = night(20240101, 1, [1.0, 1.006, 1.006])
    strict = flat_pairs(flats)
    assert strict.pairs == [(2, 3)]
    assert strict.left_out[0].reason == (
        "no neighbouring flat of day_obs 20240101 with exposure time 1 s (within 0.005 s)"
    )
    assert flat_pairs(flats, tolerance=0.01).pairs == [(1, 2)]


def test_pairs_never_cross_nights_and_input_order_does_not_matter() -> None:
    flats = night(20240102, 5, [2.0]) + night(20240101, 3, [4.0, 2.0])
    result = flat_pairs(reversed(flats))
    assert result.pairs == []
    assert [o.exposure for o in result.left_out] == [3, 4, 5]
    assert "day_obs 20240101 with exposure time 2 s" in result.left_out[1].reason


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        flat_pairs([], tolerance=-1.0)
