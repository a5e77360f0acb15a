"""Database connections: one code path for SQLite (embedded default) and PostgreSQL.

Dialect differences stay here, one subclass per dialect: URL normalization, SQLite
pragmas and ``BEGIN IMMEDIATE`` for write transactions, PostgreSQL reads outside a
transaction and ``BEGIN`` sent with the first statement, ``ON CONFLICT`` inserts,
statistics after bulk inserts, and a clear error when a server cannot be reached. The
hot statements of a single put and get skip SQLAlchemy's execution: ``fetch`` and
``write`` run them on a driver connection each thread keeps (see ``driver_sql``; on
PostgreSQL through libpq, see ``pg_pipeline``).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from ..core.errors import RepositoryError
from .driver_sql import (
    Batch,
    CompiledStatement,
    DriverWrite,
    HotStatement,
    JoinedWrite,
    converted,
)


def normalize_url(url: str) -> str:
    """Map ``postgresql://`` and ``postgres://`` URLs to the psycopg 3 driver."""
    return re.sub(r"^postgres(ql)?(\+psycopg2?)?://", "postgresql+psycopg://", url)


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Database:
    """An engine plus a reentrant transaction per thread: nested ``transaction()`` calls
    of one thread share one.

    Each SQL dialect is a subclass; ``Database.from_url`` picks it. What differs between
    dialects (engine options, upserts, statistics) is a method here, so that the managers
    never ask which database they talk to.
    """

    #: The SQLAlchemy dialect name, ``sqlite`` or ``postgresql``.
    dialect: ClassVar[str]

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = sa.create_engine(url, **engine_options)
        # Each thread's transaction and reading block are its own.
        self._scope = threading.local()
        self._compiled: dict[HotStatement, CompiledStatement] = {}
        self._local = threading.local()
        self._drivers: list[tuple[int, Any]] = []
        self._drivers_lock = threading.Lock()

    @property
    def _conn(self) -> sa.Connection | None:
        """This thread's connection in ``transaction()``."""
        return getattr(self._scope, "conn", None)

    @_conn.setter
    def _conn(self, conn: sa.Connection | None) -> None:
        self._scope.conn = conn

    @property
    def _reader(self) -> sa.Connection | None:
        """This thread's connection in ``connect()``."""
        return getattr(self._scope, "reader", None)

    @_reader.setter
    def _reader(self, conn: sa.Connection | None) -> None:
        self._scope.reader = conn

    @staticmethod
    def from_url(url: str) -> Database:
        """The database of a ``sqlite:///PATH`` or ``postgresql://...`` URL."""
        normalized = normalize_url(url)
        dialect = normalized.split(":", 1)[0].split("+", 1)[0]
        for cls in (SqliteDatabase, PostgresDatabase):
            if cls.dialect == dialect:
                return cls(normalized)
        raise RepositoryError(
            f"unsupported database URL {redact(url)!r}: use sqlite:///PATH or postgresql://..."
        )

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
            with self._begin(conn):
                self._conn = conn
                try:
                    yield conn
                finally:
                    self._conn = None

    def _read_outside_transactions(self, conn: sa.Connection) -> None:
        """Let a reading connection run each statement on its own, without ``BEGIN`` and
        ``ROLLBACK``: every statement sees what was committed when it started, which is
        all a transaction gives at PostgreSQL's READ COMMITTED, for no extra round trip.
        """
        raise NotImplementedError

    def _begin(self, conn: sa.Connection) -> contextlib.AbstractContextManager[Any]:
        """Begin the transaction of ``conn``, committed when the block ends without error."""
        return conn.begin()

    @contextlib.contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection for reading: the active transaction's or reader's, or a fresh one
        that nested ``connect()`` calls share."""
        active = self._conn or self._reader
        if active is not None:
            yield active
            return
        with self.engine.connect() as conn:
            self._read_outside_transactions(conn)
            self._reader = conn
            try:
                yield conn
            finally:
                self._reader = None

    def fetch(self, statement: sa.Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of ``statement``, a hot SELECT, as tuples.

        Inside a transaction or a reading block it runs there. Otherwise it runs on this
        thread's own driver connection with its SQL compiled once: executing through
        SQLAlchemy and checking a connection out of its pool cost several times what
        SQLite takes to answer, and dominate a ``get`` by data ID.
        """
        active = self._conn or self._reader
        if active is not None:
            return [tuple(row) for row in active.execute(statement, params)]
        compiled = self.compiled(statement)
        return compiled.rows(self._round_trip([(compiled.sql, compiled.arguments(params))], True))

    @contextlib.contextmanager
    def write(self) -> Iterator[DriverWrite | JoinedWrite]:
        """A short write transaction of hot statements, committed when the block ends
        without error (durable then) and rolled back otherwise.

        Inside ``transaction()`` its statements join that transaction. Otherwise they run
        on this thread's own driver connection, compiled once, the ``BEGIN`` and queued
        statements sent with the next statement that returns rows or with the ``COMMIT``.
        The block must not open another transaction: on SQLite it would wait for this one.
        """
        if self._conn is not None:
            yield JoinedWrite(self._conn)
            return
        writer = DriverWrite(self._submit, self.compiled, self._begin_sql)
        try:
            yield writer
            writer.commit()
        except BaseException:
            writer.settle()
            self._abandon()
            raise

    def compiled(self, statement: HotStatement) -> CompiledStatement:
        """``statement`` compiled for this engine's dialect, once per statement object."""
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = CompiledStatement.of(
                statement, self._driver_dialect()
            )
        return compiled

    #: What begins a write transaction on a driver connection.
    _begin_sql = "BEGIN"

    def _driver_dialect(self) -> sa.Dialect:
        """The dialect hot statements are compiled with for the driver connection."""
        return self.engine.dialect

    def _round_trip(self, batch: Batch, first: bool) -> list[Any]:
        """Send ``batch`` on this thread's driver connection and wait for the driver's rows
        of its last statement (see ``_submit``)."""
        return self._submit(batch, first)()

    def _submit(self, batch: Batch, first: bool) -> Callable[[], list[Any]]:
        """Send ``batch`` on this thread's driver connection; returns what waits for the
        driver's rows of its last statement, to be called before anything else is sent.

        Driver errors become SQLAlchemy's, raised by the wait. When ``first`` (nothing of
        this transaction was sent yet, so nothing of it can have committed) a connection
        the server dropped (a restarted server, an idle timeout) is replaced and the batch
        sent again on it.
        """
        dbapi = self.engine.dialect.loaded_dbapi
        driver = self._driver()
        try:
            wait = self._start(driver, batch)
        except dbapi.Error as err:
            wait = _raising(err)

        def answer() -> list[Any]:
            try:
                return wait()
            except dbapi.Error as err:
                if not (first and self._is_broken(driver)):
                    raise self._wrapped(batch, err) from err
            self._drop_driver()
            try:
                return self._start(self._driver(), batch)()
            except dbapi.Error as err:
                raise self._wrapped(batch, err) from err

        return answer

    def _wrapped(self, batch: Batch, err: Exception) -> sa.exc.StatementError:
        """A driver's error as SQLAlchemy's (``IntegrityError`` and so on), with the SQL
        of the batch that raised it."""
        sql = ";\n".join(sql for sql, _ in batch)
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        return sa.exc.DBAPIError.instance(sql, None, err, dbapi_error, dialect=self.engine.dialect)

    def _start(self, driver: Any, batch: Batch) -> Callable[[], list[Any]]:
        """Send the statements of ``batch``; returns what waits for the driver's rows of
        the last one. Here (SQLite, in the process) they run before this returns."""
        cursor = driver.cursor()
        try:
            for sql, arguments in batch:
                cursor.execute(sql, () if arguments is None else arguments)
            rows = list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()
        return lambda: rows

    def stream(
        self, conn: sa.Connection, statement: sa.Select[Any], size: int = 65536
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of ``statement``, a SELECT of many rows, run on ``conn``, as lists of up
        to ``size`` tuples read from the driver's cursor: SQLAlchemy's row objects take
        longer to make than SQLite takes to produce the rows."""
        dialect = self.engine.dialect
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
        result = conn.execute(statement)
        try:
            while rows := result.cursor.fetchmany(size):
                yield converted(results, rows)
        finally:
            result.close()

    def _is_broken(self, driver: Any) -> bool:
        """True if a driver connection can no longer be used."""
        return False

    def _abandon(self) -> None:
        """Roll back this thread's driver connection after a failed write, or drop it if it
        is broken."""
        driver = self._driver()
        if self._is_broken(driver):
            self._drop_driver()
            return
        try:
            driver.rollback()
        except self.engine.dialect.loaded_dbapi.Error:
            self._drop_driver()

    def _driver(self) -> Any:
        """This thread's (and process's) driver connection, opened on first use."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.fairy = self.engine.raw_connection()
            local.pid = os.getpid()
            self._read_on_driver(local.fairy.driver_connection)
            with self._drivers_lock:
                self._drivers.append((local.pid, local.fairy))
        return local.fairy.driver_connection

    def _drop_driver(self) -> None:
        """Forget this thread's driver connection after an error, closing it for good."""
        fairy = self._local.fairy
        del self._local.pid
        with self._drivers_lock:
            self._drivers.remove((os.getpid(), fairy))
        fairy.invalidate()

    def _read_on_driver(self, driver: Any) -> None:
        """Put a driver connection in the mode ``fetch`` reads in: each statement on its
        own, seeing what was committed when it started (``write`` begins its own
        transactions)."""

    def insert(self, table: sa.Table) -> Any:
        """This dialect's INSERT, which knows ``ON CONFLICT``."""
        raise NotImplementedError

    def insert_ignore(self, table: sa.Table, keys: Sequence[str]) -> Any:
        """INSERT that skips rows whose ``keys`` (a unique key) already exist."""
        return self.insert(table).on_conflict_do_nothing(index_elements=list(keys))

    def upsert(self, table: sa.Table, keys: Sequence[str]) -> Any:
        """INSERT that overwrites every other column of rows whose ``keys`` already exist."""
        statement = self.insert(table)
        update = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
        return statement.on_conflict_do_update(index_elements=list(keys), set_=update)

    def analyze(self, conn: sa.Connection, table: sa.Table) -> None:
        """Refresh the planner's statistics of a table after a bulk insert, if the dialect
        keeps any."""

    def has_table(self, conn: sa.Connection, name: str) -> bool:
        """True if the database holds a table called ``name``."""
        return sa.inspect(conn).has_table(name)

    @property
    def in_transaction(self) -> bool:
        """True inside ``transaction()``."""
        return self._conn is not None

    def dispose(self) -> None:
        """Close every pooled connection, the reading driver connections included."""
        with self._drivers_lock:
            drivers, self._drivers = self._drivers, []
        for pid, fairy in drivers:
            # A connection inherited from a parent process is the parent's to close.
            if pid == os.getpid():
                fairy.close()
        self._local = threading.local()
        self.engine.dispose()


