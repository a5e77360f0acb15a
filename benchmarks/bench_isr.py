"""ISR of one ``full`` SimCam detector, and the bias combine of 20 ``full`` frames.

Setup writes into a repository's datastore one raw of 16 amplifiers of 509 x 2000
imaging pixels (int32, 3 prescan and 32 overscan columns, as ``quanta simulate --preset
full`` writes them) with a master bias, dark and flat; later, ``--frames`` ISR outputs
of the same detector for the combine. Files are flushed to disk before anything is
timed. Every measured stage then runs one quantum in a fresh interpreter pinned to one
core: its ``QuantumIO`` reads the files (calibrations and combine inputs as deferred
handles, read in row chunks) and writes the output, as ``quanta run`` would. Each record
gives the median wall and CPU seconds of ``run_quantum`` and the growth of the peak
resident memory over the quantum (``VmHWM`` after minus ``VmRSS`` before: the
interpreter and its imports excluded), compared with the raw file's size (ISR: targets
< 1.5 s and < 4x) or with holding every input frame at float64 (combine: bounded).
``write_seconds`` is the part spent writing the output (FITS, checksum, rename), which
varies most with the disk; ``--workdir /dev/shm`` takes the disk out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from common import emit, log

MB = 2**20
ISR_SECONDS, ISR_MEMORY_RATIO = 1.5, 4.0
EXPOSURE = ("instrument", "detector", "exposure")
DETECTOR = ("instrument", "detector")
CALIBRATIONS = ("bias", "dark", "flat")
#: ISR configurations measured: the cp_bias ISR, and a science ISR.
ISR_STAGES = {
    "isr_overscan_only": {"do_bias": False, "do_dark": False, "do_flat": False},
    "isr_bias_dark_flat": {"do_bias": True, "do_dark": True, "do_flat": True},
}


def dataset_ref(universe: Any, name: str, storage_class: str, exposure: int | None = None) -> Any:
    """The ref of a dataset of detector 0 (of ``exposure``, if given) in RUN bench/isr."""
    from quanta.core.data_id import DataCoordinate
    from quanta.core.dataset_type import DatasetType
    from quanta.core.refs import DatasetRef

    values: dict[str, Any] = {"instrument": "SimCam", "detector": 0}
    if exposure is not None:
        values["exposure"] = exposure
    dims = universe.group(EXPOSURE if exposure is not None else DETECTOR)
    dataset_type = DatasetType(name, dims, storage_class, name in CALIBRATIONS)
    data_id = DataCoordinate.standardize(values, dataset_type.dimensions)
    return DatasetRef.for_output(dataset_type, data_id, "bench/isr")


def full_raw(rng: np.random.Generator) -> Any:
    """A full SimCam raw of a 30 s flat: 30,000 e-, read noise 6 e-, gain 1.5 e-/ADU."""
    from quanta.core.raw import RawAmp, RawImage
    from quanta.instruments.simcam_layout import amp_geometry

    amps = []
    for geometry in amp_geometry():
        shape = (geometry.overscan.y1, geometry.overscan.x1)
        electrons = rng.standard_normal(shape, dtype=np.float32) * np.float32(180.0)
        electrons[geometry.data.slices] += np.float32(30_000.0)
        pixels = np.rint(electrons / np.float32(1.5) + np.float32(20_000.0)).astype(np.int32)
        header = {"GAIN": 1.5, "RDNOISE": 6.0, "SATURATE": 86_666.0, "BUNIT": "adu"}
        amps.append(RawAmp(geometry, pixels, header))
    return RawImage(amps, {"INSTRUME": "SimCam", "DETECTOR": 0, "EXPTIME": 30.0, "DARKTIME": 30.0})


def frame(
    rng: np.random.Generator, shape: tuple[int, int], value: float, noise: float, unit: str | None
) -> Any:
    """An ``Image`` of ``value`` plus Gaussian noise, with the header ISR would give it."""
    from quanta.core.image import Image

    image = rng.standard_normal(shape, dtype=np.float32) * np.float32(noise)
    image += np.float32(value)
    variance = np.full(shape, max(noise * noise, 1e-6), dtype=np.float32)
    header: dict[str, Any] = {"OSLEVEL C00": 20_000.0, "OSNOISE_E C00": 6.0}
    if unit:
        header["BUNIT"] = unit
    return Image(image, np.zeros(shape, dtype=np.int32), variance, header)


class Files:
    """Datasets written for the benchmark, described so that a child process can read
    them without the registry."""

    def __init__(self, root: Path) -> None:
        from quanta.butler import Butler

        self.root = root
        self.butler = Butler.create(root)
        self.entries: dict[str, list[dict[str, Any]]] = {}

    def write(self, name: str, obj: Any, ref: Any, exposure: int | None = None) -> None:
        stored = self.butler.datastore.write(obj, ref)
        self.entries.setdefault(name, []).append(
            {
                "id": str(stored.dataset_id),
                "path": stored.path,
                "storage_class": stored.storage_class,
                "checksum": stored.checksum,
                "size": stored.size,
                "exposure": exposure,
            }
        )

    def spec(self, stage: str) -> Path:
        """Flush everything to disk; the JSON file a child reads for ``stage``."""
        os.sync()
        path = self.root / f"{stage}.json"
        path.write_text(json.dumps({"root": str(self.root), "stage": stage, **self.entries}))
        return path


def setup_isr(files: Files) -> tuple[int, int]:
    """The raw and the three master calibrations; the detector's shape."""
    universe = files.butler.universe
    rng = np.random.default_rng(7)
    raw = full_raw(rng)
    shape = raw.detector_shape
    files.write("raw", raw, dataset_ref(universe, "raw", "RawImage", 1), exposure=1)
    del raw
    masters = {"bias": (0.0, 2.0, "electron"), "dark": (0.1, 0.01, "electron/s")}
    masters["flat"] = (1.0, 0.003, None)
    for name, (value, noise, unit) in masters.items():
        files.write(
            name, frame(rng, shape, value, noise, unit), dataset_ref(universe, name, "Image")
        )
    return shape


