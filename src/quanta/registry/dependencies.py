"""What depends on datasets about to be removed, so a removal can say so (or refuse) first.

Four kinds of dependency: certifications in CALIBRATION collections, memberships of
TAGGED collections, CHAINED collections that name a removed collection, and datasets
that stay whose recorded provenance read a removed one (directly, or through other
datasets that stay).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..core.collections import CollectionType
from .provenance import INPUT, OUTPUT
from .schema import RegistryTables

CHUNK = 500
#: A condition on a dataset-ID column that selects the datasets being removed.
Scope = Callable[[sa.ColumnElement], sa.ColumnElement[bool]]


@dataclass
class Dependencies:
    """What removing some datasets (or whole runs) would touch besides them."""

    #: How many datasets would be removed.
    datasets: int = 0
    #: CALIBRATION collection -> how many of the datasets are certified there.
    certified: dict[str, int] = field(default_factory=dict)
    #: TAGGED collection -> how many of the datasets it holds.
    tagged: dict[str, int] = field(default_factory=dict)
    #: CHAINED collection -> the removed collections it names directly.
    chains: dict[str, list[str]] = field(default_factory=dict)
    #: RUN collection -> how many datasets staying there were made from removed ones.
    downstream: dict[str, int] = field(default_factory=dict)

    def describe(self) -> list[str]:
        """One line per kind of dependency found, with counts per collection."""
        lines = []
        for label, counts in (
            ("certified in CALIBRATION collection(s)", self.certified),
            ("members of TAGGED collection(s)", self.tagged),
            ("inputs, by recorded provenance, of datasets in run(s)", self.downstream),
        ):
            if counts:
                lines.append(f"{label}: {count_list(counts)}")
        if self.chains:
            named = ", ".join(f"{p} ({', '.join(c)})" for p, c in sorted(self.chains.items()))
            lines.append(f"named by CHAINED collection(s), which lose them: {named}")
        return lines


def count_list(counts: dict[str, int]) -> str:
    """``a (2), b (1)``, by name."""
    return ", ".join(f"{name} ({count})" for name, count in sorted(counts.items()))


class DependencyFinder:
    """Set-based queries over a whole selection of datasets (a run's, or listed by ID)."""

    def __init__(self, tables: RegistryTables) -> None:
        self._tables = tables

    def members(self, conn: sa.Connection, collection_id: int, type_: CollectionType) -> int:
        """How many datasets a collection holds (certified ones, for CALIBRATION), or how
        many children a chain has."""
        table = {
            CollectionType.RUN: (self._tables.dataset, "run_id", "id"),
            CollectionType.TAGGED: (self._tables.dataset_tag, "collection_id", "dataset_id"),
            CollectionType.CALIBRATION: (self._tables.dataset_calib, "collection_id", "dataset_id"),
            CollectionType.CHAINED: (self._tables.collection_chain, "parent_id", "child_id"),
        }[type_]
        rows, key, counted = table
        query = sa.select(sa.func.count(sa.distinct(rows.c[counted]))).where(
            rows.c[key] == collection_id
        )
        return int(conn.execute(query).scalar_one())

    def for_runs(self, conn: sa.Connection, run_ids: Sequence[int]) -> Dependencies:
        """What depends on every dataset of these runs, and on the runs themselves."""
        ds = self._tables.dataset
        members = sa.select(ds.c.id).where(ds.c.run_id.in_(run_ids))
        scopes: list[Scope] = [lambda column: column.in_(members)]
        count = conn.execute(
            sa.select(sa.func.count()).select_from(ds).where(ds.c.run_id.in_(run_ids))
        ).scalar_one()
        removed = set(run_ids)
        deps = self._common(conn, scopes, int(count), lambda _, run: run not in removed)
        chain, coll = self._tables.collection_chain, self._tables.collection
        child = coll.alias("child")
        rows = conn.execute(
            sa.select(coll.c.name, child.c.name)
            .select_from(
                chain.join(coll, coll.c.collection_id == chain.c.parent_id).join(
                    child, child.c.collection_id == chain.c.child_id
                )
            )
            .where(chain.c.child_id.in_(run_ids))
            .order_by(coll.c.name, chain.c.position)
        )
        for parent, name in rows:
            deps.chains.setdefault(parent, []).append(name)
        return deps

    def for_datasets(self, conn: sa.Connection, ids: Sequence[uuid.UUID]) -> Dependencies:
        """What depends on the datasets with these IDs."""
        removed = set(ids)
        scopes = _id_scopes(list(removed))
        return self._common(conn, scopes, len(removed), lambda dataset, _: dataset not in removed)

    def _common(
        self,
        conn: sa.Connection,
        scopes: list[Scope],
        count: int,
        stays: Callable[[uuid.UUID, int], bool],
    ) -> Dependencies:
        names = dict(
            conn.execute(
                sa.select(self._tables.collection.c.collection_id, self._tables.collection.c.name)
            ).all()
        )
        deps = Dependencies(datasets=count)
        for table, counts in (
            (self._tables.dataset_calib, deps.certified),
            (self._tables.dataset_tag, deps.tagged),
        ):
            for scope in scopes:
                query = (
                    sa.select(table.c.collection_id, sa.func.count(sa.distinct(table.c.dataset_id)))
                    .where(scope(table.c.dataset_id))
                    .group_by(table.c.collection_id)
                )
                for collection_id, n in conn.execute(query):
                    name = names[collection_id]
                    counts[name] = counts.get(name, 0) + int(n)
        for run_id, n in self._downstream(conn, scopes, stays).items():
            deps.downstream[names[run_id]] = n
        return deps

    def _downstream(
        self, conn: sa.Connection, scopes: list[Scope], stays: Callable[[uuid.UUID, int], bool]
    ) -> dict[int, int]:
        """Per run, the staying datasets written by quanta that read a removed dataset or,
        in later rounds, a dataset found in an earlier round."""
        qd, ds = self._tables.quantum_dataset, self._tables.dataset
        read, wrote = qd.alias("read"), qd.alias("wrote")
        joined = read.join(
            wrote, sa.and_(wrote.c.quantum_id == read.c.quantum_id, wrote.c.role == OUTPUT)
        ).join(ds, ds.c.id == wrote.c.dataset_id)
        found: dict[uuid.UUID, int] = {}
        while scopes:
            new: dict[uuid.UUID, int] = {}
            for scope in scopes:
                query = (
                    sa.select(wrote.c.dataset_id, ds.c.run_id)
                    .select_from(joined)
                    .where(read.c.role == INPUT, scope(read.c.dataset_id))
                    .distinct()
                )
                for dataset_id, run_id in conn.execute(query):
                    if dataset_id not in found and stays(dataset_id, run_id):
                        new[dataset_id] = run_id
            found.update(new)
            scopes = _id_scopes(list(new))
        counts: dict[int, int] = {}
        for run_id in found.values():
            counts[run_id] = counts.get(run_id, 0) + 1
        return counts


def _id_scopes(ids: list[uuid.UUID]) -> list[Scope]:
    return [_in(chunk) for chunk in _chunks(ids)]


def _in(chunk: list[uuid.UUID]) -> Scope:
    return lambda column: column.in_(chunk)


def _chunks(ids: list[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
