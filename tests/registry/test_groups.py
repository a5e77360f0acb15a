"""Group membership on both databases: exclusive systems, member order, where constraints."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from quanta.butler import Butler
from quanta.core import DataCoordinate, DatasetRef
from quanta.core.errors import ConflictError
from repo_data import DETECTORS, EXPOSURES, INSTRUMENT


def add_system(butler: Butler, system: str, exclusive: bool) -> None:
    butler.insert_dimension_records(
        "group_system", [{"instrument": INSTRUMENT, "name": system, "exclusive": exclusive}]
    )


def add_groups(butler: Butler, system: str, groups: dict[str, list[int]]) -> int:
    """Group records and their membership rows (members in the order given); new rows."""
    butler.insert_dimension_records(
        "group",
        [
            {"instrument": INSTRUMENT, "group_system": system, "name": g, "n_members": len(m)}
            for g, m in groups.items()
        ],
    )
    return butler.registry.insert_join_rows(
        "group_membership",
        [
            {
                "instrument": INSTRUMENT,
                "group_system": system,
                "group": g,
                "exposure": e,
                "position": i,
            }
            for g, members in groups.items()
            for i, e in enumerate(members)
        ],
    )


def members(butler: Butler, system: str) -> dict[str, list[int]]:
    names, rows = butler.registry.query_data_id_rows(
        butler.universe.group(["group", "exposure"]).required,
        data_id={"instrument": INSTRUMENT, "group_system": system},
    )
    assert names == ("instrument", "exposure", "group_system", "group")
    result: dict[str, list[int]] = {}
    for _, exposure, _, group in rows:
        result.setdefault(group, []).append(exposure)
    return result


def claims(butler: Butler) -> list[tuple]:
    table = butler.registry._tables.group_exclusive_member
    with butler.registry._db.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(table)))


def test_exclusive_system_refuses_a_second_group_for_an_exposure(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    assert add_groups(butler, "ptc", {"a": [5, 6]}) == 2
    with pytest.raises(ConflictError) as info:
        add_groups(butler, "ptc", {"b": [7, 6]})
    message = str(info.value)
    assert "exposure 6" in message and "'a'" in message and "'b'" in message
    assert "exclusive group system 'ptc'" in message
    # The whole failed call is undone: b's first member (7) was not kept either.
    assert members(butler, "ptc") == {"a": [5, 6]}
    assert claims(butler) == [(INSTRUMENT, "ptc", 5, "a"), (INSTRUMENT, "ptc", 6, "a")]


def test_exclusive_conflict_within_one_call(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    with pytest.raises(ConflictError, match=r"exposure 6 .* group 'a' .* group 'b'"):
        add_groups(butler, "ptc", {"a": [5, 6], "b": [6, 7]})
    assert members(butler, "ptc") == {}
    assert claims(butler) == []


def test_reinserting_identical_membership_is_idempotent(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    assert add_groups(butler, "ptc", {"a": [5, 6], "b": [7, 8]}) == 4
    assert add_groups(butler, "ptc", {"a": [5, 6], "b": [7, 8]}) == 0
    assert add_groups(butler, "ptc", {"b": [7, 8]}) == 0
    assert len(claims(butler)) == 4


def test_database_itself_enforces_exclusivity(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    add_groups(butler, "ptc", {"a": [5, 6]})
    # Write the membership row by hand, bypassing insert_join: the claim still collides.
    registry = butler.registry
    membership = registry._tables.joins["group_membership"]
    add_system(butler, "other", exclusive=False)
    butler.insert_dimension_records(
        "group", [{"instrument": INSTRUMENT, "group_system": "ptc", "name": "b"}]
    )
    row = {"instrument": INSTRUMENT, "group_system": "ptc", "group": "b", "exposure": 6}
    with pytest.raises(sa.exc.IntegrityError), registry._db.transaction() as conn:
        conn.execute(membership.insert(), [{**row, "position": 0}])
        conn.execute(registry._tables.group_exclusive_member.insert(), [row])
    assert members(butler, "ptc") == {"a": [5, 6]}


def test_non_exclusive_system_shares_exposures(butler: Butler) -> None:
    add_system(butler, "overlap", exclusive=False)
    assert add_groups(butler, "overlap", {"a": [5, 6], "b": [6, 7]}) == 4
    assert members(butler, "overlap") == {"a": [5, 6], "b": [6, 7]}
    assert claims(butler) == []
    # The same exposure may also be in a group of another (exclusive) system.
    add_system(butler, "ptc", exclusive=True)
    assert add_groups(butler, "ptc", {"a": [6, 5]}) == 2


def test_members_come_in_position_order(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    add_groups(butler, "ptc", {"b": [8, 5], "a": [7, 6]})
    names, rows = butler.registry.query_data_id_rows(
        ["instrument", "detector", "exposure", "group_system", "group"],
        where="detector IN (0, 1)",
    )
    assert names == ("instrument", "detector", "exposure", "group_system", "group")
    assert [(r[1], r[4], r[2]) for r in rows] == [
        (0, "a", 7),
        (0, "a", 6),
        (0, "b", 8),
        (0, "b", 5),
        (1, "a", 7),
        (1, "a", 6),
        (1, "b", 8),
        (1, "b", 5),
    ]
    data_ids = butler.query_data_ids(["group", "exposure"], where="group = 'b'")
    assert [d["exposure"] for d in data_ids] == [8, 5]


def test_group_members_in_position_order(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=False)
    add_groups(butler, "ptc", {"b": [8, 5], "a": [7, 6, 12]})
    assert butler.registry.query_group_members(INSTRUMENT, "ptc") == {
        "a": [7, 6, 12],
        "b": [8, 5],
    }
    assert butler.registry.query_group_members(INSTRUMENT, "other") == {}


@pytest.mark.postgres
def test_bulk_membership_refreshes_postgresql_statistics(postgres_butler: Butler) -> None:
    """Without fresh statistics PostgreSQL plans joins with the membership as if it were
    empty, and a query right after a large definition can take minutes."""
    butler = postgres_butler
    exposures = [{"instrument": INSTRUMENT, "id": 1000 + i, "obs_id": f"B{i}"} for i in range(1200)]
    butler.insert_dimension_records("exposure", exposures)
    add_system(butler, "big", exclusive=True)
    add_groups(butler, "big", {str(e["id"]): [e["id"]] for e in exposures})
    with butler.registry._db.connect() as conn:
        estimates = dict(
            conn.execute(
                sa.text(
                    "SELECT relname, reltuples FROM pg_class WHERE relname IN "
                    "('dim_exposure', 'dim_group', 'join_group_membership')"
                )
            ).all()
        )
    assert estimates == {"dim_exposure": 1212, "dim_group": 1200, "join_group_membership": 1200}


def test_queries_without_whole_membership_rows_stay_distinct(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=False)
    add_groups(butler, "ptc", {"a": [8, 5], "b": [5, 6]})
    data_ids = butler.query_data_ids(["group"], where="exposure IN (5, 6)")
    assert [d["group"] for d in data_ids] == ["a", "b"]
    data_ids = butler.query_data_ids(["exposure"], where="group IN ('a', 'b')")
    assert [d["exposure"] for d in data_ids] == [5, 6, 8]


def test_where_language_sees_groups_and_membership(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    add_system(butler, "other", exclusive=False)
    add_groups(butler, "ptc", {"a": [5, 6], "b": [7, 8]})
    add_groups(butler, "other", {"c": [5, 7]})
    records = butler.query_dimension_records(
        "group", where="group.system = 'ptc' AND exposure IN (5, 6)"
    )
    assert [(r.group_system, r.name, r.n_members) for r in records] == [("ptc", "a", 2)]
    records = butler.query_dimension_records("group", where="exposure = 7")
    assert [(r.group_system, r.name) for r in records] == [("other", "c"), ("ptc", "b")]
    exposures = butler.query_dimension_records(
        "exposure", where="group.system = :system AND group = 'b'", binds={"system": "ptc"}
    )
    assert [e.id for e in exposures] == [7, 8]


def test_group_system_of_a_group_selects_its_members(butler: Butler) -> None:
    add_system(butler, "ptc", exclusive=True)
    add_groups(butler, "ptc", {"a": [5, 6], "b": [7, 8]})
    members = butler.query_data_ids(["exposure", "detector"], where="group.system = 'ptc'")
    assert sorted({d["exposure"] for d in members}) == [5, 6, 7, 8]
    assert len(members) == 4 * len(DETECTORS)
    # group_system alone is not about groups: every exposure goes with the system.
    unrelated = butler.query_data_ids(["exposure"], where="group_system = 'ptc'")
    assert [d["exposure"] for d in unrelated] == list(EXPOSURES)


def test_datasets_are_not_repeated_by_shared_members(butler: Butler) -> None:
    raw = butler.register_dataset_type("raw", ["instrument", "detector", "exposure"], "NumpyArray")
    butler.registry.register_run("raws")
    refs = [
        DatasetRef.for_output(
            raw,
            DataCoordinate.standardize(
                {"instrument": INSTRUMENT, "detector": 0, "exposure": e}, raw.dimensions
            ),
            "raws",
        )
        for e in EXPOSURES
    ]
    butler.registry.insert_datasets(refs)
    add_system(butler, "overlap", exclusive=False)
    add_groups(butler, "overlap", {"a": [5, 6], "b": [6, 7]})
    found = butler.query_datasets("raw", "raws", where="group.system = 'overlap'")
    assert sorted(r.data_id["exposure"] for r in found) == [5, 6, 7]
    found = butler.query_datasets("raw", "raws", where="group IN ('a', 'b')", find_first=False)
    assert sorted(r.data_id["exposure"] for r in found) == [5, 6, 7]
