"""Quantum provenance: what each quantum of a run did, and the datasets it read and wrote.

Quantum IDs are deterministic (UUIDv5 of run, task label and canonical data ID, free-form
keys included), so recording a retried or resumed quantum updates its row instead of
adding one. Rows belong to their run and go with it (``ON DELETE CASCADE``); dataset IDs
carry no foreign key, so a quantum's inputs stay on record after their run is removed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from ..core.collections import CollectionType
from ..core.ids import quantum_id
from ..core.provenance import DatasetSummary, Lineage, QuantumOutcome, QuantumRecord
from ..core.status import QuantumStatus
from .collections import CollectionManager
from .database import Database
from .schema import RegistryTables

CHUNK = 500
#: The value of ``quantum_dataset.role`` for what a quantum read and what it wrote.
INPUT, OUTPUT = "input", "output"


def provenance_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """``quantum``: one row per executed (or blocked, or skipped) quantum of a run;
    ``quantum_dataset``: the IDs of the datasets each quantum read and wrote.

    Dataset IDs carry no foreign key: inputs may come from runs that were later removed
    or from other repositories, and provenance must outlive them.
    """
    quantum = sa.Table(
        "quantum",
        md,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("task_label", sa.String(128), nullable=False),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.Column("data_id", sa.Text, nullable=False),
        sa.Column("extras", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=True),
        sa.Column("end_ns", sa.BigInteger, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("peak_memory_bytes", sa.BigInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("traceback", sa.Text, nullable=True),
        sa.Index("quantum_run_task", "run_id", "task_label"),
    )
    quantum_dataset = sa.Table(
        "quantum_dataset",
        md,
        sa.Column(
            "quantum_id",
            sa.Uuid,
            sa.ForeignKey("quantum.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("dataset_id", sa.Uuid, primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Index("quantum_dataset_lookup", "dataset_id", "role"),
    )
    return quantum, quantum_dataset


class ProvenanceManager:
    """Record quanta in bulk and answer questions about runs and datasets."""

    def __init__(
        self, db: Database, tables: RegistryTables, collections: CollectionManager
    ) -> None:
        self._db = db
        self._tables = tables
        self._collections = collections

    # -- recording -------------------------------------------------------------------------

    def record(self, run: str, batch: Sequence[QuantumOutcome]) -> None:
        """Insert or update the quanta of ``run`` in one transaction, with what they read
        and wrote. Recording the same outcome again changes nothing; a later outcome of the
        same quantum replaces the earlier one, except that ``skipped_existing`` never
        replaces a row (the quantum's real outcome is already on record)."""
        if not batch:
            return
        run_id = self._collections.get(run, CollectionType.RUN).id
        rows: dict[uuid.UUID, dict[str, Any]] = {}
        links: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for outcome in batch:
            qid = quantum_id(run, outcome.label, outcome.data_id)
            rows[qid] = _row(qid, run_id, outcome)
            links[qid] = [
                {"quantum_id": qid, "dataset_id": dataset, "role": role}
                for role, ids in ((INPUT, outcome.inputs), (OUTPUT, outcome.outputs))
                for dataset in dict.fromkeys(ids)
            ]
        table = self._tables.quantum
        keep = [r for r in rows.values() if r["status"] == QuantumStatus.SKIPPED_EXISTING]
        replace = [r for r in rows.values() if r["status"] != QuantumStatus.SKIPPED_EXISTING]
        with self._db.transaction() as conn:
            written = [r["id"] for r in replace]
            if keep:
                statement = self._db.insert_ignore(table, ["id"]).returning(table.c.id)
                written.extend(conn.execute(statement, keep).scalars())
            if replace:
                conn.execute(self._db.upsert(table, ["id"]), replace)
            link_table = self._tables.quantum_dataset
            for start in range(0, len(written), CHUNK):
                chunk = written[start : start + CHUNK]
                conn.execute(link_table.delete().where(link_table.c.quantum_id.in_(chunk)))
            link_rows = [row for qid in written for row in links[qid]]
            if link_rows:
                conn.execute(link_table.insert(), link_rows)

    # -- queries ---------------------------------------------------------------------------

    def quanta(
        self, run: str, *, label: str | None = None, statuses: Iterable[str] | None = None
    ) -> list[QuantumRecord]:
        """Quanta of a run, optionally of one task and some statuses, by label and data ID."""
        table = self._tables.quantum
        run_id = self._collections.get(run, CollectionType.RUN).id
        query = sa.select(table).where(table.c.run_id == run_id)
        if label is not None:
            query = query.where(table.c.task_label == label)
        if statuses is not None:
            query = query.where(table.c.status.in_(list(statuses)))
        query = query.order_by(table.c.task_label, table.c.data_id_key)
        with self._db.connect() as conn:
            return [_record(row, run) for row in conn.execute(query).mappings()]

    def summary(self, run: str) -> dict[str, dict[str, int]]:
        """Per task label, the number of quanta of each status (only statuses that occur)."""
        table = self._tables.quantum
        run_id = self._collections.get(run, CollectionType.RUN).id
        query = (
            sa.select(table.c.task_label, table.c.status, sa.func.count())
            .where(table.c.run_id == run_id)
            .group_by(table.c.task_label, table.c.status)
        )
        result: dict[str, dict[str, int]] = {}
        with self._db.connect() as conn:
            for label, status, count in conn.execute(query):
                result.setdefault(label, {})[status] = count
        return result

    def statuses(self, run: str) -> dict[tuple[str, str], QuantumStatus]:
        """The recorded status of every quantum of a run, by (task label, data ID key)."""
        table = self._tables.quantum
        run_id = self._collections.get(run, CollectionType.RUN).id
        query = sa.select(table.c.task_label, table.c.data_id_key, table.c.status).where(
            table.c.run_id == run_id
        )
        with self._db.connect() as conn:
            rows = conn.execute(query)
            return {(label, key): QuantumStatus(status) for label, key, status in rows}

    def get(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, QuantumRecord]:
        """Recorded quanta by ID (unknown IDs are absent)."""
        table = self._tables.quantum
        names = self._collections.names_by_id()
        result = {}
        with self._db.connect() as conn:
            for chunk in _chunks(ids):
                query = sa.select(table).where(table.c.id.in_(chunk))
                for row in conn.execute(query).mappings():
                    result[row["id"]] = _record(row, names[row["run_id"]])
        return result

    def producers(self, dataset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """The quantum that wrote each dataset, for datasets some recorded quantum wrote."""
        return {
            dataset: quanta[0]
            for dataset, quanta in self._links(dataset_ids, OUTPUT, by_dataset=True).items()
        }

    def inputs_of(self, quantum_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """What each quantum read (quanta that read nothing are absent)."""
        return self._links(quantum_ids, INPUT, by_dataset=False)

    def outputs_of(self, quantum_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """What each quantum wrote (quanta that wrote nothing are absent)."""
        return self._links(quantum_ids, OUTPUT, by_dataset=False)

    def _links(
        self, ids: Sequence[uuid.UUID], role: str, *, by_dataset: bool
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        table = self._tables.quantum_dataset
        key, value = (
            (table.c.dataset_id, table.c.quantum_id)
            if by_dataset
            else (table.c.quantum_id, table.c.dataset_id)
        )
        result: dict[uuid.UUID, list[uuid.UUID]] = {}
        with self._db.connect() as conn:
            for chunk in _chunks(ids):
                query = (
                    sa.select(key, value)
                    .where(key.in_(chunk), table.c.role == role)
                    .order_by(key, value)
                )
                for k, v in conn.execute(query):
                    result.setdefault(k, []).append(v)
        return result

    def describe_datasets(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DatasetSummary]:
        """Type, run and data ID of the datasets this registry holds (others are absent)."""
        ds, dt = self._tables.dataset, self._tables.dataset_type
        names = self._collections.names_by_id()
        result = {}
        with self._db.connect() as conn:
            for chunk in _chunks(ids):
                query = (
                    sa.select(ds.c.id, dt.c.name, ds.c.run_id, ds.c.data_id_key)
                    .join(dt, dt.c.dataset_type_id == ds.c.dataset_type_id)
                    .where(ds.c.id.in_(chunk))
                )
                for id_, type_name, run_id, key in conn.execute(query):
                    result[id_] = DatasetSummary(id_, type_name, names[run_id], key)
        return result

    def lineage(self, dataset_ids: Sequence[uuid.UUID]) -> Lineage:
        """Walk back from datasets through the quanta that wrote them to datasets nothing
        recorded here wrote (the raws), one level per round of bulk queries."""
        lineage = Lineage(list(dataset_ids))
        frontier = list(dict.fromkeys(dataset_ids))
        seen = set(frontier)
        while frontier:
            lineage.datasets.update(self.describe_datasets(frontier))
            producers = self.producers(frontier)
            lineage.producers.update(producers)
            new_quanta = [q for q in dict.fromkeys(producers.values()) if q not in lineage.quanta]
            lineage.quanta.update(self.get(new_quanta))
            inputs = self.inputs_of(new_quanta)
            lineage.inputs.update(inputs)
            frontier = []
            for quantum in new_quanta:
                for dataset in inputs.get(quantum, []):
                    if dataset not in seen:
                        seen.add(dataset)
                        frontier.append(dataset)
        return lineage


def _row(qid: uuid.UUID, run_id: int, outcome: QuantumOutcome) -> dict[str, Any]:
    data_id = outcome.data_id
    extras = data_id.extras
    values = dict(zip(data_id.group.required, data_id.required_values, strict=True))
    return {
        "id": qid,
        "run_id": run_id,
        "task_label": outcome.label,
        "data_id_key": data_id.key(),
        "data_id": json.dumps(values),
        "extras": json.dumps(extras, sort_keys=True) if extras else None,
        "status": _status(outcome.status).value,
        "attempts": outcome.attempts,
        "start_ns": outcome.start_ns,
        "end_ns": outcome.end_ns,
        "host": outcome.host,
        "peak_memory_bytes": outcome.peak_memory_bytes,
        "error": outcome.error,
        "traceback": outcome.traceback,
    }


def _status(status: str) -> QuantumStatus:
    """``status`` as a ``QuantumStatus``; a ``ValueError`` names the valid ones."""
    try:
        return QuantumStatus(status)
    except ValueError:
        valid = ", ".join(QuantumStatus)
        raise ValueError(f"unknown quantum status {status!r}; valid: {valid}") from None


def _record(row: Any, run: str) -> QuantumRecord:
    return QuantumRecord(
        id=row["id"],
        run=run,
        label=row["task_label"],
        data_id=json.loads(row["data_id"]),
        extras=json.loads(row["extras"]) if row["extras"] else {},
        data_id_key=row["data_id_key"],
        status=QuantumStatus(row["status"]),
        attempts=row["attempts"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        host=row["host"],
        peak_memory_bytes=row["peak_memory_bytes"],
        error=row["error"],
        traceback=row["traceback"],
    )


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
