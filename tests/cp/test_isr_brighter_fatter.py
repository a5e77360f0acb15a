"""ISR's ``do_brighter_fatter`` on a synthetic raw whose charge a known kernel moved."""

from __future__ import annotations

import numpy as np
import pytest

from cp.rawdata import quadrants, read_out
from quanta.cp.algorithms.bf_kernel import charge_moved, solve_kernel
from quanta.cp.isr import IsrConfig, IsrTask
from quanta.sim.bf_truth import bf_coefficients

GAINS = (1.2, 1.5, 1.8, 2.0)
LEVELS = (1000.0, 1100.5, 900.25, 1200.0)
SHAPE = (20, 24)
KERNEL = {"kernel": solve_kernel(bf_coefficients(-2e-6)[0], 3).tolist()}


def _task(**config: object) -> IsrTask:
    base = {"do_bias": False, "do_dark": False, "do_flat": False, "edge_width": 0}
    return IsrTask(IsrConfig(**{**base, "do_brighter_fatter": True, **config}))


def test_isr_gives_back_the_charge_before_the_exchange() -> None:
    """A noiseless raw of ``T + charge_moved(T)`` (50,000 e- with a 300 e- spread, which
    moves up to ~5 e-): ISR's output is T to 0.01 e- (float32 output, 1e-3 e- threshold),
    and the header says how it converged."""
    rng = np.random.default_rng(8)
    truth = 50_000.0 + 300.0 * rng.standard_normal(SHAPE)
    moved = charge_moved(truth, np.asarray(KERNEL["kernel"]))
    assert np.abs(moved).max() > 1.0
    raw = read_out(truth + moved, quadrants(), GAINS, LEVELS)
    out = _task().run(raw, brighter_fatter=KERNEL)["post_isr"]
    np.testing.assert_allclose(out.image, truth, atol=0.01)
    assert 1 < out.header["BFITER"] <= 10 and out.header["BFCHANGE"] < 1e-3
    plain = _task(do_brighter_fatter=False).run(raw)["post_isr"]
    assert "BFITER" not in plain.header
    assert np.abs(plain.image - truth).max() > 1.0


def test_isr_refuses_a_correction_it_cannot_make() -> None:
    raw = read_out(np.full(SHAPE, 1000.0), quadrants(), GAINS, LEVELS)
    with pytest.raises(ValueError, match="do_brighter_fatter corrects electrons"):
        _task(apply_gain=False).run(raw, brighter_fatter=KERNEL)
    with pytest.raises(ValueError, match="do_brighter_fatter is set but no brighter_fatter"):
        _task().run(raw)
