"""Round trips to PostgreSQL, counted in libpq's own trace of what the client sends; shared
by the tests and ``benchmarks/bench_w1.py``."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from quanta.registry.database import Database


@contextmanager
def round_trips(db: Database) -> Iterator[list[int]]:
    """Count the messages that make the server answer (``Sync`` ends an extended-protocol
    exchange, ``Query`` is a simple one) on the driver connections ``db`` holds and on
    every connection it checks out while the block runs (``[n]`` once it has ended)."""
    traced: list[Any] = []
    count = [0]
    with tempfile.TemporaryFile("w+") as trace:

        def follow(dbapi_conn: Any, *_args: Any) -> None:
            dbapi_conn.pgconn.trace(trace.fileno())
            traced.append(dbapi_conn.pgconn)

        for _pid, fairy in list(db._drivers):
            follow(fairy.driver_connection)
        sa.event.listen(db.engine, "checkout", follow)
        try:
            yield count
        finally:
            sa.event.remove(db.engine, "checkout", follow)
            for pgconn in traced:
                pgconn.untrace()
        trace.seek(0)
        for line in trace:
            fields = line.split("\t")
            if len(fields) > 3 and fields[1] == "F" and fields[3].strip() in ("Sync", "Query"):
                count[0] += 1
