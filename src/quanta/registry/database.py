"""Database connections: one code path for SQLite (embedded default) and PostgreSQL.

Dialect differences stay here: URL normalization, SQLite pragmas and
``BEGIN IMMEDIATE`` for write transactions, statistics after bulk inserts, and a
clear error when a server cannot be reached.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from ..core.errors import RepositoryError


def normalize_url(url: str) -> str:
    """Map ``postgresql://`` and ``postgres://`` URLs to the psycopg 3 driver."""
    return re.sub(r"^postgres(ql)?(\+psycopg2?)?://", "postgresql+psycopg://", url)


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Database:
    """An engine plus a reentrant transaction: nested ``transaction()`` calls share one."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.dialect = self.url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect not in ("sqlite", "postgresql"):
            raise RepositoryError(
                f"unsupported database URL {redact(url)!r}: use sqlite:///PATH or postgresql://..."
            )
        kwargs: dict[str, Any] = {}
        if self.dialect == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 10}
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._conn: sa.Connection | None = None
        self._reader: sa.Connection | None = None

    def check_reachable(self) -> None:
        """Open and close one connection, turning failures into a one-line error."""
        try:
            with self.engine.connect():
                pass
        except sa.exc.OperationalError as err:
            reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
            raise RepositoryError(f"cannot connect to {redact(self.url)}: {reason}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A write transaction; inner calls join the outer one and commit with it."""
        if self._conn is not None:
            yield self._conn
            return
        with self.engine.connect() as conn:
            conn.info["immediate"] = True
            with conn.begin():
                self._conn = conn
                try:
                    yield conn
                finally:
                    self._conn = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection for reading: the active transaction's or reader's, or a fresh one
        that nested ``connect()`` calls share."""
        active = self._conn or self._reader
        if active is not None:
            yield active
            return
        with self.engine.connect() as conn:
            self._reader = conn
            try:
                yield conn
            finally:
                self._reader = None

    def analyze(self, conn: sa.Connection, table: sa.Table) -> None:
        """Refresh PostgreSQL's statistics of a table after a bulk insert, so that queries
        in the next minutes (before autovacuum gets to it) are not planned for an empty
        table; SQLite plans without statistics and needs nothing."""
        if self.dialect == "postgresql":
            conn.exec_driver_sql(f'ANALYZE "{table.name}"')

    @property
    def in_transaction(self) -> bool:
        """True inside ``transaction()``."""
        return self._conn is not None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _configure_sqlite(engine: sa.Engine) -> None:
    """WAL journal, foreign keys, and explicit BEGIN so writers take the lock up front."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        # info outlives the checkout, so the flag is consumed here.
        immediate = conn.info.pop("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