class SqliteDatabase(Database):
    """The embedded default: WAL journal, foreign keys, writers that lock up front."""

    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        _configure_sqlite(self.engine)

    _begin_sql = "BEGIN IMMEDIATE"

    def insert(self, table: sa.Table) -> Any:
        """SQLite's INSERT."""
        return sqlite.insert(table)

    def _read_outside_transactions(self, conn: sa.Connection) -> None:
        """Skip the ``BEGIN`` the connection would send (see ``_configure_sqlite``)."""
        conn.info["reading"] = True

    def has_table(self, conn: sa.Connection, name: str) -> bool:
        """True if the database holds a table called ``name`` (one query of the schema
        table, which costs far less than SQLAlchemy's inspector here)."""
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return conn.exec_driver_sql(query, (name,)).first() is not None


class PostgresDatabase(Database):
    """A PostgreSQL server, for shared and large repositories."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url, connect_args={"connect_timeout": 10})
        self._numbered = PGDialect_psycopg(paramstyle="numeric_dollar")

    def _read_outside_transactions(self, conn: sa.Connection) -> None:
        """Read in autocommit mode: one round trip per statement instead of three."""
        conn.execution_options(isolation_level="AUTOCOMMIT")

    def _read_on_driver(self, driver: Any) -> None:
        """Autocommit: one round trip per statement."""
        driver.autocommit = True

    def _driver_dialect(self) -> sa.Dialect:
        """The engine's dialect with ``$1`` placeholders, as libpq takes them."""
        return self._numbered

    def _start(self, driver: Any, batch: Batch) -> Callable[[], list[Any]]:
        """Send ``batch`` in one round trip, each statement prepared on the server once
        (see ``pg_pipeline``); returns what waits for the rows of the last one."""
        from .pg_pipeline import PipelineSender

        sender = getattr(self._local, "sender", None)
        if sender is None or sender.driver is not driver:
            sender = self._local.sender = PipelineSender(driver)
        return sender.start(batch)

    def _is_broken(self, driver: Any) -> bool:
        """True if the server dropped the connection, it was closed, or a batch was cut
        short in pipeline mode (by Ctrl-C, say)."""
        from psycopg import pq

        return bool(
            driver.broken or driver.closed or driver.pgconn.pipeline_status != pq.PipelineStatus.OFF
        )

    @contextlib.contextmanager
    def _begin(self, conn: sa.Connection) -> Iterator[None]:
        """Begin a transaction whose ``BEGIN`` travels with its first statement.

        psycopg sends the ``BEGIN`` it issues itself on its own and waits for the answer,
        even in pipeline mode. So the driver connection is switched to autocommit (psycopg
        then issues none), our ``BEGIN`` is queued in pipeline mode, and the pipeline is
        left, both answers read, right after the first statement is sent. Commit and
        rollback follow the server's transaction status, as in any transaction. One round
        trip less per transaction (a single put takes the shorter way of ``write``).
        """
        from psycopg.pq import TransactionStatus

        driver = conn.connection.driver_connection
        if driver is None or driver.info.transaction_status != TransactionStatus.IDLE:
            with conn.begin():
                yield
            return
        pipeline = contextlib.ExitStack()
        driver.autocommit = True
        try:
            pipeline.enter_context(driver.pipeline())
            driver.execute("BEGIN")

            def leave_pipeline(*_args: Any) -> None:
                pipeline.close()  # a no-op after the first statement

            event.listen(conn, "after_cursor_execute", leave_pipeline)
            try:
                with conn.begin():
                    yield
            finally:
                event.remove(conn, "after_cursor_execute", leave_pipeline)
        finally:
            pipeline.close()
            if driver.info.transaction_status != TransactionStatus.IDLE:
                driver.rollback()
            driver.autocommit = False

    def insert(self, table: sa.Table) -> Any:
        """PostgreSQL's INSERT."""
        return postgresql.insert(table)

    def analyze(self, conn: sa.Connection, table: sa.Table) -> None:
        """Refresh the table's statistics, so that queries in the next minutes (before
        autovacuum gets to it) are not planned for an empty table."""
        conn.exec_driver_sql(f'ANALYZE "{table.name}"')


def _raising(err: BaseException) -> Callable[[], list[Any]]:
    """A wait that raises ``err``: the answer of a batch that could not be sent."""

    def wait() -> list[Any]:
        raise err

    return wait


def _configure_sqlite(engine: sa.Engine) -> None:
    """WAL journal, foreign keys, and explicit BEGIN so writers take the lock up front
    (and none for readers)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new, empty file holds nothing to lose: switching it to WAL needs no sync,
            # which would otherwise be most of the time it takes to create a repository.
            cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        # info outlives the checkout, so the flags are consumed here; a reader's
        # statements run on their own (the driver is in autocommit mode).
        immediate = conn.info.pop("immediate", False)
        if not conn.info.pop("reading", False) or immediate:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
