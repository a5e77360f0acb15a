"""W1, the reference middleware workload (see benchmarks/README.md), stage by stage.

Each repeat builds a new repository in a temporary directory and runs the stages in
order: create, dimensions, put (N x 4 float32 64x64 arrays with ``put_many`` into RUN
bench/raw), query (all raw, counted), get (200 reads, values checked). After the W1
stages, ``put_single`` times ``Butler.put`` one dataset at a time into another run.
The import stage runs in fresh interpreters. ``qgraph`` builds the graph of the shipped
``w1`` pipeline (N x 4 + 4 quanta); ``execute_j1`` and ``execute_j2`` run a graph each
with one and two processes, report quanta per second and check the four summaries.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    RAW_DIMENSIONS,
    RAW_STORAGE_CLASS,
    ChildError,
    emit,
    log,
    raw_data_ids,
    stopwatch,
    summarize,
    time_import,
    universe_records,
)
from pg import DB_HELP, Databases, start_or_skip

RUN = "bench/raw"
SINGLE_RUN = "bench/raw_single"
N_GET = 200
SHAPE = (64, 64)
STAGES = ("create", "dimensions", "put", "query", "get", "put_single", "qgraph")
STAGES += ("execute_j1", "execute_j2")


def array_for(index: int) -> np.ndarray:
    """The array put for raw number ``index``: constant, so a read can be checked."""
    return np.full(SHAPE, index, dtype=np.float32)


def run_once(
    n: int, url: str | None, workdir: Path, batch: int, n_single: int
) -> dict[str, dict[str, Any]]:
    """One pass over the W1 stages in a new repository; seconds (and counts) per stage."""
    from quanta.butler import Butler

    root = workdir / "repo"
    out: dict[str, dict[str, Any]] = {}

    with stopwatch() as t:
        butler = Butler.create(root, db=url)
    out["create"] = {"seconds": t["seconds"]}

    records = universe_records(n)
    with stopwatch() as t:
        for element, rows in records:
            butler.insert_dimension_records(element, rows)
    out["dimensions"] = {"seconds": t["seconds"], "count": sum(len(r) for _, r in records)}

    data_ids = list(raw_data_ids(n))
    with stopwatch() as t:
        raw = butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
        for start in range(0, len(data_ids), batch):
            chunk = data_ids[start : start + batch]
            items = [(array_for(start + i), d) for i, d in enumerate(chunk)]
            butler.put_many(items, raw, run=RUN)
    out["put"] = {"seconds": t["seconds"], "count": len(data_ids)}

    with stopwatch() as t:
        refs = butler.query_datasets("raw", RUN)
        found = len(refs)
    if found != len(data_ids):
        raise AssertionError(f"query found {found} raw datasets, expected {len(data_ids)}")
    out["query"] = {"seconds": t["seconds"], "count": found}

    index = {(d["detector"], d["exposure"]): i for i, d in enumerate(data_ids)}
    step = max(1, len(refs) // N_GET)
    sample = refs[::step][:N_GET]
    with stopwatch() as t:
        arrays = [butler.get(ref) for ref in sample]
    for ref, array in zip(sample, arrays, strict=True):
        expected = index[(ref.data_id["detector"], ref.data_id["exposure"])]
        if array.shape != SHAPE or array[0, 0] != expected:
            raise AssertionError(f"get({ref}) returned the wrong array")
    out["get"] = {"seconds": t["seconds"], "count": len(sample)}

    single = data_ids[:n_single]
    with stopwatch() as t:
        for i, data_id in enumerate(single):
            butler.put(array_for(i), raw, data_id, run=SINGLE_RUN)
    out["put_single"] = {"seconds": t["seconds"], "count": len(single)}

    out.update(run_pipeline(butler, n))
    butler.close()
    return out


def run_pipeline(butler: Any, n: int) -> dict[str, dict[str, Any]]:
    """Build the W1 graph, then execute one graph inline and one with two processes."""
    from quanta.exec import ExecutionSettings, InlineExecutor, ProcessPoolExecutor, execute
    from quanta.graph.builder import build_graph
    from quanta.pipe import Pipeline

    pipeline = Pipeline.load("w1").resolve(butler.universe)
    out: dict[str, dict[str, Any]] = {}
    graphs = {}
    for jobs in (1, 2):
        with stopwatch() as t:
            graphs[jobs] = build_graph(
                butler, pipeline, [RUN], f"bench/out{jobs}/run", f"bench/out{jobs}"
            )
        if jobs == 1:
            out["qgraph"] = {"seconds": t["seconds"], "count": len(graphs[jobs])}
    settings = ExecutionSettings(progress=False)
    for jobs, executor in ((1, InlineExecutor()), (2, ProcessPoolExecutor(2))):
        try:
            with stopwatch() as t:
                report = execute(butler, graphs[jobs], executor, settings)
        finally:
            executor.shutdown()
        if not report.ok:
            raise AssertionError(f"execution with {jobs} process(es) failed: {report.failures}")
        summaries = butler.query_datasets("summary", f"bench/out{jobs}")
        if len(summaries) != 4 or any(butler.get(r)["n_inputs"] != n for r in summaries):
            raise AssertionError(f"execute_j{jobs}: expected 4 summaries of {n} inputs each")
        quanta = len(graphs[jobs])
        out[f"execute_j{jobs}"] = {"seconds": t["seconds"], "count": quanta}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of exposures (x 4 raws)")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--batch", type=int, default=400, help="datasets per put_many call")
    parser.add_argument(
        "--single", type=int, default=100, help="datasets written one by one with put"
    )
    parser.add_argument("--tmpdir", default=None, help="where to make the temporary repositories")
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "db": databases.label}
    if not start_or_skip(databases, "w1", common):
        return 0
    try:
        try:
            imports = [time_import("quanta.butler.butler") for _ in range(max(args.repeat, 5))]
            for run in imports:
                run.pop("namespace")
            emit(summarize("w1", "import", imports, module="quanta.butler.butler", **common))
        except ChildError as err:
            emit({"bench": "w1", "stage": "import", "error": str(err), **common})

        passes = []
        for rep in range(args.repeat):
            log(f"bench_w1: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            workdir = Path(tempfile.mkdtemp(prefix="quanta-bench-w1-", dir=args.tmpdir))
            try:
                with databases.fresh("w1") as url:
                    passes.append(run_once(args.n, url, workdir, args.batch, args.single))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        databases.stop()

    for stage in STAGES:
        runs = [p[stage] for p in passes]
        count = runs[0].pop("count", None)
        for run in runs[1:]:
            run.pop("count", None)
        extra: dict[str, Any] = {}
        if stage == "put":
            extra = {"batch": args.batch, "run": RUN}
        elif stage == "put_single":
            extra = {"run": SINGLE_RUN}
        emit(summarize("w1", stage, runs, count=count, **extra, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
