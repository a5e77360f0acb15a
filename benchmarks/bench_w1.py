"""W1, the reference middleware workload (see benchmarks/README.md), stage by stage.

Each repeat builds a new repository in a temporary directory and runs the stages in
order: create, dimensions, put (N x 4 float32 64x64 arrays with ``put_many`` into RUN
bench/raw), query (all raw, counted), get (200 reads by ref, values checked). With
``--single`` the workload is written and read as a user's script would: ``put_single``
is N x 4 calls of ``Butler.put`` and ``get_single`` 200 calls of ``Butler.get`` by data
ID; both report the SQL statements each call sent (``statements_per_op``), and on SQLite
``put_floor`` times what the database and the file system alone take for as many durable
puts (raw ``sqlite3`` and file calls, no quanta code): the ceiling of ``put_single``. The import
stage runs in fresh interpreters. ``qgraph`` builds the graph of the shipped ``w1``
pipeline (N x 4 + 4 quanta); ``execute_j1`` and ``execute_j2`` run a graph each with one
and two processes, report quanta per second and check the four summaries, and
``execute_speedup`` compares them (``-j 2`` must never be slower; with N = 2000 and
``--work-ms 5``, where each calexp quantum of ``w1_busy`` computes for 5 ms, at least
1.6 times faster), with the load average of the machine when it was measured; the
execute stages report the SQL statements the driver sent per quantum. With
``--vs-postgresql`` every repeat runs on SQLite and then, back to back, on a throwaway
PostgreSQL server, and ``postgresql_ratio`` records give PostgreSQL's time over SQLite's
for put, get and execute (target: at most 1.3).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
PROFILE_RUN = "bench/profiled"
TRACED_RUN = "bench/traced"
#: Puts and gets whose round trips the profile stage counts.
N_TRACED = 100
N_GET = 200
SHAPE = (64, 64)
#: Module timed by each import stage; the package is what ``import quanta.butler`` costs,
#: the module the ``Butler`` class itself (which needs SQLAlchemy and pydantic).
IMPORTS = {"import": "quanta.butler", "import_butler_class": "quanta.butler.butler"}
#: PostgreSQL's time over SQLite's that ``postgresql_ratio`` records must not exceed.
PG_RATIO_TARGET = 1.3
#: The stages a ``postgresql_ratio`` record compares, by what W1 calls them.
RATIO_STAGES = {
    "put": ("put_single", "put"),
    "get": ("get_single", "get"),
    "execute": ("execute_j1",),
}
TARGET_OF = {
    "import": "import quanta.butler",
    "create": "create",
    "put_single": "put_single",
    "get_single": "get_single",
}


def array_for(index: int) -> np.ndarray:
    """The array put for raw number ``index``: constant, so a read can be checked."""
    return np.full(SHAPE, index, dtype=np.float32)


@contextmanager
def counted_statements() -> Iterator[list[int]]:
    """Count the SQL statements every engine sends while the block runs (``[n]``): those
    SQLAlchemy executes and those a database sends on its driver directly (hot reads and
    single puts, ``BEGIN`` and ``COMMIT`` included)."""
    import sqlalchemy as sa

    from quanta.registry.database import Database

    count = [0]
    direct = Database._submit

    def tick(*_args: Any) -> None:
        count[0] += 1

    def submit(db: Database, batch: Any, first: bool) -> Any:
        count[0] += len(batch)
        return direct(db, batch, first)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", tick)
    Database._submit = submit  # type: ignore[method-assign]
    try:
        yield count
    finally:
        Database._submit = direct  # type: ignore[method-assign]
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", tick)


@contextmanager
def counted_round_trips(butler: Any) -> Iterator[list[int]]:
    """On PostgreSQL, count the round trips to the server while the block runs (``[n]``
    after it), from libpq's trace of what the client sends; on SQLite, ``[0]``."""
    if butler.registry._db.dialect != "postgresql":
        yield [0]
        return
    from pg import round_trips

    with round_trips(butler.registry._db) as count:
        yield count


