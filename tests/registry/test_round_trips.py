"""Round trips to PostgreSQL per put and get, counted in libpq's own trace of what the
client sends; and transactions and reads that stay right when they take fewer."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from quanta.butler import Butler
from quanta.core.errors import ConflictError
from quanta.registry.database import Database
from repo_data import DETECTORS, INSTRUMENT

RUN = "u/trips"
DIMENSIONS = ("instrument", "detector", "exposure")


def _data_id(detector: int, exposure: int = 1) -> dict[str, Any]:
    return {"instrument": INSTRUMENT, "detector": detector, "exposure": exposure}


@contextmanager
def round_trips(butler: Butler) -> Iterator[list[int]]:
    """Count the messages that make the server answer (``Sync`` ends an extended-protocol
    exchange, ``Query`` is a simple one) on every connection the butler checks out."""
    engine = butler.registry._db.engine
    traced: list[Any] = []
    count = [0]
    with tempfile.TemporaryFile("w+") as trace:

        def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            dbapi_conn.pgconn.trace(trace.fileno())
            traced.append(dbapi_conn.pgconn)

        sa.event.listen(engine, "checkout", on_checkout)
        try:
            yield count
        finally:
            sa.event.remove(engine, "checkout", on_checkout)
            for pgconn in traced:
                pgconn.untrace()
        trace.seek(0)
        for line in trace:
            fields = line.split("\t")
            if len(fields) > 3 and fields[1] == "F" and fields[3].strip() in ("Sync", "Query"):
                count[0] += 1


@pytest.fixture
def flux(butler: Butler) -> Butler:
    """The butler with a ``flux`` dataset type and one dataset already put (caches warm)."""
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    return butler


def test_a_put_takes_three_round_trips_and_a_get_one(postgres_butler: Butler) -> None:
    butler = postgres_butler
    butler.register_dataset_type("flux", DIMENSIONS, "NumpyArray")
    # Every record the traced put needs is cached by these two.
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[0]), run=RUN)
    butler.put(np.zeros(3), "flux", _data_id(DETECTORS[1], exposure=2), run=RUN)
    with round_trips(butler) as put_trips:
        butler.put(np.full(3, 7.0), "flux", _data_id(DETECTORS[1]), run=RUN)
    with round_trips(butler) as get_trips:
        value = butler.get("flux", _data_id(DETECTORS[1]), collections=RUN)
    # BEGIN with the dataset row, the file row, COMMIT; the get's one SELECT.
    assert put_trips[0] == 3
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
    direct = Database._fetch_on_driver

    def fetch_on_driver(db: Database, sql: str, arguments: Any) -> list[tuple[Any, ...]]:
        sent.append(sql)
        return direct(db, sql, arguments)

    monkeypatch.setattr(Database, "_fetch_on_driver", fetch_on_driver)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        value = flux.get("flux", _data_id(DETECTORS[0]), collections=RUN)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    assert value.tolist() == [0.0] * 3
    assert len(sent) == 1 and sent[0].lstrip().upper().startswith("SELECT")
