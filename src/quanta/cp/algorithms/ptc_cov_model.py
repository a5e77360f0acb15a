"""The full covariance model of the PTC (Astier et al. 2019, eq. 20) and its Jacobian.

For a flat pair of mean ``mu`` ADU and gain ``g`` (e-/ADU), with ``u = g mu`` electrons,
the covariance (ADU^2) at lag ``x = (i, j)`` (i rows, j columns) is

    C_x = delta_x mu / g + [a_x u^2 + 2/3 (a*a + ab)_x u^3
          + (1/3 a*a*a + 5/6 a*(ab))_x u^4] / g^2 + n_x / g^2

where ``*`` is the 2-d convolution over all lags (a_ij is symmetric: a(-i, j) = a(i, j)),
``ab`` the element-wise product, ``a_x`` (1/e-) the pixel-area change per electron in the
pixel at lag x, ``b_x`` (1/e-) how that change grows with the charge, and ``n_x`` (e-^2)
the read-noise covariance (``n_00`` the read noise squared). Parameters are held over
the quadrant of lags 0..r-1 as ``r x r`` arrays; convolutions extend them to all four
quadrants. The fit varies ``c = ab`` rather than b: the model is linear in c, while b is
undetermined wherever a is 0, which would leave the fit wandering along b there.
The Jacobian is analytic: the derivative of a convolution with respect to a_kl is the
sum of the other factor shifted to each of the (up to four) mirror images of (k, l).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class CovParams:
    """The parameters of eq. 20 over lags 0..r-1: ``a`` (1/e-), ``c = ab`` (1/e-^2) and
    ``n`` (e-^2) as ``r x r`` arrays ``[i, j]``, and the gain (e-/ADU)."""

    a: np.ndarray
    c: np.ndarray
    n: np.ndarray
    gain: float

    def vector(self) -> np.ndarray:
        """The parameters as one vector: a, c, n (row-major), gain."""
        return np.concatenate([self.a.ravel(), self.c.ravel(), self.n.ravel(), [self.gain]])

    @classmethod
    def from_vector(cls, p: np.ndarray, r: int) -> CovParams:
        """The parameters of :meth:`vector` back, for lags 0..``r``-1."""
        size = r * r
        a, c, n = (p[k * size : (k + 1) * size].reshape(r, r) for k in range(3))
        return cls(a, c, n, float(p[-1]))


def unfold(quadrant: np.ndarray, half: int) -> np.ndarray:
    """A quadrant ``[i, j]`` (i, j >= 0) as the symmetric array over lags -half..half."""
    r = quadrant.shape[0]
    lags = np.abs(np.arange(-half, half + 1))
    inside = lags < r
    full = np.zeros((2 * half + 1, 2 * half + 1))
    full[np.ix_(inside, inside)] = quadrant[np.ix_(lags[inside], lags[inside])]
    return full


def convolve(f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The full 2-d convolution of two centred arrays (odd sizes), centred: by FFT, which
    is exact to rounding at these sizes and spares importing scipy.signal."""
    shape = (f.shape[0] + g.shape[0] - 1, f.shape[1] + g.shape[1] - 1)
    return np.fft.irfft2(np.fft.rfft2(f, shape) * np.fft.rfft2(g, shape), shape)


