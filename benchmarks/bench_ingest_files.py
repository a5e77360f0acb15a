"""``ingest-files``: N small files (default 10,000) listed in a CSV table, ingested as datasets.

The files (``.npy`` arrays of 4 float32 values) and the table (``file``, ``instrument``,
``detector``, ``exposure``) are written once. Each repeat makes a new repository holding the
W1 universe content for N/4 exposures (untimed), then times ``ingest_files``
(``ingest_table``, copy mode, registering the dataset type from the table; target under
10 s for 10,000) and ``ingest_files_again`` (the same table again: nothing is added).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from common import TARGETS, emit, log, raw_data_ids, stopwatch, summarize, universe_records
from pg import DB_HELP, Databases, start_or_skip

STAGES = ("ingest_files", "ingest_files_again")
TARGETS.setdefault("ingest_files", ("seconds", "<", 10.0))


def write_files(directory: Path, n: int) -> Path:
    """``n`` arrays and the CSV table listing them (paths relative to the table)."""
    import numpy as np

    (directory / "files").mkdir(parents=True)
    lines = ["file,instrument,detector,exposure"]
    for index, data_id in enumerate(list(raw_data_ids(-(-n // 4)))[:n]):
        name = f"files/a_{index:07d}.npy"
        np.save(directory / name, np.full(4, index, dtype=np.float32))
        lines.append(f"{name},{data_id['instrument']},{data_id['detector']},{data_id['exposure']}")
    table = directory / "files.csv"
    table.write_text("\n".join(lines) + "\n")
    return table


def ingest(root: Path, url: str | None, table: Path, n: int) -> dict[str, dict[str, Any]]:
    """Both stages into one new repository."""
    from quanta.butler import Butler
    from quanta.butler.ingest_table import ingest_table

    out = {}
    with Butler.create(root, db=url) as butler:
        for element, records in universe_records(-(-n // 4)):
            butler.insert_dimension_records(element, records)
        for stage, expected in (("ingest_files", (n, 0)), ("ingest_files_again", (0, n))):
            with stopwatch() as t:
                report = ingest_table(butler, "arrays", "u/files", table, "copy", "NumpyArray")
            if (report.ingested, report.already_present) != expected:
                raise AssertionError(f"{stage}: {report}")
            out[stage] = {"seconds": t["seconds"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of files")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to write files and repositories")
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "db": databases.label}
    if not start_or_skip(databases, "ingest_files", common):
        return 0
    top = Path(tempfile.mkdtemp(prefix="quanta-bench-ingest-files-", dir=args.tmpdir))
    try:
        with stopwatch() as t:
            table = write_files(top / "input", args.n)
        emit(summarize("ingest_files", "write", [dict(t)], count=args.n, **common))
        passes = []
        for rep in range(args.repeat):
            log(f"bench_ingest_files: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            with databases.fresh("ingest_files") as url:
                passes.append(ingest(top / f"run{rep}", url, table, args.n))
            shutil.rmtree(top / f"run{rep}", ignore_errors=True)
    finally:
        databases.stop()
        shutil.rmtree(top, ignore_errors=True)
    for stage in STAGES:
        runs = [p[stage] for p in passes]
        emit(summarize("ingest_files", stage, runs, count=args.n, target=stage, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
