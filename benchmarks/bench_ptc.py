"""The PTC core on one ``full`` SimCam detector: ``measure_pair`` and ``fit_ptc``.

Setup makes one flat pair of 16 amplifiers of 509 x 2000 pixels (float32, ISR'd-like:
Poisson electrons at 20,000 e-, read noise 6 e-, divided by the gain 1.5 e-/ADU). The
process is then pinned to one core (every thread, BLAS pools included) and each stage
is timed over all amplifiers: ``measure_pair_cov`` with covariances up to lag 8 (target
< 1 s), ``measure_pair`` without them (target < 0.3 s), and ``fit_ptc`` (Astier eq. 16)
and ``fit_ptc_polynomial`` on 16 amplifiers x 20 pairs of (mean, variance) points.
``extract_pair`` times what the ``ptcExtractPair`` task does with the same pixels laid
out as two assembled 4000 x 4072 ``Image``s (2 rows of 8 amplifiers, ``AMPSEC`` cards,
mask planes): masks combined, each amplifier sliced from the detector image and
measured with lag-8 covariances, the per-amplifier table built (target < 1 s).
Records give the median wall seconds, CPU seconds and milliseconds per amplifier.

Then, unpinned, the read floor: ``read_pair`` reads both images back from FITS files
written by the ``Image`` formatter (image, mask and variance planes), and
``extract_pair_threads`` does what ``extract_pair`` does on as many threads as the
process may use (``quanta.pipe.parallel``); its ``read_floor_ratio`` is its time over
``read_pair``'s (target < 3). Both records give the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import TARGETS, emit, log, summarize

from quanta.core.image import Image
from quanta.cp.algorithms import (
    MaskBit,
    PairOptions,
    SolveOptions,
    fit_ptc,
    measure_pair,
    ptc_model,
)
from quanta.cp.ptc_pairs import measure_exposure_pair
from quanta.datastore.formatters.image import FORMATTER
from quanta.pipe.parallel import Workers

AMP_SHAPE = (2000, 509)
GAIN, NOISE, A00 = 1.5, 6.0, -2e-6
TARGETS.setdefault("measure_pair_cov", ("seconds", "<", 1.0))
TARGETS.setdefault("measure_pair", ("seconds", "<", 0.3))
TARGETS.setdefault("extract_pair", ("seconds", "<", 1.0))
TARGETS.setdefault("extract_pair_threads", ("read_floor_ratio", "<", 3.0))


def flat_pair(rng: np.random.Generator, amps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Both flats of a pair, amplifier by amplifier, in ADU (float32)."""
    pairs = []
    for _ in range(amps):
        images = []
        for _ in range(2):
            electrons = rng.poisson(20_000.0, AMP_SHAPE).astype(np.float32)
            electrons += rng.standard_normal(AMP_SHAPE, dtype=np.float32) * np.float32(NOISE)
            electrons /= np.float32(GAIN)
            images.append(electrons)
        pairs.append((images[0], images[1]))
    return pairs