def setup_combine(files: Files, shape: tuple[int, int], count: int) -> None:
    """``count`` ISR-corrected bias frames."""
    rng = np.random.default_rng(8)
    for i in range(count):
        ref = dataset_ref(files.butler.universe, "postISRCCD", "Image", 100 + i)
        files.write("inputs", frame(rng, shape, 0.0, 6.0, "electron"), ref, exposure=100 + i)


def measure(spec: Path) -> dict[str, Any]:
    """Run one quantum in a fresh interpreter (``--child``); what it measured."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(spec)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["child failed"]
        raise RuntimeError(lines[-1])
    return json.loads(proc.stdout)


def child(path: str) -> None:
    """One quantum of the stage ``path`` describes, measured: print one JSON object."""
    import astropy.io.fits  # noqa: F401  (a worker has it imported before its quantum)

    from quanta.butler.quantum_io import ButlerQuantumIO, InputBinding, OutputBinding
    from quanta.butler.repo_files import open_repo_files
    from quanta.core.stored_file import StoredFile
    from quanta.cp.combine import CpBiasCombineTask
    from quanta.cp.isr import IsrConfig, IsrTask

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    spec = json.loads(Path(path).read_text())
    files = open_repo_files(Path(spec["root"]))
    universe, store = files.universe, files.datastore

    def binding(name: str, type_name: str, storage_class: str, **flags: Any) -> InputBinding:
        entries = spec[name]
        refs = [dataset_ref(universe, type_name, storage_class, e["exposure"]) for e in entries]
        stored = [
            StoredFile(uuid.UUID(e["id"]), e["path"], e["storage_class"], e["checksum"], e["size"])
            for e in entries
        ]
        return InputBinding(refs, stored, **flags)

    task: Any
    if spec["stage"] in ISR_STAGES:
        config = IsrConfig(**ISR_STAGES[spec["stage"]])
        inputs = {"raw": binding("raw", "raw", "RawImage")}
        for name in CALIBRATIONS:
            if getattr(config, f"do_{name}"):
                inputs[name] = binding(name, name, "Image", defer_load=True)
        output = dataset_ref(universe, "postISRCCD", "Image", 1)
        qio = ButlerQuantumIO(store, output.data_id, inputs, {"post_isr": OutputBinding([output])})
        task = IsrTask(config)
    else:
        inputs = {
            "inputs": binding("inputs", "postISRCCD", "Image", multiple=True, defer_load=True)
        }
        output = dataset_ref(universe, "bias", "Image")
        qio = ButlerQuantumIO(store, output.data_id, inputs, {"master": OutputBinding([output])})
        task = CpBiasCombineTask()
    timed = TimedWrites(qio)
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    start, cpu = time.perf_counter(), time.process_time()
    task.run_quantum(timed)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak = _status("VmHWM")
    qio.discard()
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "write_seconds": timed.seconds,
        "peak_growth_mb": (peak - before) / MB,
    }
    print(json.dumps(result))


class TimedWrites:
    """A ``QuantumIO`` that times its ``put`` calls (writing the output file, checksumming
    it, renaming it into place: the part of a quantum that depends most on the disk)."""

    def __init__(self, qio: Any) -> None:
        self._qio = qio
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._qio, name)

    def put(self, obj: Any, name: str) -> None:
        """Write an output, timed."""
        start = time.perf_counter()
        self._qio.put(obj, name)
        self.seconds += time.perf_counter() - start


def _status(key: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def record(stage: str, runs: list[dict[str, Any]], **fixed: Any) -> dict[str, Any]:
    """One JSON line: the median of each measured number, and every run's seconds."""
    out: dict[str, Any] = {"bench": "isr", "stage": stage, **fixed}
    for key in runs[0]:
        out[key] = round(float(np.median([run[key] for run in runs])), 4)
    out["runs"] = [round(run["seconds"], 4) for run in runs]
    out["repeat"] = len(runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--frames", type=int, default=20, help="bias frames to combine")
    parser.add_argument("--workdir", default=None, help="where to write (default: a temp dir)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench_isr_", dir=args.workdir))
    try:
        files = Files(workdir / "repo")
        started = time.perf_counter()
        shape = setup_isr(files)
        log(f"bench_isr: raw and masters written in {time.perf_counter() - started:.1f} s")
        raw_mb = files.entries["raw"][0]["size"] / MB
        for stage in ISR_STAGES:
            spec = files.spec(stage)
            out = record(stage, [measure(spec) for _ in range(args.repeat)])
            out.update(raw_mb=round(raw_mb, 1), detector_shape=list(shape))
            out["memory_ratio"] = round(out["peak_growth_mb"] / raw_mb, 2)
            out["target"] = {"seconds": ISR_SECONDS, "memory_ratio": ISR_MEMORY_RATIO}
            out["meets_target"] = out["seconds"] < ISR_SECONDS and out["memory_ratio"] < 4
            emit(out)
        started = time.perf_counter()
        setup_combine(files, shape, args.frames)
        log(f"bench_isr: {args.frames} frames written in {time.perf_counter() - started:.1f} s")
        spec = files.spec("bias_combine")
        out = record("bias_combine", [measure(spec) for _ in range(args.repeat)])
        stack_mb = args.frames * shape[0] * shape[1] * 8 / MB
        inputs_mb = sum(e["size"] for e in files.entries["inputs"]) / MB
        out.update(frames=args.frames, inputs_mb=round(inputs_mb, 1))
        out["float64_stack_mb"] = round(stack_mb, 1)
        out["fraction_of_float64_stack"] = round(out["peak_growth_mb"] / stack_mb, 3)
        emit(out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
