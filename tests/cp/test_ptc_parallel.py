"""The PTC tasks on several workers (``quanta.pipe.parallel``): option A over pairs and
the pair tasks over amplifiers measure the same bits as one worker, and as each other
(the curve is a deterministic fit of those tables; the end-to-end test compares the
curves of the three designs)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cp.test_ptc_tasks import flat
from quanta.core.image import Image
from quanta.cp.ptc_pairs import (
    PtcExtractPairConfig,
    PtcExtractPairTask,
    PtcGroupPairTask,
    PtcPairConfig,
)
from quanta.cp.ptc_solve import PtcInlineConfig, PtcInlineTask
from quanta.pipe import parallel
from quanta.pipe.parallel import ItemError, Workers

PAIRS = [(100 + 2 * k, 101 + 2 * k) for k in range(6)]


@pytest.fixture(scope="module")
def flats() -> dict[int, Image]:
    """Six pairs from 300 to 50,000 e-, two amplifiers each, paired by exposure time."""
    rng = np.random.default_rng(21)
    images: dict[int, Image] = {}
    for k, electrons in enumerate(np.geomspace(300, 50_000, 6)):
        images[100 + 2 * k] = flat(rng, electrons, float(k + 1))
        images[101 + 2 * k] = flat(rng, electrons, float(k + 1))
    return images


def _inline(flats: dict[int, Image], workers: Workers) -> list[pa.Table]:
    """Option A's pair tables (lag-8 covariances included) on ``workers``."""
    with parallel.given(workers):
        return PtcInlineTask(PtcInlineConfig(), label="ptcInline").measure(flats)


def _same(tables: list[pa.Table], others: list[pa.Table]) -> bool:
    return len(tables) == len(others) and all(map(pa.Table.equals, tables, others))


def test_option_a_on_several_workers_is_bit_identical_to_one(flats: dict[int, Image]) -> None:
    serial = _inline(flats, Workers(1))
    assert [t.column("pair")[0].as_py() for t in serial] == [f"{a}+{b}" for a, b in PAIRS]
    for count in (2, 3):
        assert _same(_inline(flats, Workers(count)), serial)


def test_option_a_matches_pair_tasks_run_over_amplifiers(flats: dict[int, Image]) -> None:
    """B3's and B1's pair tasks, each measuring its amplifiers on two workers: the tables
    A measures on two workers, and on one, to the bit."""
    b3 = PtcExtractPairTask(PtcExtractPairConfig(), label="ptcExtractPair")
    b1 = PtcGroupPairTask(PtcPairConfig(), label="ptcGroupPair")
    with parallel.given(Workers(2)):
        extracted = [b3.run(flats[a], flats[b], (a, b))["pair"] for a, b in PAIRS]
        grouped = [b1.run(flats[a], flats[b], (a, b))["pair"] for a, b in PAIRS]
    serial = [b3.run(flats[a], flats[b], (a, b))["pair"] for a, b in PAIRS]
    assert _same(extracted, serial) and _same(grouped, serial)
    assert _same(_inline(flats, Workers(2)), serial)
    assert serial[0].column("amp").to_pylist() == ["C00", "C01"]
    assert len(serial[0].column("cov")[0].as_py()) == 9**2


def test_a_pair_that_fails_is_named(flats: dict[int, Image]) -> None:
    broken = dict(flats)
    broken[104] = Image(flats[104].image, header={"EXPTIME": 3.0, "DAYOBS": 20240101})
    with pytest.raises(ItemError, match=r"item 2 \(pair 104\+105\) raised ValueError: .*AMPSEC"):
        _inline(broken, Workers(2))
