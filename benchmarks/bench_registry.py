"""Registry at scale: bulk dataset registration, then one query returning every ref.

Each repeat makes a new repository with N/4 exposures x 4 detectors (W1's universe,
100 exposures a night) and:

* ``dimensions``: inserts the dimension records (timed on their own);
* ``build_refs``: makes the N ``DatasetRef`` objects (data IDs and UUIDv5 IDs), client side;
* ``register``: registers them with ``registry.insert_datasets`` in batches (no files);
* ``query``: in a fresh child process that opens the repository, queries all N refs:
  seconds, resident-memory growth (``ru_maxrss``) and ``tracemalloc`` peak of the query
  alone, and a breakdown of its time: the SQL round trip (the same statement through the
  raw DB-API, fetchall), SQLAlchemy's result processing (fetchall, and row-by-row
  iteration as the registry does) and the Python construction of the refs (``make_refs``
  over rows already fetched), plus the query's time with the garbage collector off.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from common import (
    DETECTORS,
    RAW_DIMENSIONS,
    RAW_STORAGE_CLASS,
    emit,
    log,
    raw_data_ids,
    stopwatch,
    summarize,
    universe_records,
)
from pg import DB_HELP, Databases, start_or_skip

RUN = "bench/raw"
EMPTY_RUN = "bench/empty"
MB = 1024 * 1024


def _profile_report(profile: cProfile.Profile, path: Path | None, title: str) -> None:
    """Save a profile beside the others and print its top functions to stderr."""
    if path is None:
        return
    path.mkdir(parents=True, exist_ok=True)
    profile.dump_stats(path / f"{title}.prof")
    log(f"--- profile: {title} (top 20 by own time; full stats in {path / title}.prof) ---")
    stats = pstats.Stats(profile, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(20)


def populate(
    root: Path, url: str | None, n: int, batch: int, profile_dir: Path | None
) -> dict[str, dict[str, Any]]:
    """Create the repository, insert its dimension records and register N refs."""
    from quanta.butler import Butler
    from quanta.core import DataCoordinate, DatasetRef

    butler = Butler.create(root, db=url)
    registry = butler.registry
    n_exposures = -(-n // len(DETECTORS))
    records = universe_records(n_exposures)
    with stopwatch() as t:
        for element, rows in records:
            butler.insert_dimension_records(element, rows)
    dims = {"seconds": t["seconds"], "count": sum(len(r) for _, r in records)}

    raw = butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
    registry.register_run(RUN)
    registry.register_run(EMPTY_RUN)
    data_ids = list(raw_data_ids(n_exposures))[:n]
    with stopwatch() as t:
        refs = [
            DatasetRef.for_output(raw, DataCoordinate.standardize(d, raw.dimensions), RUN)
            for d in data_ids
        ]
    built = {"seconds": t["seconds"], "count": len(refs)}

    profile = cProfile.Profile() if profile_dir is not None else None
    inserted = 0
    with stopwatch() as t:
        if profile is not None:
            profile.enable()
        for start in range(0, len(refs), batch):
            inserted += registry.insert_datasets(refs[start : start + batch])
        if profile is not None:
            profile.disable()
    if inserted != len(refs):
        raise AssertionError(f"inserted {inserted} of {len(refs)} refs")
    if profile is not None:
        _profile_report(profile, profile_dir, "register")
    registry.close()
    return {
        "dimensions": dims,
        "build_refs": built,
        "register": {"seconds": t["seconds"], "count": inserted},
    }


def peak_rss_mb() -> tuple[float, float]:
    """This process's peak resident memory in MB: ``ru_maxrss`` and (Linux) ``VmHWM``.

    ``ru_maxrss`` survives ``exec`` on Linux, so the child must not be started straight
    from the big parent (see ``run_query_child``); ``VmHWM`` belongs to the current
    address space and needs no such care (0 where ``/proc`` is missing).
    """
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # KiB on Linux
    hwm = 0.0
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return maxrss, hwm


def _query_parts(
    registry: Any, statements: list[Any], cursor_sql: list[tuple[str, Any]], expected: int
) -> dict[str, float]:
    """Time the query's SELECT through the raw DB-API and through SQLAlchemy, and the
    construction of refs from the fetched rows."""
    import sqlalchemy as sa

    engine = registry._db.engine
    # Raw DB-API: the biggest statement executed and fetched, no SQLAlchemy involved.
    raw_conn = engine.raw_connection()
    try:
        best_sql, best_rows = None, -1
        for sql, parameters in cursor_sql:
            cursor = raw_conn.cursor()
            cursor.execute(sql, parameters)
            rows = len(cursor.fetchall()) if cursor.description else 0
            if rows > best_rows:
                best_sql, best_rows = (sql, parameters), rows
        assert best_sql is not None
        with stopwatch() as dbapi:
            cursor = raw_conn.cursor()
            cursor.execute(*best_sql)
            cursor.fetchall()
    finally:
        raw_conn.close()

    # SQLAlchemy Core: the same statement through the engine (type processing included).
    selects = [s for s in statements if isinstance(s, sa.Select)]
    with engine.connect() as conn:
        sizes = [len(conn.execute(s).fetchall()) for s in selects]
        biggest = selects[sizes.index(max(sizes))]
        with stopwatch() as core:
            rows = conn.execute(biggest).fetchall()
        # Row by row, as the registry consumes the result.
        with stopwatch() as core_iter:
            for _ in conn.execute(biggest):
                pass

    # Python: refs built from the already fetched rows.
    dt = registry.get_dataset_type("raw")
    run_names = registry._collections.names_by_id()
    with stopwatch() as build:
        built = list(registry._datasets.make_refs(dt, rows, run_names))
    if len(built) != expected:
        raise AssertionError(f"make_refs built {len(built)} refs, expected {expected}")

    return {
        "sql_dbapi_seconds": dbapi["seconds"],
        "sql_sqlalchemy_seconds": core["seconds"],
        "sql_sqlalchemy_iter_seconds": core_iter["seconds"],
        "make_refs_seconds": build["seconds"],
    }


def query_child(root: str, expected: int, profile_dir: str | None) -> dict[str, Any]:
    """Measure the big query in this (fresh) process: one warm-up on an empty run for the
    one-time costs (lazy imports, statement compilation), then the query itself."""
    import sqlalchemy as sa

    from quanta.butler import Butler

    butler = Butler(root)
    registry = butler.registry
    with stopwatch() as warm:
        butler.query_datasets("raw", EMPTY_RUN)

    gc.collect()
    rss_before, hwm_before = peak_rss_mb()
    with stopwatch() as t:
        refs = butler.query_datasets("raw", RUN)
    rss_after, hwm_after = peak_rss_mb()
    if len(refs) != expected:
        raise AssertionError(f"query found {len(refs)} refs, expected {expected}")
    del refs
    gc.collect()

    # The same query once more, recording what it sends to the database.
    statements: list[Any] = []
    cursor_sql: list[tuple[str, Any]] = []

    def on_execute(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        statements.append(clause)

    def on_cursor(
        conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            cursor_sql.append((sql, parameters))

    engine = registry._db.engine
    sa.event.listen(engine, "before_execute", on_execute)
    sa.event.listen(engine, "before_cursor_execute", on_cursor)
    with stopwatch() as again:
        butler.query_datasets("raw", RUN)
    sa.event.remove(engine, "before_execute", on_execute)
    sa.event.remove(engine, "before_cursor_execute", on_cursor)

    # The same query with the cyclic garbage collector off, to show what it costs.
    gc.collect()
    gc.disable()
    try:
        with stopwatch() as no_gc:
            butler.query_datasets("raw", RUN)
    finally:
        gc.enable()
    gc.collect()

    # The parts of the time, each with the garbage collector off so that they add up to
    # gc_off_seconds (holding 100,000 fetched rows would otherwise trigger collections
    # that the registry's own row-by-row loop does not).
    gc.disable()
    try:
        parts = _query_parts(registry, statements, cursor_sql, expected)
    finally:
        gc.enable()
    gc.collect()

    tracemalloc.start()
    with stopwatch() as traced:
        refs = butler.query_datasets("raw", RUN)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del refs

    if profile_dir is not None:
        profile = cProfile.Profile()
        profile.enable()
        butler.query_datasets("raw", RUN)
        profile.disable()
        _profile_report(profile, Path(profile_dir), f"query_{registry.dialect}")

    return {
        "seconds": t["seconds"],
        "second_seconds": again["seconds"],
        "warmup_seconds": warm["seconds"],
        "gc_off_seconds": no_gc["seconds"],
        "rss_growth_mb": rss_after - rss_before,
        "rss_before_mb": rss_before,
        "vmhwm_growth_mb": hwm_after - hwm_before,
        "tracemalloc_peak_mb": peak / MB,
        "tracemalloc_seconds": traced["seconds"],
        **parts,
        "select_statements": len(cursor_sql),
    }


def run_query_child(root: Path, expected: int, profile_dir: Path | None) -> dict[str, Any]:
    """Run ``query_child`` in a fresh interpreter and return what it measured.

    The interpreter is a grandchild, forked by a small ``sh``: Linux carries ``ru_maxrss``
    across ``exec``, so a child forked straight from this (large) process would start
    with this process's peak and hide its own.
    """
    cmd = [sys.executable, __file__, "--query-child", str(root), "--n", str(expected)]
    if profile_dir is not None:
        cmd += ["--profile", str(profile_dir)]
    # `"$@"` followed by another command, so that sh forks instead of exec'ing.
    shell = ["sh", "-c", '"$@"; status=$?; exit $status', "sh", *cmd]
    proc = subprocess.run(shell, capture_output=True, text=True, timeout=900)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"query child failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="refs to register and query")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--batch", type=int, default=10_000, help="refs per insert_datasets")
    parser.add_argument("--tmpdir", default=None, help="where to make the temporary repositories")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="profile registration and the query with cProfile: .prof files in DIR, "
        "top functions on stderr",
    )
    parser.add_argument("--query-child", default=None, metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.query_child is not None:
        profile = str(args.profile) if args.profile is not None else None
        print(json.dumps(query_child(args.query_child, args.n, profile)), flush=True)
        return 0

    databases = Databases(args.db)
    common = {"n": args.n, "db": databases.label}
    if not start_or_skip(databases, "registry", common):
        return 0
    passes: list[dict[str, dict[str, Any]]] = []
    started = time.perf_counter()
    try:
        for rep in range(args.repeat):
            log(f"bench_registry: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            workdir = Path(tempfile.mkdtemp(prefix="quanta-bench-registry-", dir=args.tmpdir))
            profile_dir = args.profile if rep == 0 else None
            try:
                with databases.fresh("registry") as url:
                    root = workdir / "repo"
                    result = populate(root, url, args.n, args.batch, profile_dir)
                    result["query"] = run_query_child(root, args.n, profile_dir)
                    passes.append(result)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        databases.stop()
    log(f"bench_registry: done in {time.perf_counter() - started:.1f} s")

    for stage in ("dimensions", "build_refs", "register"):
        runs = [p[stage] for p in passes]
        count = runs[0]["count"]
        runs = [{"seconds": r["seconds"]} for r in runs]
        extra = {"batch": args.batch} if stage == "register" else {}
        emit(summarize("registry", stage, runs, count=count, target=stage, **extra, **common))

    queries = [p["query"] for p in passes]
    breakdown = (
        "second_seconds",
        "warmup_seconds",
        "gc_off_seconds",
        "sql_dbapi_seconds",
        "sql_sqlalchemy_seconds",
        "sql_sqlalchemy_iter_seconds",
        "make_refs_seconds",
        "select_statements",
    )
    runs = [{k: q[k] for k in ("seconds", *breakdown)} for q in queries]
    emit(summarize("registry", "query", runs, count=args.n, target="query", **common))
    runs = [
        {"seconds": q["tracemalloc_seconds"], "peak_mb": q["tracemalloc_peak_mb"]} for q in queries
    ]
    emit(summarize("registry", "query_tracemalloc", runs, target="query_tracemalloc", **common))
    runs = [
        {
            "seconds": q["seconds"],
            "rss_growth_mb": q["rss_growth_mb"],
            "rss_before_mb": q["rss_before_mb"],
            "vmhwm_growth_mb": q["vmhwm_growth_mb"],
        }
        for q in queries
    ]
    emit(summarize("registry", "query_rss", runs, target="query_rss", **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
