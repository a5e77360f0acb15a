"""What the registry's tables share: the schema version, column types and the set of
tables one registry holds.

Each manager declares its own tables beside its code (collections in
``collections.py``, datasets in ``datasets.py``...); ``tables.py`` gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..core.universe import DEFAULT_STRING_LENGTH, FieldSpec

SCHEMA_VERSION = 4


def column_type(spec: FieldSpec) -> sa.types.TypeEngine:
    """SQL type for a universe field type."""
    if spec.type == "int":
        return sa.BigInteger()
    if spec.type == "float":
        return sa.Float(precision=53)
    if spec.type == "bool":
        return sa.Boolean()
    return sa.String(spec.length or DEFAULT_STRING_LENGTH)


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


def meta_table(md: sa.MetaData) -> sa.Table:
    """``meta``: key-value facts about the registry (schema version, universe)."""
    return sa.Table(
        "meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
