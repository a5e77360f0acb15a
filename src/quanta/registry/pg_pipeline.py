"""Batches of statements sent to PostgreSQL in one round trip, through libpq's pipeline mode
(a batch of one statement is sent on its own, which costs less).

psycopg's cursors and its own pipeline cost far more than the round trip itself when a
statement takes the server a tenth of a millisecond: a pipelined ``BEGIN`` and
``INSERT`` took 0.6 ms where the round trip takes 0.1. So the hot statements go through
psycopg's low-level layer: ``psycopg.pq`` (libpq) sends them, each prepared on the
server once per connection, and a ``Transformer`` turns Python values into text
parameters and result columns back into Python values, as psycopg's cursors do. The
wait for the answer is a ``select`` on the socket, which lets other threads run and
Ctrl-C through.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

from .driver_sql import Batch

_STATEMENT_NAME = "quanta_{}"


class PipelineSender:
    """Sends batches on one psycopg connection in autocommit mode, left out of pipeline
    mode between batches (so psycopg's own ``rollback`` and cursors still work)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self._pgconn: pq.abc.PGconn = driver.pgconn
        self._transformer = Transformer(driver)
        self._prepared: dict[str, bytes] = {}
        self._encoding = driver.info.encoding

    def start(self, batch: Batch) -> Callable[[], list[tuple[Any, ...]]]:
        """Send the statements of ``batch`` in one round trip (plus one the first time a
        statement is seen on this connection, to prepare it); returns what waits for the
        answer, to be called before anything else is sent on this connection, and gives
        the rows of the last statement or raises the first error the server reported."""
        names = [None if arguments is None else self._prepare(sql) for sql, arguments in batch]
        pgconn = self._pgconn
        piped = len(batch) > 1
        if piped:
            pgconn.enter_pipeline_mode()
        for (sql, arguments), name in zip(batch, names, strict=True):
            if name is None:
                pgconn.send_query_params(sql.encode(self._encoding), None)
            else:
                formats = [PyFormat.TEXT] * len(arguments)
                pgconn.send_query_prepared(
                    name, self._transformer.dump_sequence(arguments, formats)
                )
        if piped:
            pgconn.pipeline_sync()
        while pgconn.flush():
            select.select([pgconn.socket], [pgconn.socket], [])
            pgconn.consume_input()
        return lambda: self._finish(piped)

    def _finish(self, piped: bool) -> list[tuple[Any, ...]]:
        """Wait for the answers of the batch sent, leave pipeline mode, raise the first
        error, and return the rows of the last statement."""
        results = self._answers(piped)
        if piped:
            self._pgconn.exit_pipeline_mode()
        for result in results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(result, encoding=self._encoding)
        last = results[-1]
        if last.status != pq.ExecStatus.TUPLES_OK:
            return []
        self._transformer.set_pgresult(last)
        return self._transformer.load_rows(0, last.ntuples, tuple)

    def _prepare(self, sql: str) -> bytes:
        """The name of ``sql`` prepared on this connection, preparing it the first time."""
        name = self._prepared.get(sql)
        if name is None:
            name = _STATEMENT_NAME.format(len(self._prepared)).encode()
            result = self._pgconn.prepare(name, sql.encode(self._encoding))
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise errors.error_from_result(result, encoding=self._encoding)
            self._prepared[sql] = name
        return name

    def _answers(self, piped: bool) -> list[pq.abc.PGresult]:
        """The results of what was sent: up to the sync point of a pipeline, or of the one
        statement sent outside one."""
        pgconn = self._pgconn
        results: list[pq.abc.PGresult] = []
        while True:
            while pgconn.is_busy():
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                if not piped:
                    return results
                continue  # the end of one statement's results
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                return results
            if result.status != pq.ExecStatus.PIPELINE_ABORTED:
                results.append(result)
