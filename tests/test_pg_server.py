"""The throwaway PostgreSQL server and the database URL fixtures work end to end."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from pg_server import PgServer

ROWS = [(1, "bias"), (2, "flat")]

# Database names handed out by ``postgres_url`` in this module, in order.
SEEN_DATABASES: list[str] = []


def round_trip(url: str) -> list[tuple[int, str]]:
    """Create a table at ``url``, insert ``ROWS`` and read them back."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        table = sa.Table(
            "thing",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(32), nullable=False),
        )
        with engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(table.insert(), [{"id": i, "name": name} for i, name in ROWS])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id))
            return [(row.id, row.name) for row in rows]
    finally:
        engine.dispose()


def database_exists(pg_server: PgServer, dbname: str) -> bool:
    """Return whether ``dbname`` exists on ``pg_server``."""
    engine = sa.create_engine(pg_server.url("postgres"))
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM pg_database WHERE datname = :name")
            return bool(conn.execute(query, {"name": dbname}).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_create_database_and_round_trip(pg_server: PgServer) -> None:
    dbname = f"scratch_{uuid.uuid4().hex}"
    pg_server.create_database(dbname)
    try:
        url = pg_server.url(dbname)
        assert url == f"postgresql+psycopg://{pg_server.user}@127.0.0.1:{pg_server.port}/{dbname}"
        assert round_trip(url) == ROWS
    finally:
        pg_server.drop_database(dbname)
    assert not database_exists(pg_server, dbname)


@pytest.mark.postgres
def test_drop_database_terminates_open_connections(pg_server: PgServer) -> None:
    dbname = f"scratch_{uuid.uuid4().hex}"
    pg_server.create_database(dbname)
    engine = sa.create_engine(pg_server.url(dbname))
    conn = engine.connect()
    try:
        pg_server.drop_database(dbname)
    finally:
        conn.invalidate()
        engine.dispose()
    assert not database_exists(pg_server, dbname)


def test_db_url_round_trip(request: pytest.FixtureRequest, db_url: str) -> None:
    backend = request.node.callspec.params["db_url"]
    assert sa.make_url(db_url).get_backend_name() == backend
    assert (request.node.get_closest_marker("postgres") is not None) == (backend == "postgresql")
    assert round_trip(db_url) == ROWS


@pytest.mark.postgres
@pytest.mark.parametrize("run", ["first", "second"])
def test_postgres_url_is_a_fresh_database_per_test(
    pg_server: PgServer, postgres_url: str, run: str
) -> None:
    dbname = sa.make_url(postgres_url).database
    assert dbname is not None
    assert dbname not in SEEN_DATABASES
    assert database_exists(pg_server, dbname)
    assert not any(database_exists(pg_server, seen) for seen in SEEN_DATABASES)
    assert round_trip(postgres_url) == ROWS
    SEEN_DATABASES.append(dbname)
