"""Collections: RUN, TAGGED, CHAINED and CALIBRATION, and chain flattening."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from ..core.collections import CollectionRecord, CollectionType, check_collection_name, is_glob
from ..core.errors import CollectionNotFoundError, CollectionTypeError, ConflictError
from ..core.suggest import did_you_mean
from ..core.text import text_problem
from .database import Database
from .schema import RegistryTables


def collection_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """``collection`` (name, type, doc) and ``collection_chain`` (a chain's children by
    position)."""
    collection = sa.Table(
        "collection",
        md,
        sa.Column("collection_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("type", sa.SmallInteger, nullable=False),
        sa.Column("doc", sa.Text, nullable=True),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    collection_chain = sa.Table(
        "collection_chain",
        md,
        sa.Column(
            "parent_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column(
            "child_id", sa.Integer, sa.ForeignKey("collection.collection_id"), nullable=False
        ),
    )
    return collection, collection_chain


class CollectionManager:
    """Create, look up, chain and delete collections."""

    def __init__(self, db: Database, tables: RegistryTables) -> None:
        self._db = db
        self._table = tables.collection
        self._chain = tables.collection_chain

    def _rows(self, where: sa.ColumnElement[bool] | None = None) -> list[CollectionRecord]:
        query = sa.select(self._table).order_by(self._table.c.name)
        if where is not None:
            query = query.where(where)
        with self._db.connect() as conn:
            return [
                CollectionRecord(
                    r["collection_id"],
                    r["name"],
                    CollectionType(r["type"]),
                    r["doc"],
                    r["created_ns"],
                )
                for r in conn.execute(query).mappings()
            ]

    def register(self, name: str, type_: CollectionType, doc: str | None = None) -> bool:
        """Create a collection; True if new, False if it exists with the same type."""
        check_collection_name(name)
        existing = self.find(name)
        if existing is not None:
            if existing.type != type_:
                raise ConflictError(
                    f"collection {name!r} already exists as {existing.type.name}, not {type_.name}"
                )
            return False
        with self._db.transaction() as conn:
            conn.execute(
                self._table.insert(),
                {"name": name, "type": int(type_), "doc": doc, "created_ns": time.time_ns()},
            )
        return True

    def find(self, name: str) -> CollectionRecord | None:
        """The collection called ``name``, or None (without asking the database for a
        name it cannot hold, such as one with a NUL)."""
        if text_problem(name) is not None:
            return None
        rows = self._rows(self._table.c.name == name)
        return rows[0] if rows else None

    def get(self, name: str, expected: CollectionType | None = None) -> CollectionRecord:
        """The collection called ``name``; an error if missing or of another type."""
        record = self.find(name)
        if record is None:
            hint = did_you_mean(name, self.names_by_id().values())
            raise CollectionNotFoundError(f"collection {name!r} does not exist{hint}")
        if expected is not None and record.type != expected:
            raise CollectionTypeError(
                f"collection {name!r} is {record.type.name}, but a {expected.name} collection "
                "is needed here"
            )
        return record

    def names_by_id(self) -> dict[int, str]:
        """Every collection's name by key (a small table, read in one query)."""
        with self._db.connect() as conn:
            return dict(
                conn.execute(sa.select(self._table.c.collection_id, self._table.c.name)).all()
            )

    def query(
        self, pattern: str | None = None, types: Iterable[CollectionType] | None = None
    ) -> list[CollectionRecord]:
        """Collections whose names match a glob, optionally of the given types."""
        allowed = set(types) if types else None
        return [
            r
            for r in self._rows()
            if (pattern is None or fnmatch.fnmatchcase(r.name, pattern))
            and (allowed is None or r.type in allowed)
        ]

    def set_chain(self, parent: str, children: Sequence[str]) -> None:
        """Replace the children of a CHAINED collection, refusing cycles."""
        record = self.get(parent, CollectionType.CHAINED)
        child_records = [self.get(c) for c in children]
        for child in child_records:
            if parent in self._closure(child):
                raise ConflictError(f"chaining {child.name!r} into {parent!r} would make a cycle")
        with self._db.transaction() as conn:
            conn.execute(self._chain.delete().where(self._chain.c.parent_id == record.id))
            if child_records:
                conn.execute(
                    self._chain.insert(),
                    [
                        {"parent_id": record.id, "position": i, "child_id": c.id}
                        for i, c in enumerate(child_records)
                    ],
                )

    def get_chain(self, parent: str) -> list[str]:
        """Direct children of a CHAINED collection, in search order."""
        record = self.get(parent, CollectionType.CHAINED)
        query = (
            sa.select(self._table.c.name)
            .select_from(
                self._chain.join(self._table, self._chain.c.child_id == self._table.c.collection_id)
            )
            .where(self._chain.c.parent_id == record.id)
            .order_by(self._chain.c.position)
        )
        with self._db.connect() as conn:
            return list(conn.execute(query).scalars())

    def _closure(self, record: CollectionRecord) -> set[str]:
        """Names of a collection and of everything reachable through its chains."""
        names = {record.name}
        pending = [record]
        while pending:
            current = pending.pop()
            if current.type == CollectionType.CHAINED:
                for child in self.get_chain(current.name):
                    if child not in names:
                        names.add(child)
                        pending.append(self.get(child))
        return names

    def parents(self, name: str) -> list[str]:
        """CHAINED collections that directly include ``name``."""
        record = self.get(name)
        query = (
            sa.select(self._table.c.name)
            .select_from(
                self._chain.join(
                    self._table, self._chain.c.parent_id == self._table.c.collection_id
                )
            )
            .where(self._chain.c.child_id == record.id)
        )
        with self._db.connect() as conn:
            return sorted(set(conn.execute(query).scalars()))

    def expand(self, names: Sequence[str]) -> list[CollectionRecord]:
        """The collections named, a glob (``*``, ``?``, ``[...]``: never part of a name)
        standing for every collection it matches, in name order; a glob matching none is
        a ``CollectionNotFoundError``."""
        records: list[CollectionRecord] = []
        for name in names:
            if not is_glob(name):
                records.append(self.get(name))
                continue
            matches = sorted(self.query(name), key=lambda record: record.name)
            if not matches:
                hint = did_you_mean(name, self.names_by_id().values())
                raise CollectionNotFoundError(f"no collection matches {name!r}{hint}")
            records += matches
        return records

    def reachable(self, names: Sequence[str]) -> list[CollectionRecord]:
        """The collections named (globs expanded) and every collection their chains reach,
        chains included, each once, in breadth-first order."""
        seen: dict[str, CollectionRecord] = {}
        pending = self.expand(names)
        while pending:
            record = pending.pop(0)
            if record.name in seen:
                continue
            seen[record.name] = record
            if record.type == CollectionType.CHAINED:
                pending += [self.get(child) for child in self.get_chain(record.name)]
        return list(seen.values())

    def flatten(self, names: Sequence[str]) -> list[CollectionRecord]:
        """Expand globs, then chains depth-first, into non-chained collections, in search
        order, no repeats."""
        result: list[CollectionRecord] = []
        seen: set[int] = set()
        stack = list(reversed(self.expand(names)))
        while stack:
            record = stack.pop()
            if record.type == CollectionType.CHAINED:
                stack.extend(self.get(c) for c in reversed(self.get_chain(record.name)))
            elif record.id not in seen:
                seen.add(record.id)
                result.append(record)
        return result

    def check_removable(self, names: Sequence[str]) -> list[CollectionRecord]:
        """The records of collections that may be deleted together: no RUN among them (runs
        go with their datasets), and no chain that stays names any of them."""
        records = [self.get(n) for n in names]
        runs = [r.name for r in records if r.type == CollectionType.RUN]
        if runs:
            raise CollectionTypeError(
                f"{', '.join(runs)}: RUN collection(s) go with their datasets; use remove-runs "
                "(remove_runs)"
            )
        going = {r.name for r in records}
        for record in records:
            kept = [p for p in self.parents(record.name) if p not in going]
            if kept:
                raise ConflictError(
                    f"collection {record.name!r} is named by chained collection(s) "
                    f"{', '.join(kept)}; take it out of them, or remove them too"
                )
        return records

    def remove_many(self, names: Sequence[str]) -> None:
        """Delete collections (not runs) together: a chain among them may name another of
        them, but a chain that stays may not name any."""
        ids = [r.id for r in self.check_removable(names)]
        with self._db.transaction() as conn:
            conn.execute(self._chain.delete().where(self._chain.c.parent_id.in_(ids)))
            conn.execute(self._table.delete().where(self._table.c.collection_id.in_(ids)))

    def remove(self, name: str) -> None:
        """Delete a collection that is not a child of any chain (runs go through remove_runs)."""
        record = self.get(name)
        parents = self.parents(name)
        if parents:
            raise ConflictError(
                f"collection {name!r} is part of chained collection(s) {', '.join(parents)}; "
                "remove it from them first"
            )
        with self._db.transaction() as conn:
            conn.execute(self._table.delete().where(self._table.c.collection_id == record.id))
