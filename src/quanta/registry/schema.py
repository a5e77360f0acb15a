"""The registry schema, generated from the dimension universe.

Static tables hold collections, dataset types, datasets, tags, calibration
validity ranges, file records and quantum provenance; every dimension gets a
``dim_<name>`` table and every join (such as group membership) a ``join_<name>``
table. The dataset table has one nullable column per dimension, so data IDs
are queryable by plain joins, and a canonical ``data_id_key`` text that
carries uniqueness.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..core.universe import Dimension, DimensionUniverse, FieldSpec, JoinSpec

SCHEMA_VERSION = 3


def column_type(spec: FieldSpec) -> sa.types.TypeEngine:
    """SQL type for a universe field type."""
    if spec.type == "int":
        return sa.BigInteger()
    if spec.type == "float":
        return sa.Float(precision=53)
    if spec.type == "bool":
        return sa.Boolean()
    return sa.String(spec.length or 256)


def dimension_table_name(name: str) -> str:
    """Table holding the records of one dimension."""
    return f"dim_{name}"


@dataclass(frozen=True)
class RegistryTables:
    """All tables of one registry."""

    metadata: sa.MetaData
    meta: sa.Table
    collection: sa.Table
    collection_chain: sa.Table
    dataset_type: sa.Table
    dataset: sa.Table
    dataset_tag: sa.Table
    dataset_calib: sa.Table
    file_record: sa.Table
    dimensions: dict[str, sa.Table]
    joins: dict[str, sa.Table]
    quantum: sa.Table
    quantum_dataset: sa.Table
    group_exclusive_member: sa.Table | None


def build_tables(universe: DimensionUniverse) -> RegistryTables:
    """Create the SQLAlchemy table objects for a universe (nothing is sent to the database)."""
    md = sa.MetaData()
    meta = sa.Table(
        "meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
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
    dataset_type = sa.Table(
        "dataset_type",
        md,
        sa.Column("dataset_type_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.Column("storage_class", sa.String(64), nullable=False),
        sa.Column("is_calibration", sa.Boolean, nullable=False),
    )
    dim_columns = [
        sa.Column(name, column_type(dim.key), nullable=True)
        for name, dim in universe.dimensions.items()
    ]
    dataset = sa.Table(
        "dataset",
        md,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "dataset_type_id",
            sa.Integer,
            sa.ForeignKey("dataset_type.dataset_type_id"),
            nullable=False,
        ),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.Column("extras", sa.Text, nullable=True),
        sa.Column("ingest_ns", sa.BigInteger, nullable=False),
        *dim_columns,
        sa.UniqueConstraint("dataset_type_id", "run_id", "data_id_key"),
        sa.Index("dataset_run_type", "run_id", "dataset_type_id"),
    )
    dataset_tag = sa.Table(
        "dataset_tag",
        md,
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "dataset_id", sa.Uuid, sa.ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("dataset_type_id", sa.Integer, nullable=False),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.UniqueConstraint("collection_id", "dataset_type_id", "data_id_key"),
        sa.Index("dataset_tag_dataset", "dataset_id"),
    )
    dataset_calib = sa.Table(
        "dataset_calib",
        md,
        sa.Column("calib_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "dataset_id", sa.Uuid, sa.ForeignKey("dataset.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("dataset_type_id", sa.Integer, nullable=False),
        sa.Column("data_id_key", sa.String(512), nullable=False),
        sa.Column("begin_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Index("dataset_calib_lookup", "collection_id", "dataset_type_id", "data_id_key"),
        sa.Index("dataset_calib_dataset", "dataset_id"),
    )
    file_record = sa.Table(
        "file_record",
        md,
        sa.Column(
            "dataset_id", sa.Uuid, sa.ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("storage_class", sa.String(64), nullable=False),
        sa.Column("checksum", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    dims = {name: _dimension_table(md, universe, dim) for name, dim in universe.dimensions.items()}
    joins = {name: _join_table(md, universe, join) for name, join in universe.joins.items()}
    quantum, quantum_dataset = _provenance_tables(md)
    exclusive = (
        _exclusive_member_table(md, universe, joins["group_membership"])
        if _has_exclusive_groups(universe)
        else None
    )
    return RegistryTables(
        md,
        meta,
        collection,
        collection_chain,
        dataset_type,
        dataset,
        dataset_tag,
        dataset_calib,
        file_record,
        dims,
        joins,
        quantum,
        quantum_dataset,
        exclusive,
    )


def _provenance_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table]:
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


def _key_columns(universe: DimensionUniverse, dim: Dimension) -> list[str]:
    """Column names, in the dimension's own table, that identify one of its records."""
    return [*dim.required, dim.key.name]


