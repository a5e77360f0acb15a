"""The true a_ij and b_ij of SimCam's brighter-fatter model, as Astier et al. (2019) eq. 20
defines them, derived analytically from the charge exchange of ``physics.brighter_fatter``.

The exchange is linear in the Poisson excess ``d`` (variance ``mu``): the collected charge
is ``K * d`` for the kernel ``K`` that keeps ``1 + e`` in the pixel and moves ``-e / 4``
to each of its four neighbours. So the covariance at lag (i, j) is exactly ``mu`` times the
autocorrelation of ``K``: ``C00 = mu ((1 + e)^2 + e^2 / 4)``, ``C01 = -mu e (1 + e) / 2``,
``C11 = mu e^2 / 8``, ``C02 = mu e^2 / 16``, zero beyond. With ``x = a00 mu`` and
``(1 + e)^2 + e^2 / 4 = expm1(2 x) / (2 x)`` (``bf_strength``), the series
``e = x / 2 + 17 x^2 / 96 + ...`` gives

- to first order in ``mu`` (the a_ij): ``a00``, ``a01 = a10 = -a00 / 4`` (the sum rule),
  every other lag 0;
- to second order, matched to eq. 20's ``2/3 [a (x) a + a b]_ij`` where a_ij is not 0
  (the b_ij): ``C00 / mu`` has ``2/3 a00^2`` and ``(a (x) a)_00 = 5/4 a00^2``, so
  ``b00 = -a00 / 4``; ``C01 / mu`` has ``-41/192 a00^2`` and ``(a (x) a)_01 = -a00^2 / 2``,
  so ``b01 = b10 = -23/32 a00``. Where a_ij is 0, b_ij is 0 (eq. 20 leaves it undefined).

Eq. 20 does not describe this exchange exactly beyond first order: at (1, 1) it predicts
``2/3 (a (x) a)_11 = a00^2 / 12`` for the second-order term where the simulator has
``a00^2 / 32`` (and at (0, 2) ``a00^2 / 24`` against ``a00^2 / 64``), which a fit absorbs
into a small a_11, a_02 (a few percent of a01 at 100,000 e-). A high-statistics check of
these formulas against the exact kernel autocorrelation is in ``tests/sim``.
"""

from __future__ import annotations

import numpy as np

#: The lags (0..TRUTH_LAGS in x and y) whose a_ij and b_ij ``truth.json`` carries.
TRUTH_LAGS = 2


def bf_coefficients(a00: float, lags: int = TRUTH_LAGS) -> tuple[np.ndarray, np.ndarray]:
    """The true ``a[i, j]`` and ``b[i, j]`` (1/e-, lags 0..``lags``) of an amplifier whose
    brighter-fatter strength is ``a00``; ``i`` is the lag along y, ``j`` along x."""
    a = np.zeros((lags + 1, lags + 1))
    b = np.zeros_like(a)
    a[0, 0], b[0, 0] = a00, -a00 / 4.0
    if lags >= 1:
        a[0, 1] = a[1, 0] = -a00 / 4.0
        b[0, 1] = b[1, 0] = -23.0 * a00 / 32.0
    return a, b


def kernel_covariances(mu: float, a00: float, lags: int = TRUTH_LAGS) -> np.ndarray:
    """The exact covariances (e-^2) of a flat of ``mu`` electrons at lags 0..``lags``: ``mu``
    times the autocorrelation of the exchange kernel (for checking :func:`bf_coefficients`)."""
    from .physics import bf_strength

    e = float(bf_strength(np.asarray(mu, dtype=float), a00))
    kernel = np.zeros((2 * lags + 3, 2 * lags + 3))
    c = lags + 1
    kernel[c, c] = 1.0 + e
    kernel[c - 1, c] = kernel[c + 1, c] = kernel[c, c - 1] = kernel[c, c + 1] = -e / 4.0
    cov = np.zeros((lags + 1, lags + 1))
    for i in range(lags + 1):
        for j in range(lags + 1):
            shifted = np.roll(np.roll(kernel, i, axis=0), j, axis=1)
            cov[i, j] = mu * float(np.sum(kernel * shifted))
    return cov
