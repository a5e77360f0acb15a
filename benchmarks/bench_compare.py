"""``quanta compare`` of two runs of ``full``-size images against just reading their files.

The design target: "comparing two runs of 200 ``full`` images reads each file once and
runs at >= 70% of the speed of just reading both sides' files". A ``full`` image is one
SimCam detector assembled, 4000 x 4072 pixels with float32 image, int32 mask and
float32 variance planes: 195 MB of FITS. 200 per side would be 78 GB, more than the
development machine's free disk (and far more than its memory), so ``--n`` (default 20
pairs, 7.8 GB) sets the count; the time per pair does not depend on it, and the ratio is
the target's metric.

Setup (not timed) writes N images into RUN ``bench/a`` of one repository through the
Butler, and into ``bench/b`` the same images, with every other one changed in 10 pixels
(by one float32 step) and one mask bit, so that both the fast path of identical chunks
and the slow path of differing ones run. Then each repeat runs, in fresh interpreters
(so that memory figures are the stage's own), ``read`` (``butler.get`` of every ref of
both sides, a pair at a time, as the comparison reads them) and ``compare``
(``compare_collections`` of the two runs; its report is checked). ``speed_ratio`` is
read seconds / compare seconds (target >= 0.7); ``peak_growth_mb`` is the growth of
the resident set's high-water mark over the stage (reading one image whole peaks at
twice its size, the data and its byte-swapped copy; the comparison streams both images
in chunks of rows).
``--all-differ K`` adds ``compare_all_differ``: K pairs whose image planes differ in
every pixel (every chunk takes the slow path; no target). The files are in the page
cache when read, as they were just written: the stages measure the CPU cost of reading
and comparing, not the disk.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import emit, log, universe_records

MB = 2**20
SIZES = {"full": (4000, 4072), "small": (1000, 1018)}
RUN_A, RUN_B, RUN_C = "bench/a", "bench/b", "bench/c"
SPEED_RATIO = 0.7
CHANGED_PIXELS = 10


def image(rng: np.random.Generator, shape: tuple[int, int]) -> Any:
    """A flat-like image: 20,000 ADU with noise, a few masked pixels, its variance."""
    from quanta.core.image import Image

    pixels = rng.standard_normal(shape, dtype=np.float32)
    pixels *= np.float32(140.0)
    pixels += np.float32(20_000.0)
    mask = np.zeros(shape, dtype=np.int32)
    mask[:, :2] = mask[:, -2:] = 4
    return Image(pixels, mask, pixels / np.float32(1.5), {"BUNIT": "adu", "EXPTIME": 30.0})


def perturbed(rng: np.random.Generator, original: Any) -> Any:
    """``original`` with CHANGED_PIXELS pixels one float32 step higher and one mask bit set."""
    changed = type(original)(
        original.image.copy(), original.mask.copy(), original.variance, original.header
    )
    ys = rng.integers(0, original.shape[0], CHANGED_PIXELS)
    xs = rng.integers(0, original.shape[1], CHANGED_PIXELS)
    changed.image[ys, xs] = np.nextafter(changed.image[ys, xs], np.float32(np.inf))
    changed.mask[ys[0], xs[0]] |= 1
    return changed


def setup(root: Path, n: int, all_differ: int, shape: tuple[int, int]) -> list[int]:
    """The repository with runs A and B (and C: every pixel differs, for ``all_differ``
    exposures); the exposure ids."""
    from quanta.butler import Butler

    butler = Butler.create(root)
    for element, records in universe_records(n):
        butler.insert_dimension_records(element, records)
    dataset_type = butler.register_dataset_type(
        "calexp", ("instrument", "detector", "exposure"), "Image"
    )
    exposures = [r["id"] for r in dict(universe_records(n))["exposure"]]
    rng = np.random.default_rng(42)
    for i, exposure in enumerate(exposures):
        data_id = {"instrument": "Cam", "detector": 0, "exposure": exposure}
        first = image(rng, shape)
        butler.put(first, dataset_type, data_id, run=RUN_A)
        butler.put(perturbed(rng, first) if i % 2 else first, dataset_type, data_id, run=RUN_B)
        if i < all_differ:
            first.image += rng.standard_normal(shape, dtype=np.float32)
            butler.put(first, dataset_type, data_id, run=RUN_C)
        log(f"bench_compare: wrote pair {i + 1} of {n}")
    butler.close()
    return exposures


_CHILD = """
import json, sys, time
from pathlib import Path

