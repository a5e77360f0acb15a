"""Set-based queries over dimensions and datasets, with ``where`` constraints.

A ``QueryBuilder`` gathers *providers* for each dimension: columns of dataset
relations, dimension tables and join tables. It adds dimension tables only
when a dimension has no provider yet, when a record field is referenced, or
when they link an implied dimension (exposure -> physical_filter -> band),
then equates every provider of a dimension with the first one. ``where``
text is parsed to an AST and compiled with bound parameters only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ...core.errors import QueryError
from ...core.universe import DimensionUniverse
from ..schema import RegistryTables
from .ast import Identifier


class QueryBuilder:
    """Builds one SELECT over dimension-keyed relations."""

    def __init__(self, tables: RegistryTables, universe: DimensionUniverse) -> None:
        self._tables = tables
        self._universe = universe
        self._providers: dict[str, list[sa.ColumnElement]] = {}
        self._froms: list[sa.FromClause] = []
        self._dim_tables: dict[str, sa.Table] = {}
        self._conditions: list[sa.ColumnElement[bool]] = []
        self._needed: set[str] = set()
        self._fixed: dict[str, Any] = {}
        self._free_form: sa.ColumnElement | None = None
        self._free_keys: frozenset[str] = frozenset()

    # -- relations -------------------------------------------------------------------------

    def add_relation(
        self, relation: sa.FromClause, dimensions: Mapping[str, sa.ColumnElement]
    ) -> None:
        """Join a relation that provides the given dimension columns."""
        self._froms.append(relation)
        for name, column in dimensions.items():
            self._providers.setdefault(name, []).append(column)

    def constrain(self, name: str, value: Any) -> None:
        """Require dimension ``name`` to equal ``value`` (a data ID constraint)."""
        self.require([name])
        self._fixed[name] = value

    def allow_free_form(self, extras: sa.ColumnElement, keys: Iterable[str]) -> None:
        """Let ``where`` name the free-form keys ``keys`` (``pair``) that ``extras``, a
        dataset's canonical JSON list of [key, value] pairs, holds."""
        self._free_form = extras
        self._free_keys = frozenset(keys)

    def free_form(self, ident: Identifier) -> sa.ColumnElement | None:
        """The extras column when ``ident`` is one of the free-form keys a query allows (a
        bare name that is not a dimension), else ``None``."""
        parts = ident.parts
        if len(parts) != 1 or parts[0] in self._universe or parts[0] not in self._free_keys:
            return None
        return self._free_form

    def add_condition(self, condition: sa.ColumnElement[bool]) -> None:
        """AND a condition into the WHERE clause."""
        self._conditions.append(condition)

    def _add_dimension_table(self, name: str) -> sa.Table:
        table = self._dim_tables.get(name)
        if table is not None:
            return table
        dim = self._universe[name]
        table = self._tables.dimensions[name]
        self._dim_tables[name] = table
        self._froms.append(table)
        self._providers.setdefault(name, []).append(table.c[dim.key.name])
        for other in (*dim.required, *dim.implied):
            self._providers.setdefault(other, []).append(table.c[other])
        return table

    def needs_beyond(self, dimensions: Iterable[str]) -> bool:
        """True if the query involves a dimension outside ``dimensions`` (after
        ``finish_joins``): its rows may then repeat one value of ``dimensions``."""
        return not self._needed <= set(dimensions)

    def includes(self, relation: sa.FromClause) -> bool:
        """True if ``relation`` is joined into the query (after ``finish_joins``)."""
        return relation in self._froms

    def dimension_table(self, name: str) -> sa.Table:
        """The table of ``name``'s records, joined into the query."""
        self._needed.add(name)
        return self._add_dimension_table(name)

    # -- resolution ------------------------------------------------------------------------

    def require(self, names: set[str] | list[str] | tuple[str, ...]) -> None:
        """Make sure every named dimension (and what identifies it) is in the query."""
        self._needed.update(self._universe.group(names).required)

    def canonical(self, name: str) -> sa.ColumnElement:
        """The column standing for dimension ``name`` (after ``finish_joins``)."""
        try:
            return self._providers[name][0]
        except KeyError:
            raise QueryError(f"dimension {name!r} is not part of this query") from None

    def finish_joins(self) -> None:
        """Add linking tables, dimension tables for unprovided dimensions, and join tables;
        then equate all providers of each dimension."""
        self._link_implied()
        for _ in range(len(self._universe.dimensions) + 1):
            missing = [n for n in self._universe.sorted(self._needed) if n not in self._providers]
            if not missing:
                break
            for name in missing:
                self._add_dimension_table(name)
            self._needed.update(d for n in missing for d in self._universe[n].required)
        for join in self._universe.joins_within(self._needed):
            if len([d for d in join.dimensions if d in self._needed]) < 2:
                continue
            table = self._tables.joins[join.name]
            self._froms.append(table)
            for name in self._universe.group(join.dimensions).required:
                self._providers.setdefault(name, []).append(table.c[name])
        for name in self._universe.sorted(self._providers):
            first, *rest = self._providers[name]
            if name not in self._needed and not rest:
                continue
            self._conditions.extend(first == other for other in rest)
        for name, value in self._fixed.items():
            self._conditions.append(self.canonical(name) == value)

    def _link_implied(self) -> None:
        """Join the tables on implied paths between needed dimensions (exposure -> band)."""
        for start in list(self._universe.sorted(self._needed)):
            stack: list[tuple[str, tuple[str, ...]]] = [(start, ())]
            while stack:
                node, path = stack.pop()
                for implied in self._universe[node].implied:
                    chain = (*path, node)
                    if implied in self._needed and implied != start:
                        for link in chain:
                            self._needed.add(link)
                            self._add_dimension_table(link)
                    stack.append((implied, chain))

    # -- where -----------------------------------------------------------------------------

    def resolve_identifier(self, ident: Identifier) -> tuple[str, str | None]:
        """Map an identifier to (dimension, field or None for the key), checking names."""
        parts = ident.parts
        head = parts[0]
        if head not in self._universe:
            raise QueryError(
                f"unknown name {'.'.join(parts)!r} at column {ident.column}; valid dimensions: "
                f"{', '.join(self._universe.dimensions)}"
            )
        dim = self._universe[head]
        if len(parts) == 1:
            return head, None
        attr = dim.aliases.get(parts[1], parts[1])
        if len(parts) == 2 and attr == dim.key.name:
            return head, None
        if len(parts) == 2 and attr in (*dim.required, *dim.implied):
            return attr, None
        if attr == "timespan" and dim.has_timespan and len(parts) <= 3:
            return head, ".".join(parts[1:])
        if len(parts) == 2 and attr in {f.name for f in dim.fields}:
            return head, attr
        valid = [dim.key.name, *dim.aliases, *dim.field_names]
        raise QueryError(
            f"unknown field {'.'.join(parts)!r} at column {ident.column}; valid fields of "
            f"{head}: {', '.join(dict.fromkeys(valid))}"
        )

    def prepare_where(self, expr: Any) -> None:
        """Note the dimensions and tables that a parsed ``where`` needs (call before joins)."""
        from .ast import referenced_identifiers

        if expr is None:
            return
        for ident in referenced_identifiers(expr):
            if self.free_form(ident) is not None:
                continue
            dim, field = self.resolve_identifier(ident)
            # A qualified name brings in what it qualifies: "group.system" is the system
            # of a group, so it joins groups (and their members), unlike "group_system".
            self.require([dim, ident.parts[0]] if field is None else [ident.parts[0]])
            if field is not None:
                self.dimension_table(ident.parts[0])

    def compile_where(self, expr: Any, binds: Mapping[str, Any] | None) -> None:
        """Compile a parsed ``where`` into the WHERE clause (call after ``finish_joins``)."""
        from .compiler import compile_where

        if expr is not None:
            self._conditions.append(compile_where(expr, _Resolver(self), binds or {}))

    # -- output ----------------------------------------------------------------------------

    def select(self, *columns: sa.ColumnElement, distinct: bool = False) -> sa.Select:
        """The finished SELECT of ``columns``."""
        query = sa.select(*columns)
        froms = list(dict.fromkeys(self._froms))
        if froms:
            query = query.select_from(*froms)
        if self._conditions:
            query = query.where(*self._conditions)
        return query.distinct() if distinct else query


