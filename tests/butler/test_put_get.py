"""Butler put/get on both databases: every storage class, atomic failures, exists, URIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from quanta.butler import Butler
from quanta.core.errors import (
    ConflictError,
    DataIdError,
    DatasetNotFoundError,
    DatastoreError,
    RecordNotFoundError,
)
from quanta.core.image import Image
from repo_data import INSTRUMENT

RAW = {"instrument": INSTRUMENT, "detector": 1, "exposure": 5}


def _files(root: Path) -> set[str]:
    skip = {"quanta.yaml", "dimensions.yaml"}
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name not in skip and not p.name.startswith("registry.sqlite3")
    }


def test_every_storage_class_round_trips(butler: Butler) -> None:
    dims = ["instrument", "detector", "exposure"]
    rng = np.random.default_rng(1)
    image = Image(
        rng.normal(size=(8, 6)).astype(np.float32),
        rng.integers(0, 4, size=(8, 6)).astype(np.int32),
        rng.random((8, 6)).astype(np.float32),
        {"EXPTIME": 30.0, "OBJECT": "flat"},
    )
    table = pa.table({"x": [1.0, 2.0], "name": ["a", "b"]})
    values = {
        "Image": image,
        "ArrowTable": table,
        "StructuredData": {"gain": {"C00": 1.5}, "n": 3},
        "NumpyArray": np.arange(12, dtype=np.int16).reshape(3, 4),
    }
    for storage_class, obj in values.items():
        butler.register_dataset_type(f"t{storage_class}", dims, storage_class)
        ref = butler.put(obj, f"t{storage_class}", RAW, run="run")
        got = butler.get(ref)
        if storage_class == "Image":
            np.testing.assert_array_equal(got.image, image.image)
            np.testing.assert_array_equal(got.mask, image.mask)
            np.testing.assert_array_equal(got.variance, image.variance)
            assert got.header["EXPTIME"] == 30.0 and got.header["OBJECT"] == "flat"
        elif storage_class == "ArrowTable":
            assert got.equals(table)
        elif storage_class == "NumpyArray":
            np.testing.assert_array_equal(got, obj)
            assert got.dtype == np.int16
        else:
            assert got == obj
        assert butler.exists(f"t{storage_class}", RAW, collections="run")
        assert butler.get_uri(ref).startswith("file://" + str(butler.root))


def test_failed_put_leaves_neither_file_nor_row(butler: Butler) -> None:
    butler.register_dataset_type("arr", ["instrument", "detector", "exposure"], "NumpyArray")
    with pytest.raises(DatastoreError):
        butler.put({"not": "an array"}, "arr", RAW, run="run")
    with pytest.raises(DatastoreError):
        butler.put(np.array([object()]), "arr", RAW, run="run")
    assert butler.registry.find_collection("run") is None
    assert _files(butler.root) == set()
    butler.put(np.zeros(2), "arr", RAW, run="run")
    before = _files(butler.root)
    with pytest.raises(ConflictError, match="already exists"):
        butler.put(np.ones(2), "arr", RAW, run="run")
    assert _files(butler.root) == before
    np.testing.assert_array_equal(butler.get("arr", RAW, collections="run"), np.zeros(2))


def test_put_validates_data_ids_before_naming_files(butler: Butler) -> None:
    butler.register_dataset_type("arr", ["instrument", "detector", "exposure"], "NumpyArray")
    with pytest.raises(RecordNotFoundError):
        butler.put(np.zeros(1), "arr", {**RAW, "exposure": 999}, run="run")
    with pytest.raises(DataIdError):
        butler.put(np.zeros(1), "arr", {**RAW, "instrument": "../../etc"}, run="run")
    assert _files(butler.root) == set()
    assert butler.registry.find_collection("run") is None


def test_missing_dataset_is_a_clear_error(butler: Butler) -> None:
    butler.register_dataset_type("arr", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.registry.register_run("run")
    with pytest.raises(DatasetNotFoundError, match="no arr dataset"):
        butler.get("arr", RAW, collections="run")
    assert not butler.exists("arr", RAW, collections="run")


def test_put_many_is_all_or_nothing(butler: Butler) -> None:
    butler.register_dataset_type("arr", ["instrument", "detector", "exposure"], "NumpyArray")
    items = [(np.full(2, e), {**RAW, "exposure": e}) for e in (5, 6, 7)]
    refs = butler.put_many(items, "arr", run="run")
    assert len(butler.query_datasets("arr", "run")) == 3
    bad = [(np.zeros(2), {**RAW, "exposure": 8}), (np.zeros(2), {**RAW, "exposure": 5})]
    before = _files(butler.root)
    with pytest.raises(ConflictError):
        butler.put_many(bad, "arr", run="run")
    assert _files(butler.root) == before
    assert [r.id for r in butler.query_datasets("arr", "run")] == [r.id for r in refs]


def test_a_where_on_other_dimensions_returns_each_dataset_once(butler: Butler) -> None:
    butler.register_dataset_type("summary", ["instrument", "detector"], "StructuredData")
    for detector in (0, 1):
        butler.put({"d": detector}, "summary", instrument=INSTRUMENT, detector=detector, run="r")
    # Four flats exist for every detector; the constraint must not repeat a detector's summary.
    refs = butler.query_datasets("summary", ["r"], where="exposure.observation_type = 'flat'")
    assert sorted(r.data_id["detector"] for r in refs) == [0, 1]
    assert butler.query_datasets("summary", ["r"], where="exposure.observation_type = 'dark'") == []
