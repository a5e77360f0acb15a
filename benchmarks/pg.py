"""Databases for benchmark runs: the embedded SQLite default, a throwaway PostgreSQL server
for the benchmark's lifetime (``--db postgresql``), or a URL given by the user.

The throwaway server is the test suite's ``tests/pg_server.py`` (imported, not copied),
and so is its counter of round trips (``tests/pg_trace.py``).
Every run gets an empty database: a new one on the throwaway server, or, for a given
URL, the same database with the registry's tables dropped after each run.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
THROWAWAY = "postgresql"
DB_HELP = (
    "registry database: omit for embedded SQLite; 'postgresql' starts a throwaway server; "
    "any other URL is used as given (it must be empty; tables are dropped after)"
)


def _tests_on_path() -> None:
    """Put the tests directory on ``sys.path``, for its PostgreSQL helpers."""
    if str(TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(TESTS_DIR))


def _pg_server_module() -> Any:
    """``tests/pg_server.py``, imported with the tests directory on ``sys.path``."""
    _tests_on_path()
    import pg_server

    return pg_server


class Databases:
    """Hands out one empty database per benchmark run; use as a context manager."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec
        self._server: Any = None

    @property
    def label(self) -> str:
        """``sqlite`` or ``postgresql``, for the JSON records."""
        if self.spec is None or self.spec.startswith("sqlite"):
            return "sqlite"
        return "postgresql"

    def start(self) -> None:
        """Start the throwaway server, if one was asked for."""
        if self.spec == THROWAWAY and self._server is None:
            self._server = _pg_server_module().PgServer.start()

    def stop(self) -> None:
        """Stop the throwaway server (if any) and delete its files."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Databases:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @contextmanager
    def fresh(self, prefix: str = "bench") -> Iterator[str | None]:
        """An empty database for one run: its URL, or None for the embedded SQLite file."""
        if self.spec is None:
            yield None
        elif self.spec == THROWAWAY:
            if self._server is None:
                raise RuntimeError("Databases.fresh() before Databases.start()")
            name = f"{prefix}_{uuid.uuid4().hex[:12]}"
            self._server.create_database(name)
            try:
                yield self._server.url(name)
            finally:
                self._server.drop_database(name)
        else:
            try:
                yield self.spec
            finally:
                _drop_registry_tables(self.spec)


def _drop_registry_tables(url: str) -> None:
    """Remove what a benchmark run left in a user-given database (the registry's tables)."""
    import sqlalchemy as sa

    from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe
    from quanta.registry.database import Database
    from quanta.registry.tables import build_tables

    db = Database.from_url(url)
    try:
        tables = build_tables(load_universe(DEFAULT_UNIVERSE_PATH))
        with db.engine.begin() as conn:
            if sa.inspect(conn).has_table("meta"):
                tables.metadata.drop_all(conn)
    finally:
        db.dispose()


def round_trips(db: Any) -> Any:
    """``tests/pg_trace.py``'s counter of round trips to a PostgreSQL database."""
    _tests_on_path()
    from pg_trace import round_trips as counter

    return counter(db)


def unavailable_reason(error: BaseException) -> str:
    """A one-line reason for a JSON ``skipped`` record when no server could be started."""
    first = str(error).strip().splitlines()[:1] or [type(error).__name__]
    return f"cannot start a throwaway PostgreSQL server: {first[0]}"


def start_or_skip(databases: Databases, bench: str, common: dict[str, Any]) -> bool:
    """Start the benchmark's database; False, with a ``skipped`` JSON record, if it cannot."""
    from common import emit

    try:
        databases.start()
    except Exception as err:  # the throwaway server could not start
        emit({"bench": bench, "stage": "setup", "skipped": unavailable_reason(err), **common})
        return False
    return True
