"""Numbers a 64-bit column cannot hold are refused in one line, in literals, ranges, time
literals and binds, before any SQL runs; the largest that fit still work."""

from __future__ import annotations

import pytest

from quanta.core.errors import QueryError, QuerySyntaxError
from quanta.registry.query import compile_where, parse_where
from registry.query.exposure_table import ExposureDb, ExposureResolver

BIG = 2**63


@pytest.mark.parametrize(
    ("where", "message", "column"),
    [
        ("detector = -99999999999999999999999999999", "integer -999", 12),
        (f"detector = {BIG}", f"integer {BIG} is outside the 64-bit range", 12),
        (f"detector IN (1..{BIG})", f"integer {BIG} is outside", 17),
        ("exposure.timespan OVERLAPS T'9999-01-01T00:00:00'", "years 1677 to 2262", 28),
        ("exposure.timespan OVERLAPS T'1500-01-01T00:00:00'", "outside the range", 28),
    ],
)
def test_literals_beyond_64_bits(where: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_where(where)
    assert message in str(info.value) and info.value.column == column


@pytest.mark.parametrize("value", [BIG, -BIG - 1, [1, BIG]])
def test_binds_beyond_64_bits(value: object) -> None:
    with pytest.raises(QueryError, match="outside the 64-bit integer range"):
        compile_where(parse_where("exposure IN (:v)"), ExposureResolver(), {"v": value})


def test_the_64_bit_limits_themselves_work(exposure_db: ExposureDb) -> None:
    span = "exposure.timespan.begin"
    assert exposure_db.ids(f"{span} < {BIG - 1} AND {span} > {-BIG}", {}) != []
    assert exposure_db.ids(f"{span} = :v", {"v": BIG - 1}) == []
