"""A small exposure table, its rows, and a resolver for it, shared by the ``where`` tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from quanta.core.errors import QueryError
from quanta.core.timespan import tai_ns_from_iso
from quanta.registry.query import Identifier, compile_where, parse_where

T0 = tai_ns_from_iso("2026-03-01T00:00:00")
S = 1_000_000_000
HOSTILE_OBS_ID = "x'; DROP TABLE exposure; --"

# id, instrument, detector, obs_id, exposure_time, observation_type, note, begin, end
ROWS = [
    (1, "SimCam", 1, "SC_001", 0.0, "bias", "a", T0, T0 + 10 * S),
    (2, "SimCam", 2, "SC_002", 5.0, "flat", "b", T0 + 100 * S, T0 + 110 * S),
    (3, "SimCam", 3, "SC_003", 10.0, "flat", "c", T0 + 200 * S, T0 + 210 * S),
    (4, "SimCam", 4, "SC_004", 30.0, "science", "d", T0 + 300 * S, T0 + 330 * S),
    (5, "OtherCam", 5, HOSTILE_OBS_ID, 5.0, "dark", "e", T0 + 305 * S, T0 + 400 * S),
    (6, "OtherCam", 6, "it's", 2.5, "flat", "f", T0 + 400 * S, T0 + 500 * S),
]
ALL_IDS = [row[0] for row in ROWS]

METADATA = sa.MetaData()
EXPOSURE = sa.Table(
    "exposure",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("instrument", sa.String(32), nullable=False),
    sa.Column("detector", sa.Integer, nullable=False),
    sa.Column("obs_id", sa.String(64), nullable=False),
    sa.Column("exposure_time", sa.Float, nullable=False),
    sa.Column("observation_type", sa.String(32), nullable=False),
    sa.Column("note", sa.String(32), nullable=False),
    sa.Column("begin_ns", sa.BigInteger, nullable=False),
    sa.Column("end_ns", sa.BigInteger, nullable=False),
)
OTHER = EXPOSURE.alias("other")

# (table, column name, key type) for each name the resolver knows.
_FIELDS: dict[tuple[str, ...], tuple[sa.FromClause, str, str | None]] = {
    ("exposure",): (EXPOSURE, "id", "int"),
    ("other",): (OTHER, "id", "int"),
    ("instrument",): (EXPOSURE, "instrument", "string"),
    ("detector",): (EXPOSURE, "detector", "int"),
    ("exposure", "obs_id"): (EXPOSURE, "obs_id", "string"),
    ("exposure", "exposure_time"): (EXPOSURE, "exposure_time", "float"),
    ("exposure", "observation_type"): (EXPOSURE, "observation_type", "string"),
    ("exposure", "note"): (EXPOSURE, "note", None),
}
_TIMESPANS = {("exposure", "timespan"): EXPOSURE, ("other", "timespan"): OTHER}


class ExposureResolver:
    """Resolves the names of ``_FIELDS`` and ``_TIMESPANS``, as the registry would."""

    def column(self, ident: Identifier) -> sa.ColumnElement[Any]:
        table, name, _ = self._field(ident)
        return table.c[name]

    def timespan(self, ident: Identifier) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        table = _TIMESPANS.get(ident.parts)
        if table is None:
            raise QueryError(f"no timespan {ident.name!r}; valid: exposure.timespan")
        return table.c.begin_ns, table.c.end_ns

    def key_type(self, ident: Identifier) -> str | None:
        return self._field(ident)[2]

    def free_form(self, ident: Identifier) -> sa.ColumnElement[Any] | None:
        """No free-form keys here: every name is a column."""
        return None

    def _field(self, ident: Identifier) -> tuple[sa.FromClause, str, str | None]:
        try:
            return _FIELDS[ident.parts]
        except KeyError:
            valid = ", ".join(".".join(parts) for parts in _FIELDS)
            raise QueryError(f"unknown name {ident.name!r}; valid names: {valid}") from None


@dataclass
class ExposureDb:
    """The engine holding ``EXPOSURE`` with ``ROWS``."""

    engine: sa.Engine

    def statement(self, where: str, binds: Mapping[str, Any] | None = None) -> sa.Select[Any]:
        """Select exposure IDs matching ``where``."""
        clause = compile_where(parse_where(where), ExposureResolver(), binds)
        return sa.select(EXPOSURE.c.id).where(clause).order_by(EXPOSURE.c.id)

    def ids(self, where: str, binds: Mapping[str, Any] | None = None) -> list[int]:
        """The sorted IDs of the exposures ``where`` selects."""
        with self.engine.connect() as conn:
            return list(conn.scalars(self.statement(where, binds)))

    def intact(self) -> bool:
        """True if the table still exists and holds every row."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("exposure"):
                return False
            return conn.scalar(sa.select(sa.func.count()).select_from(EXPOSURE)) == len(ROWS)
