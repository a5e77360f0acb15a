"""Datasets on both databases: bulk registration, deterministic IDs, queries with where."""

from __future__ import annotations

import pytest

from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef, DatasetType
from quanta.core.errors import ConflictError, DatasetNotFoundError, QueryError, QuerySyntaxError
from quanta.core.ids import raw_dataset_id
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT


def _register_raws(butler: Butler, run: str = "raws") -> tuple[DatasetType, list[DatasetRef]]:
    dt = butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.registry.register_run(run)
    refs = [
        DatasetRef.for_output(
            dt,
            DataCoordinate.standardize(
                {"instrument": INSTRUMENT, "detector": d, "exposure": e}, dt.dimensions
            ),
            run,
        )
        for d in DETECTORS
        for e in EXPOSURES
    ]
    assert butler.registry.insert_datasets(refs) == len(refs)
    return dt, refs


def test_registration_is_idempotent_and_ids_are_deterministic(butler: Butler) -> None:
    dt, refs = _register_raws(butler)
    assert butler.registry.insert_datasets(refs) == 0
    again = DatasetRef.for_output(dt, refs[0].data_id, "raws")
    assert again.id == refs[0].id
    assert DatasetRef.for_output(dt, refs[0].data_id, "other").id != refs[0].id
    assert raw_dataset_id("Cam", "X_1", 0) == raw_dataset_id("Cam", "X_1", 0)
    clash = DatasetRef(raw_dataset_id("Cam", "X_1", 0), dt, refs[0].data_id, "raws")
    with pytest.raises(ConflictError, match="already exists in run 'raws'"):
        butler.registry.insert_datasets([clash])
    assert len(butler.query_datasets("raw", "raws")) == len(refs)


def test_query_datasets_with_where_binds_and_data_id(butler: Butler) -> None:
    _register_raws(butler)
    flats = butler.query_datasets("raw", "raws", where="exposure.observation_type = 'flat'")
    assert {r.data_id["exposure"] for r in flats} == {5, 6, 7, 8}
    assert len(flats) == 16
    long = butler.query_datasets(
        "raw",
        "raws",
        where="exposure.exposure_time > :t AND detector IN (0..1)",
        binds={"t": 1.5},
    )
    assert {(r.data_id["detector"], r.data_id["exposure"]) for r in long} == {
        (d, e) for d in (0, 1) for e in (7, 8, 9, 10, 11, 12)
    }
    by_band = butler.query_datasets("raw", "raws", where="band = 'r' AND detector = 2")
    assert {r.data_id["exposure"] for r in by_band} == {e for e in EXPOSURES if e % 3 == 1}
    one = butler.query_datasets("raw", "raws", data_id={"exposure": 3, "instrument": INSTRUMENT})
    assert sorted(r.data_id["detector"] for r in one) == list(DETECTORS)
    timed = butler.query_datasets(
        "raw",
        "raws",
        where="exposure.timespan OVERLAPS T'2025-01-01T20:01:10' AND detector = 0",
    )
    assert [r.data_id["exposure"] for r in timed] == [2]


def test_query_data_ids_constrained_by_datasets(butler: Butler) -> None:
    _register_raws(butler)
    all_exposures = butler.query_data_ids(["exposure"])
    assert [d["exposure"] for d in all_exposures] == list(EXPOSURES)
    science = butler.query_data_ids(
        ["detector", "exposure"],
        datasets=["raw"],
        collections="raws",
        where="exposure.observation_type = 'science' AND detector = 3",
    )
    assert [(d["detector"], d["exposure"]) for d in science] == [(3, e) for e in (9, 10, 11, 12)]
    filters = butler.query_data_ids(["physical_filter"], where="band = 'i'")
    assert [d["physical_filter"] for d in filters] == ["Cam-i"]


def test_bad_queries_explain_themselves(butler: Butler) -> None:
    _register_raws(butler)
    with pytest.raises(QueryError, match="valid fields of exposure: id"):
        butler.query_datasets("raw", "raws", where="exposure.exptime > 1")
    with pytest.raises(QueryError, match="valid dimensions"):
        butler.query_datasets("raw", "raws", where="visitor = 1")
    with pytest.raises(QuerySyntaxError, match="column"):
        butler.query_datasets("raw", "raws", where="detector = = 1")
    with pytest.raises(QueryError, match="unknown bind"):
        butler.query_datasets("raw", "raws", where="detector = :d")


def test_get_refs_by_id(butler: Butler) -> None:
    _, refs = _register_raws(butler)
    got = butler.registry.get_refs([refs[3].id, refs[0].id])
    assert got == [refs[3], refs[0]]
    with pytest.raises(DatasetNotFoundError):
        butler.registry.get_refs([raw_dataset_id("x", "y", 0)])


@pytest.mark.parametrize(
    "where",
    [
        "exposure.obs_id = 'x''; DROP TABLE dataset; --'",
        "exposure.obs_id = '' OR '1'='1'",
        "exposure.obs_id = 'a' /* comment */",
        "exposure = 1; DELETE FROM dataset",
    ],
)
def test_hostile_where_cannot_change_the_sql(butler: Butler, where: str) -> None:
    _, refs = _register_raws(butler)
    try:
        result = butler.query_datasets("raw", "raws", where=where)
    except (QueryError, QuerySyntaxError):
        result = []
    assert result == []
    assert len(butler.query_datasets("raw", "raws")) == len(refs)


def test_hostile_bind_values_are_plain_values(butler: Butler) -> None:
    _, refs = _register_raws(butler)
    for value in ["'; DROP TABLE dataset; --", "x' OR '1'='1", "/* */ --"]:
        result = butler.query_datasets(
            "raw", "raws", where="exposure.obs_id = :v", binds={"v": value}
        )
        assert result == []
    assert len(butler.query_datasets("raw", "raws")) == len(refs)


def test_one_insert_may_mix_dataset_types(butler: Butler) -> None:
    _, refs = _register_raws(butler)
    other = butler.register_dataset_type("bias", ["instrument", "detector"], "NumpyArray")
    mixed = [
        refs[0],
        DatasetRef.for_output(
            other,
            DataCoordinate.standardize({"instrument": INSTRUMENT, "detector": 1}, other.dimensions),
            "raws",
        ),
    ]
    assert butler.registry.insert_datasets(mixed) == 1
    assert len(butler.query_datasets("bias", "raws")) == 1
