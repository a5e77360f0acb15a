"""Export and import of bundles: N small datasets (default 100,000) moved between repositories.

The source repository is made once (untimed): the W1 universe content for N/4 exposures
and N ``raw`` NumpyArray datasets of 4 float32 values (``put_many``, 10,000 a call). Each
repeat then times ``export`` (``export_bundle`` of the run to a new directory, target under
60 s for 100,000 on SQLite), ``export_zip`` (the same to a ``.zip``), ``import`` (the
directory bundle into a new repository, copy mode, target under 60 s), ``import_again``
(the same bundle again: nothing added) and ``import_zip`` (the zip into another new
repository). Every import is checked.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from common import (
    INSTRUMENT,
    RAW_DIMENSIONS,
    RAW_STORAGE_CLASS,
    TARGETS,
    emit,
    log,
    raw_data_ids,
    stopwatch,
    summarize,
    universe_records,
)
from pg import DB_HELP, Databases, start_or_skip

RUN = f"{INSTRUMENT}/raw/all"
BATCH = 10_000
STAGES = ("export", "export_zip", "import", "import_again", "import_zip")
TARGETS.setdefault("export", ("seconds", "<", 60.0))
TARGETS.setdefault("import", ("seconds", "<", 60.0))


def make_source(root: Path, n: int) -> Any:
    """A SQLite repository holding N raws of 4 float32 values in one run."""
    import numpy as np

    from quanta.butler import Butler

    butler = Butler.create(root)
    for element, records in universe_records(-(-n // 4)):
        butler.insert_dimension_records(element, records)
    butler.register_dataset_type("raw", RAW_DIMENSIONS, RAW_STORAGE_CLASS)
    data_ids = list(raw_data_ids(-(-n // 4)))[:n]
    for start in range(0, n, BATCH):
        batch = data_ids[start : start + BATCH]
        items = [(np.full(4, i + start, dtype=np.float32), d) for i, d in enumerate(batch)]
        butler.put_many(items, "raw", run=RUN)
    return butler


def export(source: Any, destination: Path, n: int) -> dict[str, Any]:
    from quanta.butler.export import export_bundle

    with stopwatch() as t:
        summary = export_bundle(source, destination, [RUN])
    if (summary.datasets, summary.files) != (n, n):
        raise AssertionError(f"export: {summary}")
    return {"seconds": t["seconds"]}


def import_(root: Path, url: str | None, bundle: Path, n: int, twice: bool) -> dict[str, Any]:
    """Import into a new repository (made untimed); with ``twice``, time the second import."""
    from quanta.butler import Butler
    from quanta.butler.import_ import import_bundle

    with Butler.create(root, db=url) as target:
        if twice:
            import_bundle(target, bundle)
        with stopwatch() as t:
            summary = import_bundle(target, bundle)
        expected = (0, n) if twice else (n, 0)
        if (summary.datasets, summary.already_present) != expected:
            raise AssertionError(f"import: {summary}")
    return {"seconds": t["seconds"]}


def run_once(source: Any, n: int, databases: Databases, workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["export"] = export(source, workdir / "bundle", n)
    out["export_zip"] = export(source, workdir / "bundle.zip", n)
    with databases.fresh("bundle") as url:
        out["import"] = import_(workdir / "import", url, workdir / "bundle", n, False)
    with databases.fresh("bundle") as url:
        out["import_again"] = import_(workdir / "again", url, workdir / "bundle", n, True)
    with databases.fresh("bundle") as url:
        out["import_zip"] = import_(workdir / "zip", url, workdir / "bundle.zip", n, False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of datasets")
    parser.add_argument("--db", default=None, help="target registries: " + DB_HELP)
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to write repositories and bundles")
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "db": databases.label}
    if not start_or_skip(databases, "bundle", common):
        return 0
    top = Path(tempfile.mkdtemp(prefix="quanta-bench-bundle-", dir=args.tmpdir))
    try:
        log(f"bench_bundle: making a source repository of {args.n} datasets")
        with stopwatch() as t:
            source = make_source(top / "source", args.n)
        emit(summarize("bundle", "setup", [dict(t)], count=args.n, **common))
        passes = []
        for rep in range(args.repeat):
            log(f"bench_bundle: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            workdir = top / f"run{rep}"
            workdir.mkdir()
            passes.append(run_once(source, args.n, databases, workdir))
            shutil.rmtree(workdir, ignore_errors=True)
        source.close()
    finally:
        databases.stop()
        shutil.rmtree(top, ignore_errors=True)
    for stage in STAGES:
        emit(
            summarize(
                "bundle", stage, [p[stage] for p in passes], count=args.n, target=stage, **common
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
