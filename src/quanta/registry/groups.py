"""What the registry guarantees about groups: exclusive systems and member order.

An exclusive group system lets each exposure belong to at most one of its groups. Every
``group_membership`` row of such a system gets a ``group_exclusive_member`` row in the same
transaction, and that table's primary key makes the database refuse a second claim, on
SQLite and PostgreSQL alike. Queries that select whole membership rows return each
group's members in their ``position`` order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..core.errors import ConflictError
from ..core.universe import DimensionUniverse
from .schema import RegistryTables, column_type

if TYPE_CHECKING:
    from .query.builder import QueryBuilder

#: The join holding group membership, and the dimension of its members.
MEMBERSHIP = "group_membership"
MEMBER = "exposure"
CLAIM_COLUMNS = ("instrument", "group_system", "exposure", "group")
CHUNK = 500

Claim = tuple[str, str, int]


def has_exclusive_groups(universe: DimensionUniverse) -> bool:
    """True for universes with group membership and systems that can be exclusive."""
    return (
        "group_membership" in universe.joins
        and all(name in universe for name in ("instrument", "exposure", "group_system", "group"))
        and "exclusive" in universe["group_system"].field_names
    )


def exclusive_member_table(
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


def claim_exclusive(
    conn: sa.Connection, tables: RegistryTables, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Record new membership rows of exclusive systems in ``group_exclusive_member``; an
    exposure that another group of the system holds is a ``ConflictError`` naming both."""
    table = tables.group_exclusive_member
    if table is None or not rows:
        return
    exclusive = _exclusive_systems(
        conn, tables, {(r["instrument"], r["group_system"]) for r in rows}
    )
    claims = [
        {k: row[k] for k in CLAIM_COLUMNS}
        for row in rows
        if (row["instrument"], row["group_system"]) in exclusive
    ]
    if not claims:
        return
    wanted: dict[Claim, str] = {}
    for claim in claims:
        key = (claim["instrument"], claim["group_system"], claim["exposure"])
        held = wanted.setdefault(key, claim["group"])
        if held != claim["group"]:
            raise _conflict(key, held, claim["group"])
    try:
        # A savepoint keeps the transaction usable (PostgreSQL) to look up the holder.
        with conn.begin_nested():
            conn.execute(table.insert(), claims)
    except sa.exc.IntegrityError as err:
        for key, held in _holders(conn, table, list(wanted)):
            if held != wanted[key]:
                raise _conflict(key, held, wanted[key]) from None
        reason = str(err.orig or err).strip().splitlines()[0]
        raise ConflictError(f"cannot record exclusive group members: {reason}") from None


def _exclusive_systems(
    conn: sa.Connection, tables: RegistryTables, systems: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    table = tables.dimensions["group_system"]
    query = sa.select(table.c.instrument, table.c.name).where(
        sa.tuple_(table.c.instrument, table.c.name).in_(sorted(systems)),
        table.c.exclusive.is_(sa.true()),
    )
    return {(row[0], row[1]) for row in conn.execute(query)}


def _holders(
    conn: sa.Connection, table: sa.Table, keys: Sequence[Claim]
) -> Iterable[tuple[Claim, str]]:
    """The group holding each of ``keys`` that has a claim already."""
    columns = sa.tuple_(table.c.instrument, table.c.group_system, table.c.exposure)
    for start in range(0, len(keys), CHUNK):
        query = sa.select(table).where(columns.in_(keys[start : start + CHUNK]))
        for row in conn.execute(query).mappings():
            yield (row["instrument"], row["group_system"], row["exposure"]), row["group"]


def _conflict(key: Claim, held: str, wanted: str) -> ConflictError:
    instrument, system, exposure = key
    return ConflictError(
        f"exposure {exposure} of instrument {instrument!r} is already in group {held!r} of "
        f"the exclusive group system {system!r}; it cannot also be in group {wanted!r}"
    )


def group_members(
    conn: sa.Connection, tables: RegistryTables, instrument: str, system: str
) -> dict[str, list[int]]:
    """The members of each group of a system that has any, in position order."""
    table = tables.joins[MEMBERSHIP]
    query = (
        sa.select(table.c.group, table.c.exposure)
        .where(table.c.instrument == instrument, table.c.group_system == system)
        .order_by(table.c.group, table.c.position)
    )
    members: dict[str, list[int]] = {}
    for group, exposure in conn.execute(query):
        members.setdefault(group, []).append(exposure)
    return members


def member_position(
    builder: QueryBuilder, tables: RegistryTables, names: Sequence[str]
) -> sa.ColumnElement | None:
    """The membership ``position`` column when the query joins group membership and selects
    every dimension of a membership row (so each result row has one position), else None."""
    table = tables.joins.get(MEMBERSHIP)
    if table is None or not builder.includes(table):
        return None
    if not all(column.name in names for column in table.primary_key.columns):
        return None
    return table.c.position


def position_order(
    columns: Sequence[sa.ColumnElement], position: sa.ColumnElement
) -> list[sa.ColumnElement]:
    """ORDER BY terms: the selected columns but the member's, then the position, then the
    member, so that within each group its members come in position order."""
    member = [c for c in columns if c.name == MEMBER]
    return [*(c for c in columns if c.name != MEMBER), position, *member]
