"""Quantum graph building at scale (W1 stage ``qgraph`` and W2), with saving and loading.

For each size (a number of exposures, x 4 detectors) the script makes one repository
(W1's universe, 100 exposures a night) and registers the ``raw`` refs in RUN
``bench/raw`` in batches, without files: graph building needs none. That repository
is shared by every workload of that size. Each measurement then runs in a fresh child
interpreter that opens the repository, so that its peak resident memory is its own:

* ``build``: ``build_graph`` of the workload's pipeline over every raw (after a warm-up
  build restricted to one exposure, which pays for lazy imports and statement
  compilation); seconds, quanta per second, peak RSS (``VmHWM``) of the whole process
  and its RSS before the build;
* ``save``: ``save_graph`` of that graph (same child, after the build); seconds, file
  size and the process's peak RSS by then;
* ``load``: ``load_graph`` of the saved file in another fresh child; seconds and peak RSS,
  whose target is the build's peak RSS (loading must take less memory than building).

Workloads (see ``benchmarks/README.md``):

* W1 (``--w1 N ...``): the shipped ``w1`` pipeline, ``calexp`` per exposure-detector
  and ``summary`` per detector: N x 4 + 4 quanta. Targets: at most 8,004 quanta
  (N = 2000), >= 20,000 quanta/s; at a million quanta and more, < 120 s and < 4 GB peak.
* W2 (``--w2 N ...``): three tasks, per exposure-detector (``isr``), per
  exposure-detector (``measure``) and per detector (``summary``), written with the
  shipped example tasks and connection renames: N x 8 + 4 quanta. Target from the
  design ("2 KB a quantum ... 2,000,000 quanta in 4 GB"): < 4 GB peak at 2M quanta;
  at 10,000,000 quanta (``--w2 1250000``), < 4 GB and < 120 s.

``--full`` adds the large sizes (W1 at 250,000 exposures = 1,000,004 quanta; W2 at
250,000 exposures = 2,000,004 quanta). Repositories live in a temporary directory
removed at the end, or in ``--cache DIR`` (SQLite only), kept and reused across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    DETECTORS,
    INSTRUMENT,
    RAW_DIMENSIONS,
    RAW_STORAGE_CLASS,
    emit,
    exposure_ids,
    log,
    stopwatch,
    universe_records,
)
from pg import Databases, unavailable_reason

RUN = "bench/raw"
OUTPUT_RUN = "bench/out"
MB = 1024 * 1024
REGISTER_BATCH = 50_000
DEFAULT_W1 = (2000,)
DEFAULT_W2 = (2500, 25_000)
FULL_W1 = (250_000,)
FULL_W2 = (250_000,)

W2_PIPELINE = """\
description: >-
  W2: two tasks per (instrument, detector, exposure), then one per
  (instrument, detector) reading every output of the second.
tasks:
  isr:
    class: quanta.pipe.examples.ScaleTask
  measure:
    class: quanta.pipe.examples.ScaleTask
    config:
      connections: {raw: calexpLike, calexp: measLike}
  summary:
    class: quanta.pipe.examples.SummaryTask
    config:
      connections: {calexp: measLike}
"""

#: Quanta per exposure and detector (each workload adds one quantum per detector).
PER_EXPOSURE = {"w1": 1, "w2": 2}
#: Written in a repository once it is complete, so that ``--cache`` never reuses a
#: repository whose population was interrupted.
COMPLETE = ".bench-graph-complete"


def quanta_for(workload: str, n_exposures: int) -> int:
    """The expected number of quanta of a workload over ``n_exposures`` exposures."""
    return n_exposures * len(DETECTORS) * PER_EXPOSURE[workload] + len(DETECTORS)


def targets_for(workload: str, quanta: int) -> list[tuple[str, str, float]]:
    """(metric, op, value) targets of one build, from the issue and the design."""
    if workload == "w1" and quanta <= 8004:
        return [("rate_per_s", ">=", 20_000)]
    if quanta >= 1_000_000:
        limits = [("peak_rss_mb", "<", 4096.0)]
        timed = workload == "w1" or quanta >= 10_000_000
        return ([("seconds", "<", 120.0)] if timed else []) + limits
    return []


# -- the repository ------------------------------------------------------------------------


def populate(root: Path, url: str | None, n_exposures: int) -> dict[str, float]:
    """A repository with W1's dimension records and N x 4 raw refs (no files)."""
    from quanta.butler import Butler
    from quanta.core import DataCoordinate, DatasetRef

    started = time.perf_counter()
    butler = Butler.create(root, db=url)
    for element, rows in universe_records(n_exposures):
        butler.insert_dimension_records(element, rows)
    raw = butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
    butler.registry.register_run(RUN)
    exposures = exposure_ids(n_exposures)
    per_batch = max(1, REGISTER_BATCH // len(DETECTORS))
    for start in range(0, len(exposures), per_batch):
        refs = [
            DatasetRef.for_output(
                raw,
                DataCoordinate.standardize(
                    {"instrument": INSTRUMENT, "detector": d, "exposure": e}, raw.dimensions
                ),
                RUN,
            )
            for e in exposures[start : start + per_batch]
            for d in DETECTORS
        ]
        butler.registry.insert_datasets(refs)
    butler.close()
    (root / COMPLETE).touch()
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "raws": n_exposures * len(DETECTORS),
    }


