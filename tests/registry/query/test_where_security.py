"""Hostile ``where`` strings and bind values never reach SQL as text (invariant 4).

Each one either fails to parse, fails to compile, or is compared as a plain
value: the table survives and only the row that really holds that value
matches. The compiled SQL holds placeholders, never the user's text.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from quanta.core.errors import QueryError, QuerySyntaxError
from quanta.registry.query import compile_where, parse_where
from registry.query.exposure_table import HOSTILE_OBS_ID, ExposureDb, ExposureResolver


@pytest.mark.parametrize(
    ("where", "column"),
    [
        ("exposure.obs_id = 'x'; DROP TABLE exposure; --", 22),
        ("exposure = 1; DELETE FROM exposure", 13),
        ("exposure.obs_id = 'x' -- and the rest", 23),
        ("exposure.obs_id = 'x' /* comment */", 23),
        ("exposure.obs_id = 'x' UNION SELECT obs_id FROM exposure", 23),
        ('exposure.obs_id = "x" OR "1"="1"', 19),
        # Doubled quotes pair up until the last one, which is left open.
        ("exposure.obs_id = 'x'' OR ''1''=''1", 34),
        ("exposure; DROP TABLE exposure = 1", 9),
    ],
)
def test_hostile_text_does_not_parse(exposure_db: ExposureDb, where: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_where(where)
    assert info.value.column == column
    assert exposure_db.intact()


@pytest.mark.parametrize(
    "where",
    ["exposure.obs_id = '' OR '1'='1'", "exposure = 1 OR 1 = 1", "exposure.obs_id = :v OR :v = :v"],
)
def test_tautologies_do_not_compile(exposure_db: ExposureDb, where: str) -> None:
    with pytest.raises(QueryError, match="comparison of two values"):
        exposure_db.ids(where, {"v": "x"})
    assert exposure_db.intact()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # The doubled quote keeps the whole payload inside one string literal,
        # which is exactly the obs_id of exposure 5.
        ("exposure.obs_id = 'x''; DROP TABLE exposure; --'", [5]),
        ("exposure.obs_id = ''' OR ''1''=''1'", []),
        ("exposure.obs_id = '/* */ -- ; DROP TABLE exposure'", []),
        ("exposure.obs_id != ''' OR ''1''=''1'", [1, 2, 3, 4, 5, 6]),
        ("exposure.obs_id IN ('x''); DROP TABLE exposure; --', 'a'' OR 1=1')", []),
        ("instrument = 'SimCam'' --' AND exposure = 1", []),
        # A backslash escapes nothing: this is the one value \' OR 1=1 --
        ("exposure.obs_id = '\\'' OR 1=1 --'", []),
    ],
)
def test_hostile_string_literals_are_plain_values(
    exposure_db: ExposureDb, where: str, expected: list[int]
) -> None:
    assert exposure_db.ids(where) == expected
    assert exposure_db.intact()


@pytest.mark.parametrize(
    ("where", "binds", "expected"),
    [
        ("exposure.obs_id = :v", {"v": HOSTILE_OBS_ID}, [5]),
        ("exposure.obs_id = :v", {"v": "' OR '1'='1"}, []),
        ("exposure.obs_id = :v", {"v": "x'); DROP TABLE exposure; --"}, []),
        ("instrument = :v", {"v": "SimCam' /*"}, []),
        ("exposure.obs_id IN (:v)", {"v": ["' OR 1=1 --", "x; DROP TABLE exposure"]}, []),
        ("exposure.obs_id IN (:v)", {"v": ("a'", HOSTILE_OBS_ID)}, [5]),
    ],
)
def test_hostile_bind_values_are_plain_values(
    exposure_db: ExposureDb, where: str, binds: dict[str, Any], expected: list[int]
) -> None:
    assert exposure_db.ids(where, binds) == expected
    assert exposure_db.intact()


def _sql(statement: sa.Select[Any], engine: sa.Engine) -> tuple[str, dict[str, Any]]:
    """The SQL text the engine's dialect would send, with IN lists expanded, and its parameters."""
    compiled = statement.compile(engine, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def test_compiled_sql_holds_only_placeholders(exposure_db: ExposureDb) -> None:
    where = (
        "instrument = 'Hostile''Cam' AND exposure.obs_id IN (:payload_bind_name, 'DROP TABLE x') "
        "AND exposure IN (12345..67890:7, 424242) AND exposure.exposure_time < 98.765 "
        "AND exposure.timespan OVERLAPS (T'2026-03-01', T'2026-03-02') "
        "AND exposure.timespan.begin > T'2026-03-01T00:00:01'"
    )
    binds = {"payload_bind_name": ["x'); DELETE FROM exposure; --", "' OR '1'='1"]}
    statement = exposure_db.statement(where, binds)
    sql, params = _sql(statement, exposure_db.engine)
    user_text = [
        "Hostile",
        "payload_bind_name",
        "DROP",
        "DELETE",
        "'1'",
        "12345",
        "67890",
        "424242",
        "98.765",
        "2026",
        "1772323200",
    ]
    assert [text for text in user_text if text in sql] == []
    values = set(params.values())
    assert {"Hostile'Cam", *binds["payload_bind_name"], "DROP TABLE x"} <= values
    assert {12345, 67890, 7, 424242, 98.765} <= values
    assert exposure_db.ids(where, binds) == []
    assert exposure_db.intact()


def test_every_value_is_a_bound_parameter() -> None:
    """Each literal in the expression becomes one bound parameter of the SQL."""
    clause = compile_where(
        parse_where("instrument = 'a' AND detector IN (1, 2, 3) AND NOT exposure.obs_id = 'b'"),
        ExposureResolver(),
    )
    compiled = clause.compile(compile_kwargs={"render_postcompile": True})
    assert sorted(map(str, compiled.params.values())) == ["1", "2", "3", "a", "b"]
    assert str(compiled).count(":") == len(compiled.params)
