"""Covariances of a difference image: the pixel pairs counted from a few bad pixels give
what a transform of the whole mask gives, to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from quanta.cp.algorithms import covariances_fft, ptc


@pytest.mark.parametrize(
    ("shape", "bad"), [((60, 50), 0.01), ((200, 180), 0.002), ((40, 90), 0.0), ((100, 100), 0.03)]
)
def test_counting_pairs_from_bad_pixels_matches_the_masks_transform(
    shape: tuple[int, int], bad: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(19)
    diff = rng.normal(size=shape).astype(np.float32)
    good = rng.random(shape) >= bad
    good[:2] = good[-3:] = False  # edges, as measure_pair masks them
    good[:, :2] = False
    sparse = covariances_fft(diff, good, 8)
    assert ptc._sparse_pair_counts(good, 8) is not None
    monkeypatch.setattr(ptc, "_SPARSE_BAD", -1)  # every mask is transformed
    assert ptc._sparse_pair_counts(good, 8) is None
    np.testing.assert_array_equal(covariances_fft(diff, good, 8), sparse)
    # Lag 0 is the variance of the good pixels.
    assert sparse[0, 0] == pytest.approx(float(np.var(diff[good], dtype=np.float64)), rel=1e-5)