def pipeline_path(workdir: Path, workload: str) -> str:
    """What ``Pipeline.load`` takes: the shipped ``w1``, or W2's file written once."""
    if workload == "w1":
        return "w1"
    path = workdir / "w2.yaml"
    if not path.exists():
        path.write_text(W2_PIPELINE)
    return str(path)


# -- children ------------------------------------------------------------------------------


def _status_mb(field: str) -> float | None:
    """A memory field of ``/proc/self/status`` in MB (None without ``/proc``)."""
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far: ``VmHWM``, else ``ru_maxrss``."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / MB if sys.platform == "darwin" else maxrss * 1024 / MB  # bytes / KiB


def rss_mb() -> float:
    """This process's current resident memory (0 where unknown)."""
    return _status_mb("VmRSS") or 0.0


def build_child(args: argparse.Namespace) -> dict[str, Any]:
    """In a fresh process: warm up, build (optionally profiled), then save."""
    from quanta.butler import Butler
    from quanta.graph.builder import build_graph
    from quanta.graph.io import save_graph
    from quanta.pipe import Pipeline

    butler = Butler(args.root)
    pipeline = Pipeline.load(args.pipeline).resolve(butler.universe)
    with stopwatch() as warm:
        first = exposure_ids(1)[0]
        build_graph(butler, pipeline, [RUN], OUTPUT_RUN, where=f"exposure = {first}")
    before = rss_mb()
    profile = cProfile.Profile() if args.profile else None
    with stopwatch() as t:
        if profile is not None:
            profile.enable()
        graph = build_graph(butler, pipeline, [RUN], OUTPUT_RUN, workers=args.jobs)
        if profile is not None:
            profile.disable()
    peak_build = peak_rss_mb()
    result: dict[str, Any] = {
        "quanta": len(graph),
        "seconds": t["seconds"],
        "warmup_seconds": warm["seconds"],
        "rss_before_mb": before,
        "peak_rss_mb": peak_build,
    }
    if profile is not None:
        profile.dump_stats(args.profile)
    if args.save:
        with stopwatch() as s:
            save_graph(graph, args.save)
        result["save_seconds"] = s["seconds"]
        result["file_mb"] = round(os.path.getsize(args.save) / MB, 3)
        result["save_peak_rss_mb"] = peak_rss_mb()
    return result


