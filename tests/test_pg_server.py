"""The throwaway PostgreSQL server, the database URL fixtures and the repository fixture
work end to end: every test gets a database, or a repository, of its own."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from pg_server import PgServer
from quanta.butler import Butler
from repo_data import EXPOSURES

ROWS = [(1, "bias"), (2, "flat")]

# Database names handed out by ``postgres_url`` in this module, in order.
SEEN_DATABASES: list[str] = []
# Registry URLs of the repositories handed out by ``butler`` in this module.
SEEN_REPOSITORIES: list[str] = []


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


def count_things(url: str) -> int:
    """How many rows the table made by ``round_trip`` holds at ``url``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM thing")).scalar_one())
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


@pytest.mark.postgres
def test_a_database_cloned_from_a_template_starts_equal_and_stays_apart(
    pg_server: PgServer,
) -> None:
    template, clone = f"scratch_{uuid.uuid4().hex}", f"scratch_{uuid.uuid4().hex}"
    pg_server.create_database(template)
    try:
        assert round_trip(pg_server.url(template)) == ROWS
        pg_server.create_database(clone, template=template)
        engine = sa.create_engine(pg_server.url(clone))
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO thing VALUES (3, 'dark')"))
        finally:
            engine.dispose()
        assert count_things(pg_server.url(clone)) == len(ROWS) + 1
        assert count_things(pg_server.url(template)) == len(ROWS)
    finally:
        pg_server.drop_database(clone)
        pg_server.drop_database(template)


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


@pytest.mark.parametrize("run", ["first", "second"])
def test_butler_is_a_fresh_copy_of_the_standard_repository(butler: Butler, run: str) -> None:
    url = butler.config.db_url(butler.root)
    assert url not in SEEN_REPOSITORIES
    SEEN_REPOSITORIES.append(url)
    exposures = butler.query_dimension_records("exposure")
    assert sorted(r.values["id"] for r in exposures) == list(EXPOSURES)
    # A band another test added would show up here if repositories were shared.
    assert sorted(r.values["name"] for r in butler.query_dimension_records("band")) == list("gir")
    butler.insert_dimension_records("band", [{"name": "z"}])
    assert len(butler.query_dimension_records("band")) == 4
