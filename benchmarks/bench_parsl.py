"""W4, cluster execution (see benchmarks/README.md): per-quantum overhead of the process pool
and of Parsl, with one quantum per job and with jobs clustered by detector.

Each repeat makes a new repository in a temporary directory with N exposures x 4
detectors of tiny raws (4x4 float32) in RUN bench/raw, and builds one graph of the
shipped ``w1`` pipeline per executor (N x 4 trivial ``calexp`` quanta + 4 summaries,
each into its own run). Then, one executor after the other, with ``--workers`` workers:

- ``pool_start`` / ``parsl_start``: constructing the executor (``constructor_seconds``)
  plus executing a warm-up graph of one exposure (8 quanta, ``warmup_seconds``) into
  another run, so that the workers are up and have imported quanta; ``seconds`` is the
  sum. For Parsl (the ``local`` site) the constructor starts the interchange and the
  block of workers.
- ``pool``, ``parsl_job``, ``parsl_cluster``: the wall time of ``execute()`` alone on
  the warm executor (no start-up, no shutdown), on the pool, on Parsl with one quantum
  per job, and on the same Parsl executor with ``cluster_by=("detector",)`` (4 jobs of
  N calexp quanta and 4 of one summary). ``ms_per_quantum`` is those seconds divided by
  the number of quanta; ``jobs`` is the number of jobs submitted. Every execution is
  checked: all quanta done, N x 4 ``calexpLike`` and 4 summaries of N inputs.
- ``cluster_vs_pool``: ``parsl_cluster`` ms per quantum / ``pool`` ms per quantum in
  each repeat (target <= 2).
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
    emit,
    exposure_ids,
    log,
    raw_data_ids,
    stopwatch,
    summarize,
    universe_records,
)
from pg import DB_HELP, Databases, start_or_skip

RUN = "bench/raw"
SHAPE = (4, 4)
BATCH = 1000
CLUSTER_BY = ("detector",)
RATIO_TARGET = 2.0
#: The measured executions: stage name and clustering dimensions.
MEASURED = {"pool": (), "parsl_job": (), "parsl_cluster": CLUSTER_BY}
STAGES = ("pool_start", "pool", "parsl_start", "parsl_job", "parsl_cluster")


def make_repo(root: Path, n: int, url: str | None) -> Any:
    """A new repository with the W1 dimension records and N x 4 tiny raws in ``RUN``."""
    from quanta.butler import Butler

    butler = Butler.create(root, db=url)
    for element, rows in universe_records(n):
        butler.insert_dimension_records(element, rows)
    raw = butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
    data_ids = list(raw_data_ids(n))
    for start in range(0, len(data_ids), BATCH):
        chunk = data_ids[start : start + BATCH]
        items = [(np.full(SHAPE, start + i, dtype=np.float32), d) for i, d in enumerate(chunk)]
        butler.put_many(items, raw, run=RUN)
    return butler


def build(butler: Any, name: str, where: str | None = None) -> Any:
    """The ``w1`` graph over the raws selected by ``where``, into run bench/<name>/run."""
    from quanta.graph.builder import build_graph
    from quanta.pipe import Pipeline

    pipeline = Pipeline.load("w1").resolve(butler.universe)
    return build_graph(butler, pipeline, [RUN], f"bench/{name}/run", f"bench/{name}", where)


def run_graph(butler: Any, graph: Any, executor: Any, cluster_by: tuple[str, ...]) -> float:
    """Execute ``graph``; its wall seconds. Raises unless every quantum was done."""
    from quanta.exec import ExecutionSettings, execute

    settings = ExecutionSettings(progress=False, cluster_by=cluster_by)
    with stopwatch() as t:
        report = execute(butler, graph, executor, settings)
    if not report.ok or report.total("done") != len(graph):
        raise AssertionError(f"{graph.output_run}: {report.counts} {report.failures[:3]}")
    return t["seconds"]


def check_outputs(butler: Any, name: str, n: int) -> None:
    """Raise unless bench/<name> holds N x 4 calexpLike and 4 summaries of N inputs."""
    collection = f"bench/{name}"
    calexps = butler.query_datasets("calexpLike", collection)
    summaries = butler.query_datasets("summary", collection)
    if len(calexps) != 4 * n or len(summaries) != 4:
        raise AssertionError(f"{collection}: {len(calexps)} calexpLike, {len(summaries)} summaries")
    if any(butler.get(ref)["n_inputs"] != n for ref in summaries):
        raise AssertionError(f"{collection}: a summary does not cover {n} inputs")


def measure(butler: Any, graph: Any, executor: Any, stage: str, n: int) -> dict[str, Any]:
    """One measured execution: seconds, ms per quantum and the number of jobs."""
    from quanta.exec.clustering import cluster_ids

    cluster_by = MEASURED[stage]
    seconds = run_graph(butler, graph, executor, cluster_by)
    check_outputs(butler, stage, n)
    jobs = int(cluster_ids(graph, cluster_by).max()) + 1
    return {"seconds": seconds, "ms_per_quantum": 1000 * seconds / len(graph), "jobs": jobs}


def start(butler: Any, make_executor: Any, warmup: Any) -> tuple[Any, dict[str, float]]:
    """Construct an executor and execute the warm-up graph on it; the executor and the
    seconds of both steps. The executor is shut down if the warm-up fails."""
    with stopwatch() as t:
        executor = make_executor()
    try:
        warm = run_graph(butler, warmup, executor, ())
    except BaseException:
        executor.shutdown()
        raise
    timing = {"constructor_seconds": t["seconds"], "warmup_seconds": warm}
    return executor, {"seconds": t["seconds"] + warm, **timing}


def run_once(n: int, workers: int, url: str | None, workdir: Path) -> dict[str, dict[str, Any]]:
    """One repository, the pool's and Parsl's start-up and the three measured executions."""
    from quanta.exec import ProcessPoolExecutor
    from quanta.exec.parsl_executor import ParslExecutor
    from quanta.exec.sites import load_site

    with stopwatch() as t:
        butler = make_repo(workdir / "repo", n, url)
        where = f"exposure = {exposure_ids(1)[0]}"
        warmups = {name: build(butler, f"warmup_{name}", where) for name in ("pool", "parsl")}
        graphs = {stage: build(butler, stage) for stage in MEASURED}
    log(f"bench_parsl: repository and graphs ready in {t['seconds']:.1f} s")
    out: dict[str, dict[str, Any]] = {}

    pool, out["pool_start"] = start(butler, lambda: ProcessPoolExecutor(workers), warmups["pool"])
    try:
        out["pool"] = measure(butler, graphs["pool"], pool, "pool", n)
    finally:
        pool.shutdown()

    site = load_site("local", workers)
    parsl, out["parsl_start"] = start(
        butler, lambda: ParslExecutor(site, workdir / "parsl"), warmups["parsl"]
    )
    try:
        for stage in ("parsl_job", "parsl_cluster"):
            log(f"bench_parsl: {stage}")
            out[stage] = measure(butler, graphs[stage], parsl, stage, n)
    finally:
        parsl.shutdown()
    butler.close()
    out["cluster_vs_pool"] = {
        "ratio": out["parsl_cluster"]["ms_per_quantum"] / out["pool"]["ms_per_quantum"]
    }
    return out


def report(passes: list[dict[str, dict[str, Any]]], n: int, common: dict[str, Any]) -> None:
    """Emit one record per stage (medians over the passes) and the clustered/pool ratio."""
    quanta = 4 * n + 4
    for stage in STAGES:
        runs = [p[stage] for p in passes]
        extra: dict[str, Any] = {}
        if stage in MEASURED:
            extra = {"jobs": runs[0].pop("jobs"), "cluster_by": list(MEASURED[stage])}
            for run in runs[1:]:
                run.pop("jobs")
        count = quanta if stage in MEASURED else None
        emit(summarize("w4", stage, runs, count=count, **extra, **common))
    record = summarize("w4", "cluster_vs_pool", [p["cluster_vs_pool"] for p in passes], **common)
    record["target"] = {"metric": "ratio", "op": "<=", "value": RATIO_TARGET}
    record["meets_target"] = record["ratio"] <= RATIO_TARGET
    emit(record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2500, help="number of exposures (x 4 quanta)")
    parser.add_argument("--workers", type=int, default=2, help="pool processes, Parsl workers")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to make the temporary repositories")
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "workers": args.workers, "db": databases.label}
    if not start_or_skip(databases, "w4", common):
        return 0
    passes = []
    try:
        for rep in range(args.repeat):
            log(f"bench_parsl: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            workdir = Path(tempfile.mkdtemp(prefix="quanta-bench-parsl-", dir=args.tmpdir))
            try:
                with databases.fresh("w4") as url:
                    passes.append(run_once(args.n, args.workers, url, workdir))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        databases.stop()
    report(passes, args.n, common)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
