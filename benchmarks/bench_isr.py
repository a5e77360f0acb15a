"""ISR of one ``full`` SimCam detector, and the bias combine of 20 ``full`` frames.

Setup writes, into a repository's datastore, one raw of 16 amplifiers of 509 x 2000
imaging pixels (int32, 3 prescan and 32 overscan columns, as ``quanta simulate
--preset full`` writes them), a master bias, dark and flat, and ``--frames`` ISR outputs
of the same detector for the combine. Every measured stage then runs one quantum in a
fresh interpreter pinned to one core: its ``QuantumIO`` reads the files (calibrations
and combine inputs as deferred handles, read in row chunks) and writes the output, as
``quanta run`` would. Each record gives the wall and CPU seconds of ``run_quantum`` and
the growth of the process's peak resident memory over the quantum (``VmHWM`` after
minus ``VmRSS`` before, the interpreter and its imports excluded), compared with the
raw file's size (ISR; target < 4x and < 1.5 s) or with the inputs' (combine, which
must stay bounded: far below holding every frame at float64).
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
from pathlib import Path
from typing import Any

import numpy as np
from common import emit, log

MB = 2**20
ISR_SECONDS, ISR_MEMORY_RATIO = 1.5, 4.0
EXPOSURE = ("instrument", "detector", "exposure")
DETECTOR = ("instrument", "detector")
ISR_STAGES = {
    "isr_overscan_only": {"do_bias": False, "do_dark": False, "do_flat": False},
    "isr_bias_dark_flat": {"do_bias": True, "do_dark": True, "do_flat": True},
}


def _ref(universe: Any, name: str, storage_class: str, dims: tuple[str, ...], **values: Any) -> Any:
    from quanta.core.data_id import DataCoordinate
    from quanta.core.dataset_type import DatasetType
    from quanta.core.refs import DatasetRef

    dataset_type = DatasetType(
        name, universe.group(dims), storage_class, name in ("bias", "dark", "flat")
    )
    data_id = DataCoordinate.standardize(
        {"instrument": "SimCam", "detector": 0, **values}, dataset_type.dimensions
    )
    return DatasetRef.for_output(dataset_type, data_id, "bench/isr")


def _raw(rng: np.random.Generator) -> Any:
    """A full SimCam raw of a 30 s flat: 1000 e-/s, read noise 6 e-, gain 1.5."""
    from quanta.core.raw import RawAmp, RawImage
    from quanta.instruments.simcam_layout import amp_geometry

    amps = []
    for geometry in amp_geometry():
        rows, columns = geometry.overscan.y1, geometry.overscan.x1
        electrons = np.zeros((rows, columns), dtype=np.float32)
        electrons[geometry.data.slices] = 30_000.0
        electrons += rng.standard_normal((rows, columns), dtype=np.float32) * np.float32(180.0)
        pixels = np.rint(electrons / np.float32(1.5) + np.float32(20_000.0)).astype(np.int32)
        header = {"GAIN": 1.5, "RDNOISE": 6.0, "SATURATE": 86_666.0, "BUNIT": "adu"}
        amps.append(RawAmp(geometry, pixels, header))
    return RawImage(amps, {"INSTRUME": "SimCam", "DETECTOR": 0, "EXPTIME": 30.0, "DARKTIME": 30.0})


def _image(
    value: float, noise: float, shape: tuple[int, int], rng: np.random.Generator, unit: str | None
) -> Any:
    from quanta.core.image import Image

    image = np.full(shape, value, dtype=np.float32)
    if noise:
        image += rng.standard_normal(shape, dtype=np.float32) * np.float32(noise)
    variance = np.full(shape, noise * noise or 1e-4, dtype=np.float32)
    header: dict[str, Any] = {"BUNIT": unit} if unit else {}
    header.update({"OSLEVEL C00": 20_000.0, "OSNOISE_E C00": 6.0, "DARKTIME": 0.0})
    return Image(image, np.zeros(shape, dtype=np.int32), variance, header)


def setup(root: Path, frames: int) -> dict[str, Any]:
    """The repository and the files every stage reads; a JSON-ready description."""
    from quanta.butler import Butler

    butler = Butler.create(root)
    universe, store = butler.universe, butler.datastore
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    raw = _raw(rng)
    shape = raw.detector_shape
    files: dict[str, list[dict[str, Any]]] = {}

    def write(name: str, obj: Any, ref: Any) -> None:
        stored = store.write(obj, ref)
        files.setdefault(name, []).append(
            {
                "id": str(ref.id),
                "path": stored.path,
                "storage_class": stored.storage_class,
                "checksum": stored.checksum,
                "size": stored.size,
                "exposure": dict(
                    zip(ref.data_id.group.required, ref.data_id.required_values, strict=True)
                ).get("exposure"),
            }
        )

    write("raw", raw, _ref(universe, "raw", "RawImage", EXPOSURE, exposure=1))
    del raw
    write(
        "bias", _image(0.0, 2.0, shape, rng, "electron"), _ref(universe, "bias", "Image", DETECTOR)
    )
    write(
        "dark",
        _image(0.1, 0.01, shape, rng, "electron/s"),
        _ref(universe, "dark", "Image", DETECTOR),
    )
    write("flat", _image(1.0, 0.003, shape, rng, None), _ref(universe, "flat", "Image", DETECTOR))
    for i in range(frames):
        write(
            "inputs",
            _image(0.0, 6.0, shape, rng, "electron"),
            _ref(universe, "postISRCCD", "Image", EXPOSURE, exposure=100 + i),
        )
    log(f"setup: {frames + 4} files in {time.perf_counter() - started:.1f} s")
    return {"root": str(root), "shape": list(shape), "files": files}


def measure(spec: dict[str, Any], stage: str) -> dict[str, Any]:
    """Run ``stage`` in a fresh interpreter (``--child``); what it measured."""
    path = Path(spec["root"]) / "spec.json"
    path.write_text(json.dumps({**spec, "stage": stage}))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "child failed"
        )
    return json.loads(proc.stdout)


def child(path: str) -> None:
    """One quantum of ``spec["stage"]``, measured: print one JSON object."""
    import uuid

    import astropy.io.fits  # noqa: F401  (imported before measuring, as a worker would have)

    from quanta.butler import open_datastore
    from quanta.butler.quantum_io import InputBinding, OutputBinding, QuantumIO
    from quanta.core.stored_file import StoredFile
    from quanta.cp.combine import CpBiasCombineTask
    from quanta.cp.isr import IsrConfig, IsrTask

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    spec = json.loads(Path(path).read_text())
    stage = spec["stage"]
    universe, store = open_datastore(Path(spec["root"]))

    def binding(
        name: str, type_name: str, storage_class: str, dims: tuple[str, ...], **flags: Any
    ) -> InputBinding:
        entries = spec["files"][name]
        refs = [
            _ref(universe, type_name, storage_class, dims, **_exposure(e["exposure"]))
            for e in entries
        ]
        stored = [
            StoredFile(uuid.UUID(e["id"]), e["path"], e["storage_class"], e["checksum"], e["size"])
            for e in entries
        ]
        return InputBinding(refs, stored, **flags)

    if stage in ISR_STAGES:
        config = ISR_STAGES[stage]
        inputs = {"raw": binding("raw", "raw", "RawImage", EXPOSURE)}
        for name in ("bias", "dark", "flat"):
            if config[f"do_{name}"]:
                inputs[name] = binding(name, name, "Image", DETECTOR, defer_load=True)
        output = _ref(universe, "postISRCCD", "Image", EXPOSURE, exposure=1)
        qio = QuantumIO(store, output.data_id, inputs, {"post_isr": OutputBinding([output])})
        task: Any = IsrTask(IsrConfig(**config))
    else:
        inputs = {
            "inputs": binding(
                "inputs", "postISRCCD", "Image", EXPOSURE, multiple=True, defer_load=True
            )
        }
        output = _ref(universe, "bias", "Image", DETECTOR)
        qio = QuantumIO(store, output.data_id, inputs, {"master": OutputBinding([output])})
        task = CpBiasCombineTask()
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    start, cpu = time.perf_counter(), time.process_time()
    task.run_quantum(qio)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak = _status("VmHWM")
    qio.discard()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_growth_mb": (peak - before) / MB,
                "rss_before_mb": before / MB,
            }
        )
    )


def _exposure(exposure: int | None) -> dict[str, int]:
    return {} if exposure is None else {"exposure": exposure}


def _status(key: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def _median_record(stage: str, runs: list[dict[str, Any]], **fixed: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"bench": "isr", "stage": stage, **fixed}
    for key in runs[0]:
        values = sorted(run[key] for run in runs)
        record[key] = round(values[len(values) // 2], 4)
    record["runs"] = [round(run["seconds"], 4) for run in runs]
    record["repeat"] = len(runs)
    return record


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
        spec = setup(workdir / "repo", args.frames)
        raw_mb = spec["files"]["raw"][0]["size"] / MB
        inputs_mb = sum(f["size"] for f in spec["files"]["inputs"]) / MB
        rows, columns = spec["shape"]
        for stage in (*ISR_STAGES, "bias_combine"):
            runs = [measure(spec, stage) for _ in range(args.repeat)]
            if stage in ISR_STAGES:
                record = _median_record(
                    stage, runs, raw_mb=round(raw_mb, 1), detector_shape=[rows, columns]
                )
                record["memory_ratio"] = round(record["peak_growth_mb"] / raw_mb, 2)
                record["target"] = {"seconds": ISR_SECONDS, "memory_ratio": ISR_MEMORY_RATIO}
                record["meets_target"] = (
                    record["seconds"] < ISR_SECONDS and record["memory_ratio"] < ISR_MEMORY_RATIO
                )
            else:
                stack_mb = args.frames * rows * columns * 8 / MB
                record = _median_record(
                    stage,
                    runs,
                    frames=args.frames,
                    inputs_mb=round(inputs_mb, 1),
                    float64_stack_mb=round(stack_mb, 1),
                )
                record["fraction_of_float64_stack"] = round(record["peak_growth_mb"] / stack_mb, 3)
            emit(record)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