def _dimension_table(md: sa.MetaData, universe: DimensionUniverse, dim: Dimension) -> sa.Table:
    columns: list[sa.SchemaItem] = []
    for req in dim.required:
        columns.append(sa.Column(req, column_type(universe[req].key), primary_key=True))
    columns.append(sa.Column(dim.key.name, column_type(dim.key), primary_key=True))
    for imp in dim.implied:
        columns.append(sa.Column(imp, column_type(universe[imp].key), nullable=True))
    for spec in dim.fields:
        columns.append(sa.Column(spec.name, column_type(spec), nullable=spec.nullable))
    if dim.has_timespan:
        columns.append(sa.Column("timespan_begin", sa.BigInteger, nullable=True))
        columns.append(sa.Column("timespan_end", sa.BigInteger, nullable=True))
    for other in (*dim.required, *dim.implied):
        target = universe[other]
        if not set(target.required) <= set(dim.required):
            continue
        local = [*target.required, other]
        remote = [f"{dimension_table_name(other)}.{c}" for c in _key_columns(universe, target)]
        columns.append(sa.ForeignKeyConstraint(local, remote))
    return sa.Table(dimension_table_name(dim.name), md, *columns)


def _join_table(md: sa.MetaData, universe: DimensionUniverse, join: JoinSpec) -> sa.Table:
    group = universe.group(join.dimensions)
    columns: list[sa.SchemaItem] = [
        sa.Column(name, column_type(universe[name].key), primary_key=True)
        for name in group.required
    ]
    for spec in join.fields:
        columns.append(sa.Column(spec.name, column_type(spec), nullable=spec.nullable))
    for name in join.dimensions:
        target = universe[name]
        remote = [f"{dimension_table_name(name)}.{c}" for c in _key_columns(universe, target)]
        columns.append(sa.ForeignKeyConstraint([*target.required, name], remote))
    return sa.Table(f"join_{join.name}", md, *columns)


def _has_exclusive_groups(universe: DimensionUniverse) -> bool:
    """True for universes with group membership and systems that can be exclusive."""
    return (
        "group_membership" in universe.joins
        and all(name in universe for name in ("instrument", "exposure", "group_system", "group"))
        and "exclusive" in universe["group_system"].field_names
    )


def _exclusive_member_table(
    md: sa.MetaData, universe: DimensionUniverse, membership: sa.Table
) -> sa.Table:
    """``group_exclusive_member``: one row per exposure in a group of an exclusive system.

    Its primary key (instrument, group_system, exposure) is what makes a system exclusive:
    a second group claiming the same exposure violates it, whatever the client does. Each
    row points at its ``group_membership`` row and goes with it.
    """
    keys = [c.name for c in membership.primary_key.columns]
    return sa.Table(
        "group_exclusive_member",
        md,
        *(
            sa.Column(
                name, column_type(universe[name].key), primary_key=name != "group", nullable=False
            )
            for name in ("instrument", "group_system", "exposure", "group")
        ),
        sa.ForeignKeyConstraint(keys, [f"{membership.name}.{k}" for k in keys], ondelete="CASCADE"),
    )
