"""Hot reads on each thread's own driver connection (``Database.fetch``): they see what
was committed, what their own transaction wrote, work from threads and forked children,
survive a connection the server dropped, and are returned when the butler closes."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from quanta.butler import Butler
from repo_data import DETECTORS, INSTRUMENT

RUN = "u/fetch"
DIMENSIONS = ("instrument", "detector", "exposure")


def _data_id(detector: int) -> dict[str, Any]:
    return {"instrument": INSTRUMENT, "detector": detector, "exposure": 1}


@pytest.fixture
def flux(butler: Butler) -> Butler:
    """The butler with one ``flux`` array per detector, each filled with its detector."""
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    for detector in DETECTORS:
        butler.put(np.full(4, float(detector)), "flux", _data_id(detector), run=RUN)
    return butler


def _value(butler: Butler, detector: int) -> float:
    return float(butler.get("flux", _data_id(detector), collections=RUN)[0])


def test_a_get_inside_a_transaction_sees_what_the_transaction_wrote(butler: Butler) -> None:
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(2), "flux", _data_id(DETECTORS[0]), run=RUN)
    assert _value(butler, DETECTORS[0]) == 0.0
    with pytest.raises(RuntimeError), butler.registry.transaction():
        butler.put(np.ones(2), "flux", _data_id(DETECTORS[1]), run=RUN)
        assert _value(butler, DETECTORS[1]) == 1.0
        raise RuntimeError("roll back")
    assert not butler.exists("flux", _data_id(DETECTORS[1]), collections=RUN)


def test_threads_read_at_once_on_their_own_connections(flux: Butler) -> None:
    detectors = list(DETECTORS) * 25
    with ThreadPoolExecutor(4) as pool:
        values = list(pool.map(lambda d: _value(flux, d), detectors))
    assert values == [float(d) for d in detectors]
    assert len(flux.registry._db._drivers) >= 2


def _read_in_child(butler: Butler, detector: int, answer: Any) -> None:
    answer.send(_value(butler, detector))
    butler.close()


def test_a_forked_child_reads_on_a_connection_of_its_own(flux: Butler) -> None:
    parent_driver = flux.registry._db._driver()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_read_in_child, args=(flux, DETECTORS[1], send))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert receive.recv() == float(DETECTORS[1])
    # The child closed its own connection, not the parent's, which still answers.
    assert _value(flux, DETECTORS[2]) == float(DETECTORS[2])
    assert flux.registry._db._driver() is parent_driver


def test_closing_the_butler_returns_the_reading_connections(flux: Butler) -> None:
    _value(flux, DETECTORS[0])
    pool = flux.registry._db.engine.pool
    assert pool.checkedout() >= 1  # type: ignore[attr-defined]
    flux.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_reading_connection_the_server_dropped_is_replaced(
    postgres_butler: Butler,
) -> None:
    butler = postgres_butler
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.full(2, 5.0), "flux", _data_id(DETECTORS[0]), run=RUN)
    assert _value(butler, DETECTORS[0]) == 5.0
    pid = butler.registry._db._driver().info.backend_pid
    with butler.registry._db.engine.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    assert _value(butler, DETECTORS[0]) == 5.0
    assert butler.registry._db._driver().info.backend_pid != pid
    assert _value(butler, DETECTORS[0]) == 5.0


def test_a_ref_found_by_data_id_equals_the_one_a_query_returns(flux: Butler) -> None:
    found = flux.find_dataset("flux", _data_id(DETECTORS[1]), collections=RUN)
    (queried,) = [r for r in flux.query_datasets("flux", RUN) if r.id == found.id]
    assert isinstance(found.id, uuid.UUID)
    assert found == queried and found.data_id == queried.data_id and found.run == RUN
