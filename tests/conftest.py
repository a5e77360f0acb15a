"""Shared fixtures for the quanta test suite.

Database fixtures (DESIGN.md, invariant 7: both databases, one code path):

* ``pg_server`` (session): a throwaway PostgreSQL cluster, started on first use.
* ``postgres_url`` (function): a fresh, uniquely named PostgreSQL database.
* ``db_url`` (function): parametrized over ``sqlite`` and ``postgresql``; a
  registry test that takes it runs once against each backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pg_server import PgServer, PgServerError


def _start_pg_server() -> PgServer:
    """Start the throwaway server; if impossible, fail under CI=true and skip otherwise."""
    try:
        return PgServer.start()
    except (PgServerError, OSError) as exc:
        reason = f"cannot start the throwaway PostgreSQL server: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start one throwaway PostgreSQL cluster for the session and stop it at the end.

    CI must exercise PostgreSQL, so when the cluster cannot start this fails
    under CI=true and skips otherwise, giving the reason either way.
    """
    server = _start_pg_server()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(pg_server: PgServer) -> Iterator[str]:
    """Create a fresh database for one test, yield its URL, then drop it."""
    dbname = f"test_{uuid.uuid4().hex}"
    pg_server.create_database(dbname)
    yield pg_server.url(dbname)
    pg_server.drop_database(dbname)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a registry database URL for each backend in turn.

    The PostgreSQL server is only requested by the ``postgresql`` case, so
    SQLite-only runs (``-m "not postgres"``) never start it.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def butler(tmp_path: Path, db_url: str):
    """A new repository with the test dimension records, on each database backend."""
    from repo_data import make_repo

    repo = make_repo(tmp_path / "repo", db_url)
    yield repo
    repo.close()


@pytest.fixture
def sqlite_butler(tmp_path: Path):
    """A new SQLite repository with the test dimension records."""
    from repo_data import make_repo

    repo = make_repo(tmp_path / "repo")
    yield repo
    repo.close()
