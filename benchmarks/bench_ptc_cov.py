"""The full covariance fit of the PTC (Astier et al. 2019, eq. 20) on one ``full`` detector.

Setup draws, for 16 amplifiers x 30 flat pairs from 100 e- to 85,000 e-, the covariances
at lags 0..7 that eq. 20 predicts for SimCam's brighter-fatter truth (a00 from -1.5e-6 to
-2.5e-6 1/e-, a01 = a10 = -a00 / 4, gain 1.2 to 1.8 e-/ADU, read noise 6 e-), scattered by
the statistical error of a 509 x 2000 pixel amplifier. The process is then pinned to one
core and ``fit_covariances`` is timed over all amplifiers (target: < 5 s). One core
means one BLAS thread: the pools are limited before numpy loads (several BLAS threads
pinned to one core take ten times longer on the fit's matrix-vector products). The
record also gives the median relative error of the fitted a01 and a10 against the truth.
"""

from __future__ import annotations

import argparse
import os
import time

for _pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

import numpy as np  # noqa: E402  (after the thread limits, which numpy reads at import)
from bench_ptc import pin_to_one_core, timed  # noqa: E402
from common import TARGETS, emit, log, summarize  # noqa: E402

from quanta.cp.algorithms.ptc_cov import CovFit, covariance_errors, fit_covariances  # noqa: E402
from quanta.cp.algorithms.ptc_cov_model import CovParams, cov_model  # noqa: E402
from quanta.sim.bf_truth import bf_coefficients  # noqa: E402

AMP_PIXELS = 509 * 2000
NOISE = 6.0
TARGETS.setdefault("fit_covariances", ("seconds", "<", 5.0))


def amp_truth(amp: int, amps: int, lags: int) -> CovParams:
    """One amplifier's true eq. 20 parameters over lags 0..``lags``."""
    r = lags + 1
    fraction = amp / max(amps - 1, 1)
    a3, b3 = bf_coefficients(-1.5e-6 - 1e-6 * fraction)
    k = min(r, 3)
    a, c, n = np.zeros((r, r)), np.zeros((r, r)), np.zeros((r, r))
    a[:k, :k], c[:k, :k] = a3[:k, :k], (a3 * b3)[:k, :k]
    n[0, 0] = NOISE**2
    return CovParams(a, c, n, 1.2 + 0.6 * fraction)


def synthetic(
    rng: np.random.Generator, truth: CovParams, pairs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means (ADU), covariances and pixel counts of ``pairs`` pairs drawn around eq. 20."""
    means = np.geomspace(100.0, 85_000.0, pairs) / truth.gain
    counts = np.full(pairs, float(AMP_PIXELS))
    exact = cov_model(means, truth)
    return (
        means,
        exact + covariance_errors(exact, counts) * rng.standard_normal(exact.shape),
        counts,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs (median reported)")
    parser.add_argument("--amps", type=int, default=16, help="amplifiers of the detector")
    parser.add_argument("--pairs", type=int, default=30, help="pairs per amplifier")
    parser.add_argument("--max-lag", type=int, default=7, help="highest lag fitted in x and y")
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    truths = [amp_truth(amp, args.amps, args.max_lag) for amp in range(args.amps)]
    inputs = [synthetic(rng, truth, args.pairs) for truth in truths]
    log(f"bench_ptc_cov: {args.amps} amplifiers x {args.pairs} pairs drawn")
    core = pin_to_one_core()
    fits: list[CovFit] = []

    def fit_all() -> None:
        fits[:] = [fit_covariances(*data, args.max_lag) for data in inputs]

    fit_all()  # warm-up: imports
    runs = [timed(fit_all) for _ in range(args.repeat)]
    errors = [
        abs(fit.a[lag] / truth.a[lag] - 1.0)
        for fit, truth in zip(fits, truths, strict=True)
        for lag in ((0, 1), (1, 0))
    ]
    record = summarize(
        "ptc_cov",
        "fit_covariances",
        runs,
        target="fit_covariances",
        core=core,
        amps=args.amps,
        pairs=args.pairs,
        max_lag=args.max_lag,
        parameters_per_amp=3 * (args.max_lag + 1) ** 2 + 1,
    )
    record["ms_per_amp"] = round(1000 * record["seconds"] / args.amps, 2)
    record["a01_a10_median_relative_error"] = round(float(np.median(errors)), 4)
    record["quality_good"] = sum(fit.quality == "good" for fit in fits)
    emit(record)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    log(f"bench_ptc_cov: done in {time.perf_counter() - started:.1f} s")