@cache
def _mirror_index(r: int, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices into an array centred at ``half`` of ``x - p`` for every lag x of the
    quadrant, parameter (k, l) and mirror image p of (k, l), with weights 1 for distinct
    mirrors and 0 for repeats (k or l zero): shapes (r*r, r*r, 4)."""
    x = np.arange(r)
    xi, xj = (v.ravel() for v in np.meshgrid(x, x, indexing="ij"))
    signs = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)])
    rows = xi[:, None, None] - (xi[None, :, None] * signs[None, None, :, 0]) + half
    cols = xj[:, None, None] - (xj[None, :, None] * signs[None, None, :, 1]) + half
    weight = (
        ((signs[:, 0] == 1)[None, :] | (xi[:, None] > 0))
        & ((signs[:, 1] == 1)[None, :] | (xj[:, None] > 0))
    ).astype(float)[None, :, :]
    return rows, cols, np.broadcast_to(weight, rows.shape)


def shift_sums(full: np.ndarray, r: int) -> np.ndarray:
    """``S[x, kl] = sum over the mirror images p of (k, l) of full(x - p)``, for x and
    (k, l) in the quadrant of lags 0..r-1 (``full`` centred, half-size >= 2 (r - 1))."""
    half = full.shape[0] // 2
    rows, cols, weight = _mirror_index(r, half)
    return np.einsum("xkm,xkm->xk", full[rows, cols], weight)


@dataclass(frozen=True)
class _Terms:
    """The convolution terms of eq. 20 over the quadrant, flattened to r*r lags, and the
    unfolded arrays their derivatives need."""

    a: np.ndarray
    second: np.ndarray
    third: np.ndarray
    a_full: np.ndarray
    c_full: np.ndarray
    aa_full: np.ndarray


def _terms(params: CovParams) -> _Terms:
    """``2/3 (a*a + ab)`` and ``1/3 a*a*a + 5/6 a*(ab)`` at the lags of the quadrant."""
    r = params.a.shape[0]
    half = 2 * (r - 1)
    a_full = unfold(params.a, half)
    c_full = unfold(params.c, half)
    small_a = unfold(params.a, r - 1)
    aa_full = convolve(small_a, small_a)  # exact out to lags 2 (r - 1), half-size 2 (r - 1)
    aaa = convolve(aa_full, small_a)
    ac = convolve(unfold(params.c, r - 1), small_a)
    centre3, centre2 = aaa.shape[0] // 2, ac.shape[0] // 2
    quad = np.s_[centre2 : centre2 + r, centre2 : centre2 + r]
    second = 2.0 / 3.0 * (aa_full[quad] + params.c)
    third = aaa[centre3 : centre3 + r, centre3 : centre3 + r] / 3.0 + 5.0 / 6.0 * ac[quad]
    return _Terms(params.a.ravel(), second.ravel(), third.ravel(), a_full, c_full, aa_full)


def cov_model(mean: np.ndarray, params: CovParams) -> np.ndarray:
    """Eq. 20: the covariances (ADU^2) of pairs of ``mean`` ADU, shape (pairs, r, r)."""
    r = params.a.shape[0]
    t = _terms(params)
    g = params.gain
    u = g * np.asarray(mean, dtype=np.float64)[:, None]
    model = (u**2 * t.a + u**3 * t.second + u**4 * t.third + params.n.ravel()) / g**2
    model[:, 0] += u[:, 0] / g**2
    return model.reshape(-1, r, r)


def cov_jacobian(mean: np.ndarray, params: CovParams) -> np.ndarray:
    """The derivatives of :func:`cov_model` (flattened to pairs x lags) with respect to
    :meth:`CovParams.vector`: shape (pairs * r * r, 3 r * r + 1)."""
    r = params.a.shape[0]
    size = r * r
    t = _terms(params)
    g = params.gain
    mean = np.asarray(mean, dtype=np.float64)
    u = g * mean[:, None, None]
    shift_a = shift_sums(t.a_full, r)
    eye = np.eye(size)
    d3_da = shift_sums(t.aa_full, r) + 5.0 / 6.0 * shift_sums(t.c_full, r)
    j_a = (u**2 * eye + u**3 * (4.0 / 3.0) * shift_a + u**4 * d3_da) / g**2
    j_c = (u**3 * (2.0 / 3.0) * eye + u**4 * (5.0 / 6.0) * shift_a) / g**2
    j_n = np.broadcast_to(eye / g**2, j_a.shape)
    uu = u[:, :, 0]
    q = uu**2 * t.a + uu**3 * t.second + uu**4 * t.third
    dq = 2.0 * uu * t.a + 3.0 * uu**2 * t.second + 4.0 * uu**3 * t.third
    j_g = (mean[:, None] * dq - 2.0 * (q + params.n.ravel()) / g) / g**2
    j_g[:, 0] -= mean / g**2
    jac = np.concatenate([j_a, j_c, j_n, j_g[:, :, None]], axis=2)
    return jac.reshape(mean.size * size, 3 * size + 1)