class _Resolver:
    """Column resolution for the where compiler, backed by a ``QueryBuilder``."""

    def __init__(self, builder: QueryBuilder) -> None:
        self._builder = builder

    def column(self, ident: Identifier) -> sa.ColumnElement:
        dim, field = self._builder.resolve_identifier(ident)
        if field is None:
            return self._builder.canonical(dim)
        if field.startswith("timespan"):
            begin, end = self.timespan(ident)
            if field.endswith(".begin"):
                return begin
            if field.endswith(".end"):
                return end
            raise QueryError(
                f"{'.'.join(ident.parts)} at column {ident.column} is a timespan; compare it "
                "with OVERLAPS, or use .begin / .end"
            )
        return self._builder.dimension_table(ident.parts[0]).c[field]

    def timespan(self, ident: Identifier) -> tuple[sa.ColumnElement, sa.ColumnElement]:
        _, field = self._builder.resolve_identifier(ident)
        if field != "timespan":
            raise QueryError(f"{'.'.join(ident.parts)} at column {ident.column} is not a timespan")
        table = self._builder.dimension_table(ident.parts[0])
        return table.c.timespan_begin, table.c.timespan_end

    def free_form(self, ident: Identifier) -> sa.ColumnElement | None:
        return self._builder.free_form(ident)

    def key_type(self, ident: Identifier) -> str | None:
        universe = self._builder._universe
        dim, field = self._builder.resolve_identifier(ident)
        if field is None:
            return universe[dim].key.type
        if field.startswith("timespan"):
            return "int" if "." in field else None
        return universe[dim].field(field).type
