"""``query_dataset_columns``, the graph builder's bulk form of ``query_datasets``: on both
databases it finds the same datasets, in the same order, with the same IDs, runs, data ID
values and free-form keys, find-first across a chain whose runs overlap."""

from __future__ import annotations

from typing import Any

import pytest

from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef
from quanta.core.dataset_columns import DatasetColumns
from repo_data import DETECTORS, INSTRUMENT


def _columns_as_refs(found: DatasetColumns) -> list[tuple[Any, ...]]:
    return [
        (
            bytes(found.ids[i * 16 : i * 16 + 16]),
            found.run_names[found.run_ids[i]],
            found.values[i],
            found.extras[i] if found.extras is not None else (),
        )
        for i in range(len(found))
    ]


def _refs(refs: list[DatasetRef]) -> list[tuple[Any, ...]]:
    return [(r.id.bytes, r.run, r.data_id.required_values, r.data_id._extras) for r in refs]


@pytest.fixture
def chained(butler: Butler) -> Butler:
    """``flat`` per detector in run ``old``, all but the first again in run ``new``, and a
    chain ``both`` = [new, old]."""
    dt = butler.register_dataset_type("flat", ["instrument", "detector"], "NumpyArray")
    for run, detectors in (("old", DETECTORS), ("new", DETECTORS[1:])):
        butler.registry.register_run(run)
        butler.registry.insert_datasets(
            [
                DatasetRef.for_output(
                    dt,
                    DataCoordinate.standardize(
                        {"instrument": INSTRUMENT, "detector": d}, dt.dimensions
                    ),
                    run,
                )
                for d in detectors
            ]
        )
    butler.set_collection_chain("both", ["new", "old"])
    return butler


def test_columns_are_the_find_first_refs_of_a_chain(chained: Butler) -> None:
    found = chained.registry.query_dataset_columns("flat", ["both"])
    refs = chained.query_datasets("flat", ["both"])
    assert _columns_as_refs(found) == _refs(refs)
    assert len(found) == len(DETECTORS)
    runs = {
        values: found.run_names[run]
        for values, run in zip(found.values, found.run_ids, strict=True)
    }
    assert runs[(INSTRUMENT, DETECTORS[0])] == "old"
    assert runs[(INSTRUMENT, DETECTORS[1])] == "new"
    assert found.extras is None


def test_columns_keep_a_where_and_free_form_keys(butler: Butler) -> None:
    dt = butler.register_dataset_type("cpPair", ["instrument", "detector"], "NumpyArray")
    butler.registry.register_run("pairs")
    base = DataCoordinate.standardize({"instrument": INSTRUMENT, "detector": 1}, dt.dimensions)
    refs = [DatasetRef.for_output(dt, base, "pairs")]
    refs += [DatasetRef.for_output(dt, base.with_extras({"pair": p}), "pairs") for p in "ab"]
    butler.registry.insert_datasets(refs)
    found = butler.registry.query_dataset_columns("cpPair", ["pairs"])
    assert _columns_as_refs(found) == _refs(butler.query_datasets("cpPair", ["pairs"]))
    assert sorted(found.extras or []) == [(), (("pair", "a"),), (("pair", "b"),)]
    only = butler.registry.query_dataset_columns("cpPair", ["pairs"], where="pair = 'b'")
    assert only.extras == [(("pair", "b"),)]
    assert bytes(only.ids) == refs[2].id.bytes
