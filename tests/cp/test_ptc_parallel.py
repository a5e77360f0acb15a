"""The PTC tasks on several workers (``quanta.pipe.parallel``): option A over pairs and
the pair tasks over amplifiers measure the same bits as one worker, and as each other;
the fit over amplifiers gives the same ``ptc``, and the plot over amplifier columns the
same PNG bytes, on one worker and on two (the end-to-end test compares the curves of the
three designs)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from matplotlib.image import imread

from cp.test_ptc_tasks import _curve, flat
from quanta.core.image import Image
from quanta.cp.algorithms.ptc import PairOptions
from quanta.cp.ptc_curve import solve_detector
from quanta.cp.ptc_pairs import (
    PtcExtractPairConfig,
    PtcExtractPairTask,
    PtcGroupPairTask,
    PtcPairConfig,
)
from quanta.cp.ptc_plot import CELL_HEIGHT, CELL_WIDTH, DPI, TITLE_HEIGHT, render_ptc
from quanta.cp.ptc_solve import PtcInlineConfig, PtcInlineTask, PtcSolveConfig
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


@pytest.fixture(scope="module")
def cov_tables() -> list[pa.Table]:
    """Ten pairs of two amplifiers measured with covariances to lag 2."""
    return _curve(31, options=PairOptions(max_lag=2))


def _solve(tables: list[pa.Table], config: PtcSolveConfig, workers: Workers) -> dict[str, Any]:
    with parallel.given(workers):
        return solve_detector(tables, "Cam", 0, config.solve_options)


@pytest.mark.parametrize("model", ["astier", "full-covariance"])
def test_the_fit_on_two_workers_is_the_fit_on_one(cov_tables: list[pa.Table], model: str) -> None:
    """Each amplifier fitted in a process of its own: the same ``ptc``, to the bit (its
    JSON text), in amplifier order, with the covariance fit under the full model."""
    config = PtcSolveConfig(model=model, cov_max_lag=1, turnoff=False)
    serial = _solve(cov_tables, config, Workers(1))
    parallel_fit = _solve(cov_tables, config, Workers(2))
    assert json.dumps(parallel_fit) == json.dumps(serial)
    assert list(serial["amps"]) == ["C00", "C01"]
    assert ("covariance_fit" in serial["amps"]["C00"]) == (model == "full-covariance")
    assert serial["amps"]["C01"]["gain"] == pytest.approx(1.6, rel=0.05)


def test_the_plot_on_two_workers_is_the_same_png(cov_tables: list[pa.Table]) -> None:
    """Amplifier columns drawn in worker processes and joined: the same bytes as drawn
    in turn, one column of ``CELL_WIDTH`` per amplifier under the title strip."""
    ptc = _solve(cov_tables, PtcSolveConfig(turnoff=False), Workers(1))
    serial = render_ptc(ptc)
    with parallel.given(Workers(2)):
        assert render_ptc(ptc) == serial
    pixels = imread(io.BytesIO(serial))
    width, height = round(CELL_WIDTH * DPI), round((TITLE_HEIGHT + CELL_HEIGHT) * DPI)
    assert pixels.shape == (height, 2 * width, 4)
    assert (pixels[:, :width] != pixels[:, width:]).any()


def test_a_row_of_amplifiers_is_filled_with_white(cov_tables: list[pa.Table]) -> None:
    """Five amplifiers: two rows of four columns, the last three cells blank; the fifth
    amplifier (the first's fit under another name) differs from the first in its name."""
    ptc = _solve(cov_tables, PtcSolveConfig(turnoff=False), Workers(1))
    fit = ptc["amps"]["C00"]
    ptc["amps"] = {f"A{k}": fit for k in range(5)}
    with parallel.given(Workers(2)):
        pixels = imread(io.BytesIO(render_ptc(ptc)))
    width, height, top = (round(x * DPI) for x in (CELL_WIDTH, CELL_HEIGHT, TITLE_HEIGHT))
    assert pixels.shape == (top + 2 * height, 4 * width, 4)
    first, blank = pixels[top + height :, :width], pixels[top + height :, width:]
    rows, _ = np.nonzero((first != pixels[top : top + height, :width]).any(axis=2))
    assert rows.size and rows.max() < height / 10  # the summary's first line
    assert (first != 1.0).any() and (blank == 1.0).all()
