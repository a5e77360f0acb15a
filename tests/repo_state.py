"""Everything a repository holds, read straight from its database and directory, so a
test can assert that a refused request changed nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from quanta.butler import Butler

#: SQLite's files beside the registry, which change on every connection.
_SQLITE_FILES = ("registry.sqlite3", "registry.sqlite3-wal", "registry.sqlite3-shm")


def repo_state(butler: Butler) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """Every row of every registry table, sorted, and every file under the root but SQLite's."""
    engine = sa.create_engine(butler.config.db_url(butler.root))
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            rows = {
                name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()
    files = sorted(
        str(path.relative_to(butler.root))
        for path in butler.root.rglob("*")
        if path.is_file() and path.name not in _SQLITE_FILES
    )
    return rows, files
