"""Round trips to PostgreSQL per put and get, counted in libpq's own trace of what the
client sends (``pg_trace``); and transactions and reads that stay right when they take
fewer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from pg_trace import round_trips
from quanta.butler import Butler
from quanta.core.errors import ConflictError
from quanta.registry.database import Database
from quanta.registry.driver_sql import Batch
from repo_data import DETECTORS, INSTRUMENT

RUN = "u/trips"
DIMENSIONS = ("instrument", "detector", "exposure")


def _data_id(detector: int, exposure: int = 1) -> dict[str, Any]:
    return {"instrument": INSTRUMENT, "detector": detector, "exposure": exposure}


@pytest.fixture
def flux(butler: Butler) -> Butler:
    """The butler with a ``flux`` dataset type and one dataset already put (caches warm)."""
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    return butler


def test_a_put_takes_two_round_trips_and_a_get_one(postgres_butler: Butler) -> None:
    butler = postgres_butler
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    # Every record the traced put needs is cached by these two, and the statements of a
    # put and a get are prepared on the server (a round trip each, once per connection).
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[1], exposure=2), run=RUN)
    butler.get("flux", _data_id(DETECTORS[0]), collections=RUN)
    db = butler.registry._db
    with round_trips(db) as put_trips:
        butler.put(np.full(3, 7.0), "flux", _data_id(DETECTORS[1]), run=RUN)
    with round_trips(db) as get_trips:
        value = butler.get("flux", _data_id(DETECTORS[1]), collections=RUN)
    # BEGIN with the dataset row; the file row with COMMIT; the get's one SELECT.
    assert put_trips[0] == 2
    assert get_trips[0] == 1
    assert value.tolist() == [7.0, 7.0, 7.0]


def test_a_put_refused_by_its_first_statement_leaves_the_connection_usable(
    flux: Butler,
) -> None:
    with pytest.raises(ConflictError, match="already exists"):
        flux.put(np.ones(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    flux.put(np.ones(3), "flux", _data_id(DETECTORS[1]), run=RUN)
    refs = flux.query_datasets("flux", RUN)
    assert sorted(r.data_id["detector"] for r in refs) == [DETECTORS[0], DETECTORS[1]]
    assert flux.get("flux", _data_id(DETECTORS[0]), collections=RUN).tolist() == [0.0] * 3
    assert flux.verify().ok


def test_a_transaction_that_fails_after_its_first_statement_keeps_nothing(flux: Butler) -> None:
    with pytest.raises(RuntimeError), flux.registry.transaction():
        flux.put(np.ones(3), "flux", _data_id(DETECTORS[1]), run=RUN)
        flux.put(np.ones(3), "flux", _data_id(DETECTORS[2]), run=RUN)
        raise RuntimeError("roll back")
    assert [r.data_id["detector"] for r in flux.query_datasets("flux", RUN)] == [DETECTORS[0]]
    flux.put(np.ones(3), "flux", _data_id(DETECTORS[2]), run=RUN)
    assert len(flux.query_datasets("flux", RUN)) == 2


def test_an_empty_transaction_commits_and_the_next_one_writes(flux: Butler) -> None:
    with flux.registry.transaction():
        pass
    flux.put(np.ones(3), "flux", _data_id(DETECTORS[1]), run=RUN)
    other = Butler(flux.root)
    try:
        assert other.get("flux", _data_id(DETECTORS[1]), collections=RUN).tolist() == [1.0] * 3
    finally:
        other.close()


def test_reads_see_what_another_butler_committed_since(flux: Butler) -> None:
    other = Butler(flux.root)
    try:
        assert len(flux.query_datasets("flux", RUN)) == 1
        other.put(np.full(3, 2.0), "flux", _data_id(DETECTORS[1]), run=RUN)
        assert len(flux.query_datasets("flux", RUN)) == 2
        assert flux.get("flux", _data_id(DETECTORS[1]), collections=RUN).tolist() == [2.0] * 3
    finally:
        other.close()


def test_a_get_by_data_id_sends_one_statement(
    flux: Butler, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    # Statements go through SQLAlchemy or, for hot reads, straight to the driver.
    direct = Database._submit

    def submit(db: Database, batch: Batch, first: bool) -> Any:
        sent.extend(sql for sql, _ in batch)
        return direct(db, batch, first)

    monkeypatch.setattr(Database, "_submit", submit)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        value = flux.get("flux", _data_id(DETECTORS[0]), collections=RUN)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    assert value.tolist() == [0.0] * 3
    assert len(sent) == 1 and sent[0].lstrip().upper().startswith("SELECT")
