"""The exposure table of ``exposure_table.py`` on SQLite and PostgreSQL.

The table is created once per module and backend; tests only read from it, so
a test that managed to change it would break the ones after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from registry.query.exposure_table import EXPOSURE, METADATA, ROWS, ExposureDb


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def exposure_db(request: pytest.FixtureRequest) -> Iterator[ExposureDb]:
    """The exposure table on each backend in turn (invariant 7)."""
    dbname = None
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://")
    else:
        pg_server = request.getfixturevalue("pg_server")
        dbname = f"test_{uuid.uuid4().hex}"
        pg_server.create_database(dbname)
        engine = sa.create_engine(pg_server.url(dbname))
    columns = [column.name for column in EXPOSURE.columns]
    with engine.begin() as conn:
        METADATA.create_all(conn)
        conn.execute(EXPOSURE.insert(), [dict(zip(columns, row, strict=True)) for row in ROWS])
    yield ExposureDb(engine)
    engine.dispose()
    if dbname is not None:
        pg_server.drop_database(dbname)
