"""Single puts, whose row and file record go in one short transaction on a thread's own
driver connection: all or nothing when any step fails, right under concurrent puts of
the same dataset, and recovering from a connection the server dropped."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from quanta.butler import Butler
from quanta.core.data_id import DataCoordinate
from quanta.core.errors import ConflictError
from quanta.core.refs import DatasetRef
from quanta.core.stored_file import StoredFile
from repo_data import DETECTORS, INSTRUMENT

RUN = "u/single"
DIMENSIONS = ("instrument", "detector", "exposure")
THREADS = 4


def _data_id(detector: int) -> dict[str, Any]:
    return {"instrument": INSTRUMENT, "detector": detector, "exposure": 5}


def _dataset_files(root: Path) -> list[Path]:
    """Every file under the datastore's run directory, temporaries included."""
    return sorted(p for p in root.rglob("*") if p.is_file() and RUN.split("/")[0] in p.parts)


@pytest.fixture
def flux(butler: Butler) -> Butler:
    """The butler with a ``flux`` type and one dataset in ``RUN`` (the run exists)."""
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    return butler


def _ref(butler: Butler, detector: int) -> DatasetRef:
    dataset_type = butler.registry.get_dataset_type("flux")
    coordinate = DataCoordinate.standardize(_data_id(detector), dataset_type.dimensions)
    return DatasetRef.for_output(dataset_type, butler.registry.expand_data_id(coordinate), RUN)


def test_a_file_record_refused_at_commit_takes_the_row_with_it(flux: Butler) -> None:
    # The record travels with the COMMIT; a NULL path breaks a NOT NULL column there.
    ref = _ref(flux, DETECTORS[1])
    bad = StoredFile(ref.id, None, "NumpyArray", "0" * 64, 1)  # type: ignore[arg-type]
    with pytest.raises(sa.exc.IntegrityError):
        flux.registry.insert_dataset(ref, lambda: lambda: bad)
    assert [r.data_id["detector"] for r in flux.query_datasets("flux", RUN)] == [DETECTORS[0]]
    # The connection is usable again, and the same dataset goes in.
    flux.put(np.full(3, 4.0), "flux", _data_id(DETECTORS[1]), run=RUN)
    assert flux.get("flux", _data_id(DETECTORS[1]), collections=RUN).tolist() == [4.0] * 3


def _interrupt() -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "stage_file",
    [_interrupt, lambda: _interrupt],
    ids=["while-the-row-travels", "once-the-row-is-in"],
)
def test_a_put_interrupted_in_its_file_step_leaves_nothing(flux: Butler, stage_file: Any) -> None:
    # Staging overlaps the row's round trip, whose answer must still be read before the
    # connection can roll back; placing comes after it.
    ref = _ref(flux, DETECTORS[1])
    before = _dataset_files(flux.root)
    with pytest.raises(KeyboardInterrupt):
        flux.registry.insert_dataset(ref, stage_file)
    assert len(flux.query_datasets("flux", RUN)) == 1
    assert _dataset_files(flux.root) == before
    flux.put(np.ones(3), "flux", _data_id(DETECTORS[1]), run=RUN)
    assert len(flux.query_datasets("flux", RUN)) == 2
    assert flux.verify().ok


def test_a_refused_put_leaves_no_staged_file(flux: Butler) -> None:
    before = _dataset_files(flux.root)
    with pytest.raises(ConflictError, match="already exists"):
        flux.put(np.ones(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    assert _dataset_files(flux.root) == before
    assert flux.get("flux", _data_id(DETECTORS[0]), collections=RUN).tolist() == [0.0] * 3


def test_concurrent_puts_of_one_dataset_keep_one_and_its_file(flux: Butler) -> None:
    start = threading.Barrier(THREADS)
    outcomes: dict[int, str] = {}

    def put(value: int) -> None:
        start.wait()
        try:
            flux.put(np.full(3, float(value)), "flux", _data_id(DETECTORS[1]), run=RUN)
            outcomes[value] = "put"
        except ConflictError:
            outcomes[value] = "conflict"

    threads = [threading.Thread(target=put, args=(value,)) for value in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    (winner,) = [value for value, outcome in outcomes.items() if outcome == "put"]
    assert sorted(outcomes) == list(range(THREADS))
    got = flux.get("flux", _data_id(DETECTORS[1]), collections=RUN)
    assert got.tolist() == [float(winner)] * 3
    assert flux.verify().ok


def test_concurrent_puts_of_different_datasets_all_land(flux: Butler) -> None:
    detectors = DETECTORS[1:]
    start = threading.Barrier(len(detectors))

    def put(detector: int) -> None:
        start.wait()
        flux.put(np.full(3, float(detector)), "flux", _data_id(detector), run=RUN)

    threads = [threading.Thread(target=put, args=(d,)) for d in detectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other = Butler(flux.root)
    try:
        for detector in DETECTORS:
            value = other.get("flux", _data_id(detector), collections=RUN)
            assert value.tolist() == [float(detector if detector != DETECTORS[0] else 0)] * 3
    finally:
        other.close()


def test_a_put_after_the_server_dropped_the_connection_goes_through(
    postgres_butler: Butler,
) -> None:
    butler = postgres_butler
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    db = butler.registry._db
    pid = db._driver().info.backend_pid
    with db.engine.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    butler.put(np.full(3, 2.0), "flux", _data_id(DETECTORS[1]), run=RUN)
    assert db._driver().info.backend_pid != pid
    assert butler.get("flux", _data_id(DETECTORS[1]), collections=RUN).tolist() == [2.0] * 3
    assert len(butler.query_datasets("flux", RUN)) == 2
