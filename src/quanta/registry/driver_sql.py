"""Hot statements compiled once and run straight on a DB-API connection, and the short
write transactions of single puts built from them.

Executing through SQLAlchemy and checking a connection out of its pool cost several
times what SQLite takes to answer one indexed statement, and on PostgreSQL each
``BEGIN`` and ``COMMIT`` is a round trip of its own. A ``DriverWrite`` queues the
``BEGIN`` and the statements whose results nobody waits for, and sends them with the next
statement that returns rows or with the ``COMMIT``: a put is two round trips, and the
first overlaps the writing of its file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

#: The statements this module runs: a SELECT, or an INSERT with or without RETURNING.
HotStatement = sa.Select[Any] | sa.Insert
#: Statements of one round trip: SQL and the driver's arguments (None: no parameters).
Batch = list[tuple[str, Any]]
#: Sends a batch in one round trip (the first of its transaction, or not) and returns what
#: waits for the driver's rows of its last statement.
Sender = Callable[[Batch, bool], Callable[[], list[Any]]]
#: Waits for a statement's rows (and raises its error).
Rows = Callable[[], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class CompiledStatement:
    """A statement's SQL for one dialect: bind names in order (None: passed by name), the
    values bound in the statement itself, and the dialect's conversions of bound values
    and result columns (e.g. a UUID held as text by SQLite)."""

    sql: str
    order: tuple[str, ...] | None
    defaults: Mapping[str, Any]
    binds: Mapping[str, Callable[[Any], Any]]
    results: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: HotStatement, dialect: sa.Dialect) -> CompiledStatement:
        """``statement`` (a SELECT, or DML with or without RETURNING) compiled for
        ``dialect``, with its type conversions."""
        compiled = statement.compile(dialect=dialect)
        order = None if compiled.positiontup is None else tuple(compiled.positiontup)
        defaults = dict(compiled.params)
        binds = {}
        for name in defaults:
            convert = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                binds[name] = convert
        columns = getattr(statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        return cls(compiled.string, order, defaults, binds, results)

    def arguments(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``params``: a tuple in order, or a mapping."""
        merged = {**self.defaults, **params}
        for name, convert in self.binds.items():
            merged[name] = convert(merged[name])
        return merged if self.order is None else tuple(merged[name] for name in self.order)

    def rows(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The driver's rows with each column converted as the dialect would."""
        return converted(self.results, rows)


def converted(
    results: Sequence[Callable[[Any], Any] | None], rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """A driver's rows as tuples, each column converted by its dialect's result
    processor (None: as it is)."""
    if not any(results):
        return [tuple(row) for row in rows]
    pairs = [zip(results, row, strict=True) for row in rows]
    return [tuple(v if f is None or v is None else f(v) for f, v in pair) for pair in pairs]


class DriverWrite:
    """One write transaction on a driver connection, its ``BEGIN`` and queued statements
    sent together with the next statement that returns rows, or with the ``COMMIT``."""

    def __init__(
        self, send: Sender, compile: Callable[[HotStatement], CompiledStatement], begin: str
    ) -> None:
        self._send = send
        self._compile = compile
        self._queued: Batch = [(begin, None)]
        self._sent = False
        self._pending: Rows | None = None

    def submit(self, statement: HotStatement, params: Mapping[str, Any]) -> Rows:
        """Send ``statement`` after whatever is queued, without waiting: returns what waits
        for its rows, to be called before anything else of this write is sent. Work done
        in between (writing a file) overlaps the round trip."""
        compiled = self._compile(statement)
        wait = self._flush((compiled.sql, compiled.arguments(params)))

        def rows() -> list[tuple[Any, ...]]:
            self._pending = None
            return compiled.rows(wait())

        self._pending = rows
        return rows

    def execute(self, statement: HotStatement, params: Mapping[str, Any]) -> list[tuple]:
        """Run ``statement`` now, after whatever is queued; its rows."""
        return self.submit(statement, params)()

    def queue(self, statement: HotStatement, params: Mapping[str, Any]) -> None:
        """Run ``statement`` with the next round trip; an error it raises surfaces then."""
        compiled = self._compile(statement)
        self._queued.append((compiled.sql, compiled.arguments(params)))

    def commit(self) -> None:
        """Send what is queued and ``COMMIT``; durable when this returns."""
        self._flush(("COMMIT", None), commits=True)()

    def settle(self) -> None:
        """Read the answer of a submitted statement nobody waited for (an error came in
        between), so that the connection can roll back; its own error goes with it."""
        if self._pending is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._pending()

    def _flush(self, last: tuple[str, Any], commits: bool = False) -> Callable[[], list[Any]]:
        """Send the queue and ``last`` in one round trip; ``commits`` when it ends the
        transaction (so it is never sent twice, even as the first)."""
        if self._pending is not None:
            raise RuntimeError("the rows of a submitted statement were not read")
        batch, self._queued = [*self._queued, last], []
        first, self._sent = not self._sent and not commits, True
        return self._send(batch, first)


class JoinedWrite:
    """The statements of a write run inside a transaction that is already open (they commit
    with it), through SQLAlchemy."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def submit(self, statement: HotStatement, params: Mapping[str, Any]) -> Rows:
        """Run ``statement`` now; returns its rows' getter (as ``DriverWrite.submit``)."""
        rows = self.execute(statement, params)
        return lambda: rows

    def execute(self, statement: HotStatement, params: Mapping[str, Any]) -> list[tuple]:
        """Run ``statement`` now; its rows."""
        result = self._conn.execute(statement, params)
        return [tuple(row) for row in result] if result.returns_rows else []

    def queue(self, statement: HotStatement, params: Mapping[str, Any]) -> None:
        """Run ``statement`` now (the transaction commits when its owner says so)."""
        self._conn.execute(statement, params)
