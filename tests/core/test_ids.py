"""Deterministic IDs and canonical data ID keys: the scalar and the columnar forms agree,
and every ID is still the one the documented rule gives."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from quanta.core import DataCoordinate
from quanta.core.ids import (
    QUANTA_NAMESPACE,
    Extras,
    data_id_key,
    data_id_keys,
    output_dataset_id,
    output_dataset_ids,
    output_id_prefix,
    quantum_id,
    raw_dataset_id,
    uuid5_bytes,
)
from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe

UNIVERSE = load_universe(DEFAULT_UNIVERSE_PATH)
#: The namespace written out: if ``QUANTA_NAMESPACE`` changed, every ID would.
NAMESPACE = uuid.UUID("6f1e6a52-4c1b-5a3e-9d54-7a6b3c2f0e11")
RUN = "u/me/run"

#: (dimensions, rows of required values in universe order, free-form keys of each row).
CASES: list[tuple[tuple[str, ...], list[tuple[Any, ...]], list[Extras] | None]] = [
    (
        ("instrument", "detector", "exposure"),
        [("SimCam", 0, 2025010100001), ("SimCam", 15, 7), ("Cäm-2", 3, -1)],
        None,
    ),
    (
        ("instrument", "detector", "exposure"),
        [("SimCam", 3, 11), ("SimCam", 3, 12), ("SimCam", 4, 11)],
        [(), (("pair", "1001+1002"),), (("a_key", "x"), ("pair", "3+4"))],
    ),
    (
        ("instrument", "group", "detector"),
        [("SimCam", 1, "flatPairs", "1001-1002"), ("SimCam", 2, "flatPairs", "g.7")],
        [(("tag", "first"),), ()],
    ),
    (("skymap", "tract", "patch"), [("rings", 9813, 42)], None),
    ((), [(), ()], [(("pair", "1+2"),), (("k", "v"), ("z", "9"))]),
]


def _columns(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[np.ndarray]:
    """One array per dimension, as the graph builder keeps them: int64 or objects."""
    columns = []
    for i, name in enumerate(names):
        values = [row[i] for row in rows]
        is_int = UNIVERSE[name].key.type == "int"
        columns.append(np.array(values, dtype=np.int64 if is_int else object))
    return columns


@pytest.mark.parametrize(("dimensions", "rows", "extras"), CASES)
def test_scalar_and_columnar_keys_and_ids_agree(
    dimensions: tuple[str, ...], rows: list[tuple[Any, ...]], extras: list[Extras] | None
) -> None:
    group = UNIVERSE.group(dimensions)
    names = group.required
    coordinates = [
        DataCoordinate(group, row, None, None, extras[i] if extras else ())
        for i, row in enumerate(rows)
    ]
    scalar = [data_id_key(names, row, extras[i] if extras else ()) for i, row in enumerate(rows)]
    assert scalar == [c.key() for c in coordinates]
    columns = _columns(names, rows)
    assert list(data_id_keys(names, columns, extras, len(rows))) == scalar
    as_lists = [c.tolist() for c in columns]
    assert list(data_id_keys(names, as_lists, extras, len(rows))) == scalar
    prefixes = [output_id_prefix(RUN, "calexp"), output_id_prefix(RUN, "calexp_log")]
    calexp, log = output_dataset_ids(prefixes, names, columns, extras, len(rows))
    assert calexp.dtype == np.dtype("V16") and len(calexp) == len(rows)
    for i, coordinate in enumerate(coordinates):
        assert calexp[i].tobytes() == output_dataset_id(RUN, "calexp", coordinate).bytes
        assert log[i].tobytes() == output_dataset_id(RUN, "calexp_log", coordinate).bytes


@pytest.mark.parametrize(("dimensions", "rows", "extras"), CASES)
def test_output_ids_follow_the_documented_rule(
    dimensions: tuple[str, ...], rows: list[tuple[Any, ...]], extras: list[Extras] | None
) -> None:
    """UUIDv5 of (run, dataset type, canonical data ID), the key written out by hand."""
    group = UNIVERSE.group(dimensions)
    for i, row in enumerate(rows):
        free = extras[i] if extras else ()
        parts = [f"{k}={v}" for k, v in zip(group.required, row, strict=True)]
        parts += [f"{k}={v}" for k, v in free]
        expected = uuid.uuid5(NAMESPACE, f"{RUN}\x1fcalexp\x1f{','.join(parts)}")
        coordinate = DataCoordinate(group, row, None, None, free)
        assert output_dataset_id(RUN, "calexp", coordinate) == expected
        assert uuid5_bytes(f"{RUN}\x1fcalexp\x1f{coordinate.key()}") == expected.bytes


def test_existing_ids_are_unchanged() -> None:
    assert QUANTA_NAMESPACE == NAMESPACE
    exposure = DataCoordinate.standardize(
        {"instrument": "SimCam", "detector": 3, "exposure": 2025010100042}, universe=UNIVERSE
    )
    assert exposure.key() == "instrument=SimCam,detector=3,exposure=2025010100042"
    calexp = output_dataset_id(RUN, "calexp", exposure)
    assert calexp == uuid.UUID("d3b2ae4b-2c3a-51ee-abef-1ab0123c9094")
    pair = DataCoordinate.standardize(
        {"instrument": "SimCam", "detector": 3},
        universe=UNIVERSE,
        extras={"pair": "1001+1002"},
    )
    assert pair.key() == "instrument=SimCam,detector=3,pair=1001+1002"
    ptc_pair = output_dataset_id(RUN, "ptcPair", pair)
    assert ptc_pair == uuid.UUID("503e62a9-f116-59dc-97c5-5f7328061900")
    raw = raw_dataset_id("SimCam", "SC_20250101_000042", 3)
    assert raw == uuid.UUID("1cb08287-251c-5fb3-b712-2df5890d272d")
    quantum = quantum_id(RUN, "isr", exposure)
    assert quantum == uuid.UUID("3f639125-65ce-5872-81ed-d1f70c6f2b35")


def test_many_ids_in_chunks_match_one_by_one() -> None:
    """More rows than one hashing chunk (65,536), so chunk borders are crossed."""
    group = UNIVERSE.group(["instrument", "detector", "exposure"])
    count = 70_000
    columns = [
        np.array(["SimCam"] * count, dtype=object),
        np.arange(count, dtype=np.int64) % 16,
        np.arange(count, dtype=np.int64),
    ]
    (ids,) = output_dataset_ids(
        [output_id_prefix(RUN, "raw")], group.required, columns, None, count
    )
    for i in (0, 65_535, 65_536, count - 1):
        row = ("SimCam", i % 16, i)
        expected = output_dataset_id(RUN, "raw", DataCoordinate(group, row))
        assert ids[i].tobytes() == expected.bytes
    assert len({bytes(i) for i in ids}) == count