def load_child(args: argparse.Namespace) -> dict[str, Any]:
    """In a fresh process: load a saved graph."""
    from quanta.core.universe import DEFAULT_UNIVERSE_PATH, load_universe
    from quanta.graph.io import load_graph

    universe = load_universe(DEFAULT_UNIVERSE_PATH)
    before = rss_mb()
    with stopwatch() as t:
        graph = load_graph(args.load, universe)
    return {
        "quanta": len(graph),
        "seconds": t["seconds"],
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_child(*extra: str) -> dict[str, Any]:
    """Run this script as a child and return its JSON result.

    The interpreter is a grandchild forked by a small ``sh`` (the command is followed by
    another, so ``sh`` forks instead of exec'ing), so that it starts with its own, small
    memory high-water mark rather than this process's.
    """
    cmd = [sys.executable, __file__, *extra]
    shell = ["sh", "-c", '"$@"; status=$?; exit $status', "sh", *cmd]
    proc = subprocess.run(shell, capture_output=True, text=True, timeout=3600)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"child {' '.join(extra)} failed: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- reporting -----------------------------------------------------------------------------


def record(stage: str, runs: list[dict[str, Any]], targets: list, **fixed: Any) -> dict[str, Any]:
    """Medians over the runs (``seconds`` also listed per run), rate and targets."""
    out: dict[str, Any] = {"bench": "graph", "stage": stage, **fixed}
    for key in runs[0]:
        values = [r[key] for r in runs]
        median = values[0] if len(set(values)) == 1 else statistics.median(values)
        out[key] = round(median, 3) if isinstance(median, float) else median
        if key == "seconds":
            out["runs"] = [round(v, 3) for v in values]
    out["repeat"] = len(runs)
    if "quanta" in out and out.get("seconds"):
        out["rate_per_s"] = round(out["quanta"] / out["seconds"], 1)
    if targets:
        specs = [{"metric": m, "op": op, "value": v} for m, op, v in targets]
        out["target"] = specs[0] if len(specs) == 1 else specs
        out["meets_target"] = all(
            (out[m] >= v if op == ">=" else out[m] < v) for m, op, v in targets
        )
    return out


def measure(
    workload: str, n_exposures: int, root: Path, workdir: Path, args: argparse.Namespace, db: str
) -> None:
    """Build, save and load one workload ``--repeat`` times; emit the records."""
    expected = quanta_for(workload, n_exposures)
    pipeline = pipeline_path(workdir, workload)
    graph_file = workdir / f"{workload}-{n_exposures}.qgraph.json.gz"
    builds, saves, loads = [], [], []
    for rep in range(args.repeat):
        log(f"bench_graph: {workload} exposures={n_exposures} run {rep + 1}/{args.repeat}")
        extra = ["--save", str(graph_file)] if args.io else []
        result = run_child(
            "--build", str(root), "--pipeline", pipeline, "-j", str(args.jobs), *extra
        )
        if result["quanta"] != expected:
            raise AssertionError(f"{workload}: {result['quanta']} quanta, expected {expected}")
        measured = ("quanta", "seconds", "peak_rss_mb", "rss_before_mb", "warmup_seconds")
        builds.append({k: result[k] for k in measured})
        if args.io:
            saves.append(
                {
                    "quanta": expected,
                    "seconds": result["save_seconds"],
                    "file_mb": result["file_mb"],
                    "peak_rss_mb": result["save_peak_rss_mb"],
                }
            )
            loads.append(run_child("--load", str(graph_file)))
            loads[-1].pop("rss_before_mb")
    fixed = {"workload": workload, "exposures": n_exposures, "db": db}
    emit(record("build", builds, targets_for(workload, expected), jobs=args.jobs, **fixed))
    if args.io:
        emit(record("save", saves, [], **fixed))
        # Loading a saved graph must take less memory than building it did.
        build_peak = statistics.median(b["peak_rss_mb"] for b in builds)
        emit(record("load", loads, [("peak_rss_mb", "<", build_peak)], **fixed))
    if args.profile:
        path = args.profile / f"build_{workload}_{n_exposures}.prof"
        args.profile.mkdir(parents=True, exist_ok=True)
        run_child("--build", str(root), "--pipeline", pipeline, "--profile-out", str(path))
        log(f"bench_graph: profile of the {workload} build written to {path}")
    graph_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--w1", type=int, nargs="*", metavar="N", help=f"W1 exposures (default {DEFAULT_W1})")
    add("--w2", type=int, nargs="*", metavar="N", help=f"W2 exposures (default {DEFAULT_W2})")
    add("--full", action="store_true", help="add W1 and W2 at 250,000 exposures (1M, 2M quanta)")
    add("--no-io", dest="io", action="store_false", help="skip save_graph and load_graph")
    add("--repeat", type=int, default=3, help="runs per size (median reported)")
    add("--db", help="omit for embedded SQLite; 'postgresql' starts a throwaway server")
    add("--tmpdir", help="where to make the temporary repositories")
    add("--cache", type=Path, metavar="DIR", help="keep (and reuse) SQLite repositories in DIR")
    add("--profile", type=Path, metavar="DIR", help="also one cProfile'd build per size, in DIR")
    add("--jobs", "-j", type=int, default=1, help="processes that build (as 'qgraph -j')")
    # The children's modes (see run_child).
    add("--build", dest="root", default=None, help=argparse.SUPPRESS)
    add("--pipeline", default=None, help=argparse.SUPPRESS)
    add("--save", default=None, help=argparse.SUPPRESS)
    add("--profile-out", dest="profile_out", default=None, help=argparse.SUPPRESS)
    add("--load", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.root is not None:
        args.profile = args.profile_out
        print(json.dumps(build_child(args)), flush=True)
        return 0
    if args.load is not None:
        print(json.dumps(load_child(args)), flush=True)
        return 0

    w1 = list(DEFAULT_W1 if args.w1 is None else args.w1)
    w2 = list(DEFAULT_W2 if args.w2 is None else args.w2)
    if args.full:
        w1 += [n for n in FULL_W1 if n not in w1]
        w2 += [n for n in FULL_W2 if n not in w2]
    if args.cache is not None and args.db is not None:
        parser.error("--cache keeps SQLite repositories only")
    databases = Databases(args.db)
    try:
        databases.start()
    except Exception as err:  # the throwaway server could not start
        emit({"bench": "graph", "stage": "setup", "skipped": unavailable_reason(err)})
        return 0
    workdir = args.cache or Path(tempfile.mkdtemp(prefix="quanta-bench-graph-", dir=args.tmpdir))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            for n in sorted(set(w1) | set(w2)):
                root = workdir / f"repo-{n}"
                if not (args.cache is not None and (root / COMPLETE).exists()):
                    shutil.rmtree(root, ignore_errors=True)
                    log(f"bench_graph: populating a repository of {n} exposures")
                    url = stack.enter_context(databases.fresh("graph"))
                    made = populate(root, url, n)
                    emit({"bench": "graph", "stage": "populate", "exposures": n,
                          "db": databases.label, **made})  # fmt: skip
                for workload, sizes in (("w1", w1), ("w2", w2)):
                    if n in sizes:
                        measure(workload, n, root, workdir, args, databases.label)
    finally:
        databases.stop()
        if args.cache is None:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f"bench_graph: done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
