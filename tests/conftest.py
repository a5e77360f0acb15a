"""Shared fixtures for the quanta test suite.

Database fixtures (invariant 7: both databases, one code path):

* ``pg_server`` (session): a throwaway PostgreSQL cluster, started on first use.
* ``postgres_url`` (function): a fresh, uniquely named, empty PostgreSQL database.
* ``db_url`` (function): parametrized over ``sqlite`` and ``postgresql``; a
  registry test that takes it runs once against each backend.
* ``butler`` (function): the standard test repository of ``repo_data``, parametrized
  the same way; ``sqlite_butler`` and ``postgres_butler`` are its two cases.

Creating the registry schema and the standard dimension records takes most of a
registry test's time, so the standard repository is made once per session on each
backend (``sqlite_repo_template``, ``pg_repo_template``) and every test gets a copy
of it: the repository directory is copied, and on PostgreSQL the database is cloned
with ``CREATE DATABASE ... TEMPLATE``. Each test still owns its repository and its
database, so no test sees another's writes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pg_server import PgServer, PgServerError
from quanta.butler import Butler
from repo_data import clone_repo, make_repo

#: The two registry backends, for fixtures that run each test once against each.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


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


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a registry database URL for each backend in turn.

    The PostgreSQL server is only requested by the ``postgresql`` case, so
    SQLite-only runs (``-m "not postgres"``) never start it.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url


@dataclass(frozen=True)
class PgRepoTemplate:
    """The standard test repository made once: its directory and its PostgreSQL database."""

    root: Path
    dbname: str


@pytest.fixture(scope="session")
def sqlite_repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard test repository on SQLite (inside its directory), made once to be copied."""
    root = tmp_path_factory.mktemp("sqlite-template") / "repo"
    make_repo(root).close()
    return root


@pytest.fixture(scope="session")
def pg_repo_template(
    pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PgRepoTemplate]:
    """The standard test repository on PostgreSQL, made once to be cloned."""
    dbname = f"template_{uuid.uuid4().hex}"
    pg_server.create_database(dbname)
    root = tmp_path_factory.mktemp("pg-template") / "repo"
    # PostgreSQL copies a database only while nobody is connected to it.
    make_repo(root, pg_server.url(dbname)).close()
    yield PgRepoTemplate(root, dbname)
    pg_server.drop_database(dbname)


@pytest.fixture
def sqlite_butler(sqlite_repo_template: Path, tmp_path: Path) -> Iterator[Butler]:
    """A new SQLite repository with the test dimension records."""
    butler = clone_repo(sqlite_repo_template, tmp_path / "repo")
    yield butler
    butler.close()


@pytest.fixture
def postgres_butler(
    pg_server: PgServer, pg_repo_template: PgRepoTemplate, tmp_path: Path
) -> Iterator[Butler]:
    """A new repository with the test dimension records on its own PostgreSQL database."""
    dbname = f"test_{uuid.uuid4().hex}"
    pg_server.create_database(dbname, template=pg_repo_template.dbname)
    butler = clone_repo(pg_repo_template.root, tmp_path / "repo", pg_server.url(dbname))
    yield butler
    butler.close()
    pg_server.drop_database(dbname)


@pytest.fixture(params=BACKENDS)
def butler(request: pytest.FixtureRequest) -> Butler:
    """A new repository with the test dimension records, on each database backend."""
    name = "sqlite_butler" if request.param == "sqlite" else "postgres_butler"
    repo: Butler = request.getfixturevalue(name)
    return repo