def assembled(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Image, Image]:
    """The pair as two assembled detector images, amplifiers in two rows, with AMPSEC."""
    from quanta.core.raw import Section

    rows, columns = AMP_SHAPE
    per_row = -(-len(pairs) // 2)
    shape = (2 * rows, per_row * columns)
    images = (np.zeros(shape, np.float32), np.zeros(shape, np.float32))
    header: dict[str, Any] = {"EXPTIME": 20.0}
    for k, pair in enumerate(pairs):
        section = Section(
            (k // per_row) * rows, (k // per_row + 1) * rows,
            (k % per_row) * columns, (k % per_row + 1) * columns,
        )  # fmt: skip
        for image, amp in zip(images, pair, strict=True):
            image[section.slices] = amp
        header[f"AMPSEC C{k:02d}"] = section.to_fits()
    return tuple(Image(image, header=dict(header)) for image in images)  # type: ignore[return-value]


def ptc_points(rng: np.random.Generator, amps: int, pairs: int) -> list[tuple[Any, Any, Any]]:
    """(means, variances, pixels) of ``pairs`` exposure levels per amplifier, scattered by
    0.5% (the error of a variance over 80,000 pixels)."""
    points = []
    for amp in range(amps):
        gain = GAIN * (1 + 0.02 * amp / amps)
        means = np.geomspace(100.0, 85_000.0, pairs) / gain
        variances = ptc_model(means, A00, gain, NOISE) * (1 + 0.005 * rng.standard_normal(pairs))
        points.append((means, variances, np.full(pairs, 80_000)))
    return points


def pin_to(cores: set[int]) -> None:
    """Pin every thread of this process to ``cores`` (os.sched_setaffinity(0) would pin
    only the calling thread, not BLAS threads started at import)."""
    for task in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(task), cores)


def read_floor(
    first: Image, second: Image, max_lag: int, bad: int, repeat: int
) -> list[dict[str, Any]]:
    """The records of reading the pair from FITS and of extracting it on every core."""
    cores = sorted(os.sched_getaffinity(0))
    workers = Workers(len(cores))
    options = PairOptions(max_lag=max_lag)
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_ptc_") as tmp:
        paths = [os.path.join(tmp, f"flat{i}.fits") for i in (1, 2)]
        for image, path in zip((first, second), paths, strict=True):
            FORMATTER.write(image, Path(path))
        stages: dict[str, Callable[[], object]] = {
            "read_pair": lambda: [FORMATTER.read(Path(p)) for p in paths],
            "extract_pair_threads": lambda: measure_exposure_pair(
                first, second, (1, 2), options, bad, workers
            ),
        }
        for stage, fn in stages.items():
            fn()
            runs = [timed(fn) for _ in range(repeat)]
            records.append(
                summarize("ptc", stage, runs, target=stage, cores=cores, workers=workers.count)
            )
    read, extract = records
    ratio = extract["seconds"] / read["seconds"]
    extract["read_floor_ratio"] = round(ratio, 3)
    extract["meets_target"] = ratio < TARGETS["extract_pair_threads"][2]
    for record in records:
        record["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return records


def timed(fn: Callable[[], object]) -> dict[str, float]:
    """Wall and CPU seconds of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--amps", type=int, default=16, help="amplifiers of the detector")
    parser.add_argument("--pairs", type=int, default=20, help="pairs per amplifier to fit")
    parser.add_argument("--max-lag", type=int, default=8, help="covariance lags in x and y")
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    started = time.perf_counter()
    pairs = flat_pair(rng, args.amps)
    points = ptc_points(rng, args.amps, args.pairs)
    log(f"bench_ptc: {args.amps} amplifier pairs made in {time.perf_counter() - started:.1f} s")
    first, second = assembled(pairs)
    bad = MaskBit.SAT | MaskBit.BAD
    every_core = os.sched_getaffinity(0)
    core = min(every_core)
    pin_to({core})
    shape = list(AMP_SHAPE)
    stages: dict[str, tuple[Callable[[], object], dict[str, Any]]] = {
        "measure_pair_cov": (
            lambda: [measure_pair(*p, options=PairOptions(max_lag=args.max_lag)) for p in pairs],
            {"amps": args.amps, "amp_shape": shape, "max_lag": args.max_lag},
        ),
        "measure_pair": (
            lambda: [measure_pair(*p, options=PairOptions(covariances=False)) for p in pairs],
            {"amps": args.amps, "amp_shape": shape},
        ),
        "extract_pair": (
            lambda: measure_exposure_pair(
                first, second, (1, 2), PairOptions(max_lag=args.max_lag), bad
            ),
            {"amps": args.amps, "detector_shape": list(first.shape), "max_lag": args.max_lag},
        ),
        "fit_ptc": (
            lambda: [fit_ptc(*p) for p in points],
            {"amps": args.amps, "pairs": args.pairs},
        ),
        "fit_ptc_polynomial": (
            lambda: [fit_ptc(*p, SolveOptions(model="polynomial")) for p in points],
            {"amps": args.amps, "pairs": args.pairs},
        ),
    }
    for stage, (fn, fixed) in stages.items():
        fn()  # warm-up: imports, FFT plans
        runs = [timed(fn) for _ in range(args.repeat)]
        record = summarize("ptc", stage, runs, target=stage, core=core, **fixed)
        record["ms_per_amp"] = round(1000 * record["seconds"] / args.amps, 2)
        emit(record)
    pin_to(every_core)
    for record in read_floor(first, second, args.max_lag, bad, args.repeat):
        emit(record)


if __name__ == "__main__":
    main()