def run_once(
    n: int,
    url: str | None,
    workdir: Path,
    batch: int,
    single: bool,
    pipeline: bool,
    work_ms: float = 0.0,
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
    raw = butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
    if single:
        with counted_statements() as sql, stopwatch() as t:
            for i, data_id in enumerate(data_ids):
                butler.put(array_for(i), "raw", data_id, run=RUN)
        out["put_single"] = per_op(t["seconds"], len(data_ids), sql[0])
    else:
        with stopwatch() as t:
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
    if single:
        wanted = [dict(ref.data_id) for ref in sample]
        with counted_statements() as sql, stopwatch() as t:
            arrays = [butler.get("raw", data_id, collections=RUN) for data_id in wanted]
        out["get_single"] = per_op(t["seconds"], len(sample), sql[0])
    else:
        with stopwatch() as t:
            arrays = [butler.get(ref) for ref in sample]
        out["get"] = {"seconds": t["seconds"], "count": len(sample)}
    for ref, array in zip(sample, arrays, strict=True):
        expected = index[(ref.data_id["detector"], ref.data_id["exposure"])]
        if array.shape != SHAPE or array[0, 0] != expected:
            raise AssertionError(f"get({ref}) returned the wrong array")

    if pipeline:
        out.update(run_pipeline(butler, n, work_ms))
    butler.close()
    if single and url is None:
        out["put_floor"] = put_floor(root, len(data_ids))
    return out


def put_floor(root: Path, count: int) -> dict[str, Any]:
    """What SQLite and the file system alone take for ``count`` durable single puts: per
    put, one write transaction on the repository's own registry (a dataset row and its
    file row, as ``Butler.put`` inserts them) and one file of a raw's size written under a
    temporary name, hashed and renamed; no quanta code runs."""
    import hashlib
    import sqlite3
    import time
    import uuid

    conn = sqlite3.connect(root / "registry.sqlite3", isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    (type_id,) = conn.execute(
        "SELECT dataset_type_id FROM dataset_type WHERE name = 'raw'"
    ).fetchone()
    (run_id,) = conn.execute(
        "SELECT collection_id FROM collection WHERE name = ?", (RUN,)
    ).fetchone()
    data = array_for(0).tobytes()
    directory = root / "floor"
    directory.mkdir()
    start = time.perf_counter()
    for i in range(count):
        dataset_id = uuid.uuid4().hex
        path = directory / f"raw_{i}.npy"
        temporary = directory / f".raw_{i}.npy.tmp"
        with open(temporary, "xb") as stream:
            stream.write(data)
        checksum = hashlib.sha256(data).hexdigest()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO dataset (id, dataset_type_id, run_id, data_id_key, ingest_ns, "
            "instrument, detector, exposure) VALUES (?, ?, ?, ?, ?, 'Cam', ?, ?)",
            (dataset_id, type_id, run_id, f"floor={i}", time.time_ns(), i % 4, i),
        )
        conn.execute(
            "INSERT INTO file_record (dataset_id, path, storage_class, checksum, size) "
            "VALUES (?, ?, 'NumpyArray', ?, ?)",
            (dataset_id, str(path), checksum, len(data)),
        )
        conn.execute("COMMIT")
        os.replace(temporary, path)
    seconds = time.perf_counter() - start
    conn.close()
    return {"seconds": seconds, "count": count}


def per_op(seconds: float, count: int, statements: int) -> dict[str, Any]:
    """A stage's record: seconds, count and SQL statements per call."""
    return {"seconds": seconds, "count": count, "statements_per_op": statements / count}


def profile_single(url: str | None, workdir: Path, n: int, directory: Path) -> dict[str, Any]:
    """cProfile ``Butler.put`` and ``Butler.get`` by data ID over N x 4 datasets (in a
    repository of their own); writes ``put_single.prof`` and ``get_single.prof`` and
    returns the function calls and SQL statements per call of each and, on PostgreSQL,
    the round trips to the server per call (counted apart, in a run of their own)."""
    from quanta.butler import Butler

    butler = Butler.create(workdir / "profiled", db=url)
    for element, rows in universe_records(n):
        butler.insert_dimension_records(element, rows)
    butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
    data_ids = list(raw_data_ids(n))
    directory.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"count": len(data_ids)}
    for stage in ("put_single", "get_single"):
        profiler = cProfile.Profile()
        with counted_statements() as sql:
            profiler.enable()
            for i, data_id in enumerate(data_ids):
                if stage == "put_single":
                    butler.put(array_for(i), "raw", data_id, run=PROFILE_RUN)
                else:
                    butler.get("raw", data_id, collections=PROFILE_RUN)
            profiler.disable()
        path = directory / f"{stage}.prof"
        profiler.dump_stats(path)
        stats = pstats.Stats(str(path))
        result[f"{stage}_calls_per_op"] = round(stats.total_calls / len(data_ids), 1)
        result[f"{stage}_statements_per_op"] = sql[0] / len(data_ids)
    # Traced apart from the profile: writing the trace costs time of its own.
    samples = data_ids[: min(len(data_ids), N_TRACED)]
    with counted_round_trips(butler) as trips:
        for i, data_id in enumerate(samples):
            butler.put(array_for(i), "raw", data_id, run=TRACED_RUN)
    result["put_single_round_trips_per_op"] = trips[0] / len(samples)
    with counted_round_trips(butler) as trips:
        for data_id in samples:
            butler.get("raw", data_id, collections=TRACED_RUN)
    result["get_single_round_trips_per_op"] = trips[0] / len(samples)
    butler.close()
    return result


def w1_pipeline(work_ms: float) -> Any:
    """The W1 pipeline; with ``work_ms``, ``w1_busy`` computing that long per calexp."""
    from quanta.pipe import Pipeline

    if not work_ms:
        return Pipeline.load("w1")
    return Pipeline.load("w1_busy").with_overrides([("calexp", "work_ms", work_ms)])


def run_pipeline(butler: Any, n: int, work_ms: float = 0.0) -> dict[str, dict[str, Any]]:
    """Build the W1 graph, then execute one graph inline and one with two processes."""
    from quanta.exec import ExecutionSettings, InlineExecutor, ProcessPoolExecutor, execute
    from quanta.graph.builder import build_graph

    pipeline = w1_pipeline(work_ms).resolve(butler.universe)
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
            with counted_statements() as sql, stopwatch() as t:
                report = execute(butler, graphs[jobs], executor, settings)
        finally:
            executor.shutdown()
        if not report.ok:
            raise AssertionError(f"execution with {jobs} process(es) failed: {report.failures}")
        summaries = butler.query_datasets("summary", f"bench/out{jobs}")
        if len(summaries) != 4 or any(butler.get(r)["n_inputs"] != n for r in summaries):
            raise AssertionError(f"execute_j{jobs}: expected 4 summaries of {n} inputs each")
        quanta = len(graphs[jobs])
        out[f"execute_j{jobs}"] = {
            "seconds": t["seconds"],
            "count": quanta,
            "statements_per_quantum": sql[0] / quanta,
        }
    return out


def speedup_record(
    passes: list[dict[str, dict[str, Any]]], work_ms: float, **fixed: Any
) -> dict[str, Any]:
    """``execute_j1`` over ``execute_j2`` seconds (medians) against the target: never
    slower, and 1.6 times faster with N (``fixed["n"]``) >= 2000 and at least 5 ms of
    work per quantum."""
    j1 = statistics.median(p["execute_j1"]["seconds"] for p in passes)
    j2 = statistics.median(p["execute_j2"]["seconds"] for p in passes)
    target = 1.6 if fixed["n"] >= 2000 and work_ms >= 5 else 1.0
    speedup = j1 / j2
    return {
        "bench": "w1",
        "stage": "execute_speedup",
        **fixed,
        "work_ms": work_ms,
        "execute_j1": round(j1, 6),
        "execute_j2": round(j2, 6),
        "speedup": round(speedup, 3),
        "target": {"metric": "speedup", "op": ">=", "value": target},
        "meets_target": speedup >= target,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def ratio_records(
    sqlite: list[dict[str, dict[str, Any]]], pg: list[dict[str, dict[str, Any]]], **fixed: Any
) -> list[dict[str, Any]]:
    """PostgreSQL's seconds over SQLite's for put, get and execute: the median of the ratios
    of passes run back to back, against ``PG_RATIO_TARGET``."""
    records = []
    for what, stages in RATIO_STAGES.items():
        stage = next((s for s in stages if s in sqlite[0]), None)
        if stage is None:
            continue
        ratios = [
            p[stage]["seconds"] / q[stage]["seconds"] for q, p in zip(sqlite, pg, strict=True)
        ]
        ratio = statistics.median(ratios)
        records.append(
            {
                "bench": "w1",
                "stage": "postgresql_ratio",
                "compared": what,
                "of_stage": stage,
                **fixed,
                "ratio": round(ratio, 3),
                "ratio_runs": [round(r, 3) for r in ratios],
                "target": {"metric": "ratio", "op": "<=", "value": PG_RATIO_TARGET},
                "meets_target": ratio <= PG_RATIO_TARGET,
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    return records


def emit_passes(
    passes: list[dict[str, dict[str, Any]]], args: argparse.Namespace, common: dict[str, Any]
) -> None:
    """One record per stage (medians over the passes), then the speedup of -j 2."""
    for stage in passes[0]:
        runs = [dict(p[stage]) for p in passes]
        count = runs[0].pop("count", None)
        for run in runs[1:]:
            run.pop("count", None)
        extra: dict[str, Any] = {}
        if stage == "put":
            extra = {"batch": args.batch, "run": RUN}
        elif stage == "put_single":
            extra = {"run": RUN}
        elif stage.startswith("execute_"):
            extra = {"work_ms": args.work_ms}
        emit(
            summarize(
                "w1", stage, runs, count=count, target=TARGET_OF.get(stage), **extra, **common
            )
        )
    if not args.no_pipeline:
        emit(speedup_record(passes, args.work_ms, **common))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of exposures (x 4 raws)")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--batch", type=int, default=400, help="datasets per put_many call")
    parser.add_argument(
        "--single",
        action="store_true",
        help="put with one Butler.put per dataset and get by data ID (put_single, get_single)",
    )
    parser.add_argument(
        "--no-pipeline", action="store_true", help="skip the qgraph and execute stages"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --single: also cProfile puts and gets into DIR (calls per operation)",
    )
    parser.add_argument(
        "--work-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="run w1_busy: each calexp quantum computes for MS milliseconds (execute stages)",
    )
    parser.add_argument(
        "--vs-postgresql",
        action="store_true",
        help="run every repeat on SQLite and then on a throwaway PostgreSQL server, and "
        "report PostgreSQL's time over SQLite's (postgresql_ratio)",
    )
    parser.add_argument("--tmpdir", default=None, help="where to make the temporary repositories")
    args = parser.parse_args(argv)

    specs = [None, "postgresql"] if args.vs_postgresql else [args.db]
    databases = [Databases(spec) for spec in specs]
    commons = [{"n": args.n, "db": d.label} for d in databases]
    if not all(start_or_skip(d, "w1", c) for d, c in zip(databases, commons, strict=True)):
        for d in databases:
            d.stop()
        return 0
    passes: list[list[dict[str, dict[str, Any]]]] = [[] for _ in databases]
    try:
        for stage, module in IMPORTS.items():
            try:
                imports = [time_import(module) for _ in range(max(args.repeat, 5))]
                for run in imports:
                    run.pop("namespace")
                target = TARGET_OF.get(stage)
                emit(summarize("w1", stage, imports, module=module, target=target, n=args.n))
            except ChildError as err:
                emit({"bench": "w1", "stage": stage, "error": str(err), "n": args.n})

        for rep in range(args.repeat):
            for db, done in zip(databases, passes, strict=True):
                log(f"bench_w1: n={args.n} db={db.label} run {rep + 1}/{args.repeat}")
                workdir = Path(tempfile.mkdtemp(prefix="quanta-bench-w1-", dir=args.tmpdir))
                try:
                    with db.fresh("w1") as url:
                        done.append(
                            run_once(
                                args.n,
                                url,
                                workdir,
                                args.batch,
                                args.single,
                                not args.no_pipeline,
                                args.work_ms,
                            )
                        )
                    if args.single and args.profile is not None and rep == 0:
                        with db.fresh("w1") as url:
                            directory = args.profile / db.label if len(specs) > 1 else args.profile
                            profile = profile_single(url, workdir, args.n, directory)
                            emit(
                                {
                                    "bench": "w1",
                                    "stage": "profile",
                                    "directory": str(directory),
                                    **profile,
                                    "n": args.n,
                                    "db": db.label,
                                }
                            )
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
    finally:
        for db in databases:
            db.stop()

    for done, common in zip(passes, commons, strict=True):
        emit_passes(done, args, common)
    if args.vs_postgresql:
        for record in ratio_records(passes[0], passes[1], n=args.n, single=args.single):
            emit(record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