import astropy.io.fits  # a reader has it imported before it starts

from quanta.butler import Butler
from quanta.compare import compare_collections

stage, root, run_b, where = sys.argv[1:5]


def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024


butler = Butler(root)
refs = [butler.query_datasets("calexp", [run], where=where) for run in ("bench/a", run_b)]
before = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
start = time.perf_counter()
if stage == "read":
    for pair in zip(*refs, strict=True):
        for ref in pair:
            data = butler.get(ref)
            del data
    result = {}
else:
    report = compare_collections(butler, "bench/a", butler, run_b, ["calexp"], where)
    summary = report.summary("calexp")
    result = {"identical": summary.n_identical, "different": summary.n_different,
              "errors": summary.n_error}
seconds = time.perf_counter() - start
result.update(seconds=seconds, peak_growth_mb=(status("VmHWM") - before) / 2**20)
print(json.dumps(result))
"""


def measure(stage: str, root: Path, run_b: str, where: str) -> dict[str, Any]:
    """One stage in a fresh interpreter; what it measured."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, stage, str(root), run_b, where],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["child failed"]
        raise RuntimeError(lines[-1])
    return json.loads(proc.stdout)


def record(stage: str, runs: list[dict[str, Any]], pairs: int, **fixed: Any) -> dict[str, Any]:
    """One JSON line: medians of the measured numbers, every run's seconds, per pair."""
    out: dict[str, Any] = {"bench": "compare", "stage": stage, **fixed, "pairs": pairs}
    for key in ("seconds", "peak_growth_mb"):
        out[key] = round(float(np.median([run[key] for run in runs])), 3)
    out["runs"] = [round(run["seconds"], 3) for run in runs]
    out["repeat"] = len(runs)
    out["seconds_per_pair"] = round(out["seconds"] / pairs, 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="image pairs (default 20)")
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="image size")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument(
        "--all-differ", type=int, default=4, help="pairs differing in every pixel (0: none)"
    )
    parser.add_argument("--workdir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    shape = SIZES[args.size]
    file_mb = shape[0] * shape[1] * 12 / MB
    need = (2 * args.n + args.all_differ) * file_mb * MB * 1.1
    workdir = Path(tempfile.mkdtemp(prefix="bench_compare_", dir=args.workdir))
    fixed = {"n": args.n, "size": args.size, "shape": list(shape), "file_mb": round(file_mb, 1)}
    try:
        free = shutil.disk_usage(workdir).free
        if free < need:
            reason = f"needs {need / 2**30:.1f} GB of disk, {free / 2**30:.1f} GB free"
            emit({"bench": "compare", "stage": "setup", **fixed, "skipped": reason})
            return
        started = time.perf_counter()
        exposures = setup(workdir / "repo", args.n, args.all_differ, shape)
        emit(
            {"bench": "compare", "stage": "setup", **fixed}
            | {"seconds": round(time.perf_counter() - started, 1)}
        )
        root, everything = workdir / "repo", "instrument = 'Cam'"
        reads, compares = [], []
        for _ in range(args.repeat):
            reads.append(measure("read", root, RUN_B, everything))
            compares.append(measure("compare", root, RUN_B, everything))
            expected = (args.n - args.n // 2, args.n // 2, 0)
            found = tuple(compares[-1][k] for k in ("identical", "different", "errors"))
            if found != expected:
                raise RuntimeError(f"compare found {found} (identical, different, errors)")
        read = record("read", reads, args.n, **fixed)
        emit(read)
        out = record("compare", compares, args.n, **fixed)
        out["speed_ratio"] = round(read["seconds"] / out["seconds"], 3)
        out["target"] = {"metric": "speed_ratio", "op": ">=", "value": SPEED_RATIO}
        out["meets_target"] = out["speed_ratio"] >= SPEED_RATIO
        emit(out)
        if args.all_differ:
            where = f"exposure IN ({', '.join(map(str, exposures[: args.all_differ]))})"
            reads = [measure("read", root, RUN_C, where) for _ in range(args.repeat)]
            runs = [measure("compare", root, RUN_C, where) for _ in range(args.repeat)]
            read = record("read_all_differ", reads, args.all_differ, **fixed)
            emit(read)
            out = record("compare_all_differ", runs, args.all_differ, **fixed)
            out["speed_ratio"] = round(read["seconds"] / out["seconds"], 3)
            emit(out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
