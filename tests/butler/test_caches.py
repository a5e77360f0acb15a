"""What a butler caches (dimension records, dataset types) and what it checks on every call
(runs, collections) stays right when another butler writes to the same repository; and a
single put or get sends only a handful of SQL statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from quanta.butler import Butler
from quanta.core import DatasetType
from quanta.core.errors import (
    CollectionNotFoundError,
    ConflictError,
    DatasetNotFoundError,
    RecordNotFoundError,
)
from repo_data import INSTRUMENT, NIGHT

RUN = "u/cache"
DIMENSIONS = ("instrument", "detector", "exposure")


def _data_id(exposure: int, detector: int = 0) -> dict[str, Any]:
    return {"instrument": INSTRUMENT, "detector": detector, "exposure": exposure}


def _exposure(exposure: int) -> dict[str, Any]:
    return {
        "instrument": INSTRUMENT,
        "id": exposure,
        "obs_id": f"CAM_{NIGHT}_{exposure:04d}",
        "seq_num": exposure,
        "physical_filter": f"{INSTRUMENT}-g",
        "day_obs": NIGHT,
        "observation_type": "science",
    }


@pytest.fixture
def other(butler: Butler) -> Iterator[Butler]:
    """A second butler on the same repository, standing for another process."""
    second = Butler(butler.root)
    yield second
    second.close()


@contextmanager
def counted() -> Iterator[list[int]]:
    """The SQL statements sent by any engine while the block runs."""
    count = [0]

    def tick(*_args: Any) -> None:
        count[0] += 1

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", tick)
    try:
        yield count
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", tick)


def test_a_record_another_butler_inserts_is_seen(butler: Butler, other: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    with pytest.raises(RecordNotFoundError, match="exposure"):
        butler.put(np.zeros(2), "flux", _data_id(100), run=RUN)
    other.insert_dimension_records("exposure", [_exposure(100)])
    ref = butler.put(np.ones(2), "flux", _data_id(100), run=RUN)
    assert ref.data_id.records is not None and ref.data_id.records["exposure"].id == 100
    assert butler.get("flux", _data_id(100), collections=RUN).tolist() == [1.0, 1.0]


def test_a_record_read_in_a_rolled_back_transaction_is_not_kept(butler: Butler) -> None:
    with pytest.raises(RuntimeError), butler.registry.transaction():
        butler.insert_dimension_records("exposure", [_exposure(101)])
        assert butler.registry.expand_data_id(_data_id(101), DIMENSIONS)["exposure"] == 101
        raise RuntimeError("roll back")
    with pytest.raises(RecordNotFoundError):
        butler.registry.expand_data_id(_data_id(101), DIMENSIONS)


def test_a_dataset_type_another_butler_registers_is_seen(butler: Butler, other: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(1), run=RUN)
    other.register_dataset_type("late", DIMENSIONS, "StructuredData")
    butler.put({"a": 1}, "late", _data_id(1), run=RUN)
    assert other.get("late", _data_id(1), collections=RUN) == {"a": 1}


def test_a_put_with_another_definition_of_a_dataset_type_is_refused(butler: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(1), run=RUN)
    impostor = DatasetType("flux", butler.universe.group(DIMENSIONS), "StructuredData")
    with pytest.raises(ConflictError, match="storage_class"):
        butler.put({"a": 1}, impostor, _data_id(2), run=RUN)
    assert len(butler.query_datasets("flux", RUN)) == 1
    assert butler.verify().ok


def test_a_run_removed_elsewhere_is_not_found_again(butler: Butler, other: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    ref = butler.put(np.zeros(2), "flux", _data_id(1), run=RUN)
    assert butler.get("flux", _data_id(1), collections=RUN).tolist() == [0.0, 0.0]
    other.remove_runs([RUN])
    with pytest.raises(CollectionNotFoundError):
        butler.get("flux", _data_id(1), collections=RUN)
    with pytest.raises(DatasetNotFoundError):
        butler.get(ref)
    assert butler.registry.find_collection(RUN) is None


def test_a_put_after_the_run_was_removed_elsewhere_makes_a_new_run(
    butler: Butler, other: Butler
) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(1), run=RUN)
    before = butler.registry.get_collection(RUN)
    other.remove_runs([RUN])
    butler.put(np.ones(2), "flux", _data_id(2), run=RUN)
    refs = other.query_datasets("flux", RUN)
    assert [ref.data_id["exposure"] for ref in refs] == [2]
    assert other.registry.get_collection(RUN).created_ns >= before.created_ns
    with pytest.raises(DatasetNotFoundError):
        other.get("flux", _data_id(1), collections=RUN)


def test_a_put_into_a_run_replaced_by_a_tagged_collection_fails_cleanly(
    butler: Butler, other: Butler
) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(1), run=RUN)
    other.remove_runs([RUN])
    other.associate(RUN, [])
    with pytest.raises(ConflictError, match="TAGGED"):
        butler.put(np.ones(2), "flux", _data_id(2), run=RUN)
    assert list(butler.datastore.walk_files()) == []
    assert butler.verify().ok


def test_a_second_put_of_the_same_dataset_is_a_conflict(butler: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(1), run=RUN)
    with pytest.raises(ConflictError, match="already exists"):
        butler.put(np.ones(2), "flux", _data_id(1), run=RUN)
    assert butler.get("flux", _data_id(1), collections=RUN).tolist() == [0.0, 0.0]
    assert butler.verify().ok


def test_a_put_and_a_get_by_data_id_send_few_statements(butler: Butler) -> None:
    """Once records are cached, a put is BEGIN and two INSERTs (no BEGIN statement on
    PostgreSQL) and a get by data ID one SELECT (and its BEGIN on SQLite). Not a timing
    test: a regression that brings back per-call lookups breaks these bounds."""
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    data_ids = [_data_id(e, d) for e in (9, 10) for d in range(4)]
    butler.put(np.zeros(2), "flux", data_ids[0], run=RUN)
    for data_id in data_ids:
        butler.registry.expand_data_id(data_id, DIMENSIONS)
    with counted() as puts:
        for data_id in data_ids[1:]:
            butler.put(np.zeros(2), "flux", data_id, run=RUN)
    with counted() as gets:
        for data_id in data_ids:
            butler.get("flux", data_id, collections=RUN)
    assert puts[0] <= 3 * (len(data_ids) - 1)
    assert gets[0] <= 2 * len(data_ids)
