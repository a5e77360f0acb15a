"""In-task pairing (option A, ``ptcInline``) with ``-j 1`` and ``-j 2``, on the ``ptc`` preset.

Setup runs the calibration flow with the in-task design (simulate, ingest, masters, ISR of
the flats and the curve), so the ISR'd flats are in the repository; ``--keep DIR`` builds
it in DIR once and reuses it on later runs. Then the ``ptcInline`` task alone runs on one
detector's flats, ``--repeat`` times with each worker count: a graph of one quantum runs
inline, with ``-j``'s workers, on which the quantum measures the pairs and draws the
plot's amplifier columns (forked processes, ``quanta.pipe.parallel``).
After one run that imports what the task needs, the counts alternate run by run, so
that both see the same load. Records give the run's wall seconds and the quantum's own
``duration_s`` (from its metadata), and ``speedup`` = median seconds at ``-j 1`` /
median seconds at ``-j 2`` (target >= 1.7), ``fastest_speedup`` the same of the fastest
runs (those least slowed by other work), with the load average, since the figures are
meaningless on a machine whose cores are busy. The ``steps`` records time two of the
quantum's steps alone on one and on two workers, on data in memory: ``fit``
(``solve_detector``) and ``plot`` (``render_ptc``); ``rest_j1`` is the rest of
``seconds`` at ``-j 1`` (reading the headers, reading and measuring the pairs, the run's
own work).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import emit, log, summarize

from quanta.butler import Butler
from quanta.cp.ptc_curve import solve_detector
from quanta.cp.ptc_plot import render_ptc
from quanta.cp.ptc_solve import PtcInlineConfig, PtcInlineTask
from quanta.demo import run_calibration_flow
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.planning import RunRequest
from quanta.pipe import parallel
from quanta.pipe.parallel import Workers

TARGET = 1.7


def run_inline(butler: Butler, inputs: str, output: str, where: str, jobs: int) -> dict[str, Any]:
    """One run of ``ptcInline`` alone: wall seconds, the quantum's seconds and workers."""
    request = RunRequest(output, "ptc_inline#ptcInline", [inputs], where)
    start = time.perf_counter()
    report = run_pipeline(butler, request, ExecutionSettings(), jobs)
    seconds = time.perf_counter() - start
    assert report.ok, report.failures
    (ref,) = butler.query_datasets("ptcInline_metadata", report.run)
    metadata = butler.get(ref)
    return {
        "seconds": seconds,
        "quantum_seconds": metadata["duration_s"],
        "workers": metadata["workers"],
    }


def time_steps(butler: Butler, run: str, detector: int, repeat: int) -> dict[int, dict[str, float]]:
    """Median seconds of the quantum's steps on data in memory, on one and two workers."""
    refs = butler.query_datasets("postISRCCD", run, where=f"detector = {detector}")
    flats = {int(ref.data_id["exposure"]): butler.get(ref) for ref in refs}
    config = PtcInlineConfig()
    tables = PtcInlineTask(config, label="ptcInline").measure(flats)
    ptc = solve_detector(tables, "SimCam", detector, config.solve_options)
    steps: dict[str, Callable[[], object]] = {
        "fit": lambda: solve_detector(tables, "SimCam", detector, config.solve_options),
        "plot": lambda: render_ptc(ptc),
    }
    medians: dict[int, dict[str, float]] = {}
    for count in (1, 2):
        runs = []
        with parallel.given(Workers(count)):
            for step in steps.values():
                step()  # warm-up
            for _ in range(repeat):
                timed = {}
                for name, step in steps.items():
                    start = time.perf_counter()
                    step()
                    timed[name] = time.perf_counter() - start
                runs.append(timed)
        record = summarize("ptc_inline", f"steps_j{count}", runs, flats=len(flats))
        medians[count] = {name: record[name] for name in steps}
        emit(record)
    return medians


def ready_flow(directory: Path, preset: str) -> tuple[Path, str]:
    """The repository and PTC collection of the in-task flow in ``directory``, built there
    unless an earlier run left it (``flow.json`` names them)."""
    saved = directory / "flow.json"
    if saved.exists():
        kept = json.loads(saved.read_text())
        if kept["preset"] == preset:
            log(f"bench_ptc_inline: reusing the flow in {directory}")
            return Path(kept["repo"]), str(kept["collection"])
        raise SystemExit(f"{directory} holds a flow of preset {kept['preset']!r}, not {preset!r}")
    started = time.perf_counter()
    flow = run_calibration_flow(directory / "flow", design="inline", preset=preset, processes=2)
    log(f"bench_ptc_inline: flow ready in {time.perf_counter() - started:.0f} s")
    saved.write_text(
        json.dumps({"preset": preset, "repo": str(flow.repo), "collection": flow.ptc_collection})
    )
    return flow.repo, flow.ptc_collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ptc", help="simulation preset (default: ptc)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per worker count")
    parser.add_argument("--detector", type=int, default=0, help="the detector to pair")
    parser.add_argument("--keep", type=Path, help="build the flow here once and reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_ptc_inline_") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        repo, collection = ready_flow(directory, args.preset)
        butler = Butler(repo)
        where = f"exposure.observation_type = 'flat' AND detector = {args.detector}"
        stamp = time.strftime("%Y%m%dT%H%M%S")  # fresh outputs in a kept repository
        run_inline(butler, collection, f"u/bench/{stamp}/warm", where, 1)  # imports
        runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for i in range(args.repeat):  # alternated, so that both counts see the same load
            for jobs, done in runs.items():
                done.append(
                    run_inline(butler, collection, f"u/bench/{stamp}/j{jobs}_{i}", where, jobs)
                )
        records = {}
        for jobs, done in runs.items():
            records[jobs] = summarize("ptc_inline", f"j{jobs}", done, preset=args.preset)
            emit(records[jobs])
        fastest = {jobs: min(run["seconds"] for run in done) for jobs, done in runs.items()}
        steps = time_steps(butler, collection, args.detector, args.repeat)
        speedup = {
            key: round(records[1][key] / records[2][key], 3)
            for key in ("seconds", "quantum_seconds")
        }
        emit(
            {
                "bench": "ptc_inline",
                "stage": "speedup_j2",
                "preset": args.preset,
                "speedup": speedup["seconds"],
                "quantum_speedup": speedup["quantum_seconds"],
                "fastest_speedup": round(fastest[1] / fastest[2], 3),
                "step_speedup": {k: round(v / steps[2][k], 3) for k, v in steps[1].items()},
                "rest_j1": round(records[1]["seconds"] - sum(steps[1].values()), 3),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "target": {"metric": "speedup", "op": ">=", "value": TARGET},
                "meets_target": speedup["seconds"] >= TARGET,
            }
        )


if __name__ == "__main__":
    main()
