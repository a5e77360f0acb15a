"""Collections on both databases: types, chains, cycles, tags and removal."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.butler import Butler
from quanta.core.collections import CollectionType
from quanta.core.errors import (
    CollectionNotFoundError,
    CollectionTypeError,
    ConfigError,
    ConflictError,
)
from repo_data import INSTRUMENT


def _put_raws(butler: Butler, run: str, value: float) -> list:
    butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    return [
        butler.put(np.full(2, value), "raw", instrument=INSTRUMENT, detector=d, exposure=e, run=run)
        for d in (0, 1)
        for e in (5, 6)
    ]


def test_chain_search_order_finds_first(butler: Butler) -> None:
    _put_raws(butler, "a", 1.0)
    _put_raws(butler, "b", 2.0)
    butler.set_collection_chain("ab", ["a", "b"])
    butler.set_collection_chain("ba", ["b", "a"])
    data_id = {"instrument": INSTRUMENT, "detector": 0, "exposure": 5}
    assert butler.get("raw", data_id, collections="ab")[0] == 1.0
    assert butler.get("raw", data_id, collections="ba")[0] == 2.0
    assert len(butler.query_datasets("raw", "ab")) == 4
    assert len(butler.query_datasets("raw", "ab", find_first=False)) == 8
    assert butler.get_collection_chain("ab") == ["a", "b"]


def test_chain_cycles_and_wrong_types_are_refused(butler: Butler) -> None:
    butler.registry.register_run("r")
    butler.set_collection_chain("outer", ["r"])
    butler.set_collection_chain("inner", ["outer"])
    with pytest.raises(ConflictError, match="cycle"):
        butler.set_collection_chain("outer", ["inner"])
    with pytest.raises(ConflictError, match="already exists as RUN"):
        butler.registry.register_collection("r", CollectionType.TAGGED)
    with pytest.raises(CollectionTypeError):
        butler.registry.get_collection_chain("r")
    with pytest.raises(CollectionNotFoundError):
        butler.set_collection_chain("outer", ["missing"])
    with pytest.raises(ConfigError, match="invalid collection name"):
        butler.registry.register_run("../escape")


def test_tagged_collection_holds_hand_picked_datasets(butler: Butler) -> None:
    refs = _put_raws(butler, "a", 1.0)
    butler.registry.register_collection("picked", CollectionType.TAGGED)
    butler.registry.associate("picked", refs[:2])
    butler.registry.associate("picked", refs[:2])
    assert {r.id for r in butler.query_datasets("raw", "picked")} == {r.id for r in refs[:2]}
    other = _put_raws(butler, "b", 2.0)
    with pytest.raises(ConflictError, match="same dataset type and data ID"):
        butler.registry.associate("picked", other[:1])
    butler.registry.disassociate("picked", refs[:1])
    assert [r.id for r in butler.query_datasets("raw", "picked")] == [refs[1].id]


def test_remove_runs_unlinks_chains_and_deletes_files(butler: Butler) -> None:
    refs = _put_raws(butler, "a", 1.0)
    _put_raws(butler, "b", 2.0)
    butler.set_collection_chain("ab", ["a", "b"])
    paths = [butler.datastore.path(butler._stored(r)) for r in refs]
    assert all(p.exists() for p in paths)
    assert butler.remove_runs(["a"]).files_deleted == 4
    assert not any(p.exists() for p in paths)
    assert butler.get_collection_chain("ab") == ["b"]
    assert [r.run for r in butler.query_datasets("raw", "ab")] == ["b"] * 4
    with pytest.raises(CollectionNotFoundError):
        butler.query_datasets("raw", "a")


def test_query_collections_by_pattern_and_type(butler: Butler) -> None:
    butler.registry.register_run("x/run1")
    butler.registry.register_run("x/run2")
    butler.registry.register_collection("x/tags", CollectionType.TAGGED)
    names = [c.name for c in butler.registry.query_collections("x/*")]
    assert names == ["x/run1", "x/run2", "x/tags"]
    runs = butler.registry.query_collections("x/*", [CollectionType.RUN])
    assert [c.name for c in runs] == ["x/run1", "x/run2"]
