"""Long and deep expressions: generated lists of comparisons run on both databases (merged
into IN lists), NOT chains collapse, and what cannot run is refused in one line naming
the limit, never a recursion error or a database's own failure."""

from __future__ import annotations

import pytest

from quanta.butler import Butler
from quanta.core.errors import QueryError, QuerySyntaxError
from quanta.registry.query import parse_where
from quanta.registry.query.ast import InList, Not
from quanta.registry.query.parser import MAX_DEPTH
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT

RAWS = [(d, e) for d in DETECTORS for e in EXPOSURES]


@pytest.fixture
def raws(butler: Butler) -> Butler:
    from quanta.core import DataCoordinate, DatasetRef

    dt = butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.registry.register_run("raws")
    refs = [
        DatasetRef.for_output(
            dt,
            DataCoordinate.standardize(
                {"instrument": INSTRUMENT, "detector": d, "exposure": e}, dt.dimensions
            ),
            "raws",
        )
        for d, e in RAWS
    ]
    butler.registry.insert_datasets(refs)
    return butler


def found(butler: Butler, where: str) -> list[tuple[int, int]]:
    refs = butler.query_datasets("raw", ["raws"], where=where)
    return sorted((ref.data_id["detector"], ref.data_id["exposure"]) for ref in refs)


def test_thousands_of_terms_of_one_name_run(raws: Butler) -> None:
    detector = DETECTORS[0]
    ors = " OR ".join(f"exposure = {e}" for e in range(-3000, 3000))
    assert found(raws, f"detector = {detector} AND ({ors})") == [
        (d, e) for d, e in RAWS if d == detector
    ]
    ands = " AND ".join(f"exposure != {e}" for e in range(-3000, 3000) if e != EXPOSURES[0])
    assert found(raws, ands) == [(d, e) for d, e in RAWS if e == EXPOSURES[0]]


def test_too_many_other_terms_name_the_limit(raws: Butler) -> None:
    mixed = " OR ".join(f"(exposure = {e} AND detector > 0)" for e in range(1000))
    with pytest.raises(QueryError, match="1000 terms joined by OR; at most 900"):
        found(raws, mixed)


def test_not_chains_collapse() -> None:
    assert not isinstance(parse_where("NOT " * 1000 + "detector = 1"), Not)
    assert isinstance(parse_where("NOT " * 1001 + "detector = 1"), Not)
    merged = parse_where("NOT NOT (detector IN (1, 2))")
    assert isinstance(merged, InList)


def test_deep_nesting_is_refused_with_its_depth() -> None:
    deep = "(detector = 1 AND (" * 300 + "detector = 1" + "))" * 300
    with pytest.raises(QuerySyntaxError, match=f"nests 301 levels .* at most {MAX_DEPTH}"):
        parse_where(deep)
    fine = "(detector = 1 AND (" * 90 + "detector = 1" + "))" * 90
    assert parse_where(fine) is not None
