"""Scan: ``quanta scan`` of N raws written from one real DECam header (a primary HDU and
one CCD extension of 4x6 pixels; exposure number and obs id vary), read by the header
translators of astro-metadata-translator.

The raws are written once (``write``, with the test suite's ``tests/instruments/
real_headers.py``). Each repeat then times ``scan`` (the command's logic, ``scan()`` with
``--jobs`` processes, in this process; target under 5 s for 1,000 raws with 2 jobs),
``scan_j1`` (one process) and ``scan_cli`` (``quanta scan DIR -j N --format json`` in a
fresh process, start-up and output included). Every run checks that all N rows were
accepted with their own exposure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import TARGETS, emit, log, stopwatch, summarize
from pg import TESTS_DIR

HEADER = "fitsheader-decam.yaml"
FIRST_EXPOSURE = 229388
STAGES = ("scan", "scan_j1", "scan_cli")
for _stage in ("scan", "scan_cli"):
    TARGETS.setdefault(_stage, ("seconds", "<", 5.0))


def write_raws(directory: Path, n: int) -> None:
    """``n`` DECam raws, one exposure each."""
    if str(TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(TESTS_DIR))
    from instruments.real_headers import header, write_raw

    values = header(HEADER)
    for index in range(n):
        exposure = FIRST_EXPOSURE + index
        changes = {"EXPNUM": exposure, "OBSID": f"ct4m_bench_{exposure}"}
        write_raw(directory / f"decam_{exposure}.fits", values | changes)


def check(exposures: list[int], n: int) -> None:
    """Every raw accepted, each its own exposure."""
    if sorted(exposures) != list(range(FIRST_EXPOSURE, FIRST_EXPOSURE + n)):
        raise AssertionError(f"scan: {len(exposures)} rows, not the {n} exposures written")


def scan_in_process(raws: Path, jobs: int, n: int) -> dict[str, Any]:
    """Time ``scan()`` and check its rows."""
    from quanta.instruments.scan import scan

    with stopwatch() as t:
        report = scan([raws], jobs=jobs)
    if report.refused:
        raise AssertionError(f"scan refused {report.refused[0].label}: {report.refused[0].reason}")
    check([row.info.exposure_id for row in report.rows if row.info], n)
    return {"seconds": t["seconds"]}


def scan_command(raws: Path, jobs: int, n: int) -> dict[str, Any]:
    """Time ``quanta scan`` in a fresh process and check its JSON output."""
    command = [shutil.which("quanta") or "quanta", "scan", str(raws), "-j", str(jobs)]
    with stopwatch() as t:
        done = subprocess.run([*command, "--format", "json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"quanta scan exited {done.returncode}: {done.stderr[-300:]}")
    rows = json.loads(done.stdout)
    check([int(row["obs_id"].rsplit("_", 1)[1]) for row in rows], n)
    return {"seconds": t["seconds"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of raw files")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="processes reading headers")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to write the raws")
    args = parser.parse_args(argv)

    common = {"n": args.n, "header": HEADER}
    top = Path(tempfile.mkdtemp(prefix="quanta-bench-scan-", dir=args.tmpdir))
    try:
        with stopwatch() as t:
            write_raws(top, args.n)
        emit(summarize("scan", "write", [dict(t)], count=args.n, **common))
        runs: dict[str, list[dict[str, Any]]] = {stage: [] for stage in STAGES}
        for rep in range(args.repeat):
            log(f"bench_scan: n={args.n} run {rep + 1}/{args.repeat}")
            runs["scan"].append(scan_in_process(top, args.jobs, args.n))
            runs["scan_j1"].append(scan_in_process(top, 1, args.n))
            runs["scan_cli"].append(scan_command(top, args.jobs, args.n))
    finally:
        shutil.rmtree(top, ignore_errors=True)

    for stage in STAGES:
        jobs = 1 if stage == "scan_j1" else args.jobs
        emit(summarize("scan", stage, runs[stage], count=args.n, target=stage, jobs=jobs, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
