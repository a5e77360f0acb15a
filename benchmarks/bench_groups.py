"""Group definition at scale: ``define-groups --rule flat-pairs`` over N flat exposures.

Each repeat makes a new repository (untimed) holding instrument Cam and N flat exposure
records (1,000 a night, inserted in bulk) whose exposure times come in matching pairs,
then times ``define`` (``define_groups`` with the flat-pairs rule into an exclusive
system: N/2 groups, target under 10 s for N = 100,000) and ``define_again`` (the same
definition once more: nothing is written).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from common import INSTRUMENT, NS, TARGETS, emit, log, night, stopwatch, summarize, tai_ns
from pg import DB_HELP, Databases, start_or_skip

PER_NIGHT = 1000
CADENCE_S = 20
SYSTEM = "ptc"
STAGES = ("define", "define_again")
TARGETS.setdefault("define", ("seconds", "<", 10.0))


def flat_records(n: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """Dimension records of ``n`` flats: pair k (exposures 2k and 2k+1 of a night) has
    exposure time 1 + k % 50 seconds, so neighbouring pairs never match."""
    from quanta.core import Timespan

    nights = -(-n // PER_NIGHT)
    days = []
    for k in range(nights):
        day, day_obs = night(k)
        days.append(
            {
                "instrument": INSTRUMENT,
                "id": day_obs,
                "timespan": Timespan(tai_ns(day, 12 * 3600), tai_ns(day, 36 * 3600)),
            }
        )
    exposures = []
    for i in range(n):
        day, day_obs = night(i // PER_NIGHT)
        seq = i % PER_NIGHT + 1
        begin = tai_ns(day, 20 * 3600 + seq * CADENCE_S)
        seconds = float(1 + (i // 2) % 50)
        exposures.append(
            {
                "instrument": INSTRUMENT,
                "id": day_obs * 100_000 + seq,
                "obs_id": f"{INSTRUMENT}_{day_obs}_{seq:06d}",
                "physical_filter": f"{INSTRUMENT}-r",
                "day_obs": day_obs,
                "exposure_time": seconds,
                "observation_type": "flat",
                "seq_num": seq,
                "timespan": Timespan(begin, begin + int(seconds * NS)),
            }
        )
    return [
        ("instrument", [{"name": INSTRUMENT, "detector_max": 1}]),
        ("band", [{"name": "r"}]),
        ("physical_filter", [{"instrument": INSTRUMENT, "name": f"{INSTRUMENT}-r", "band": "r"}]),
        ("day_obs", days),
        ("exposure", exposures),
    ]


def define(butler: Any, n: int, fresh: bool) -> dict[str, Any]:
    """Time one flat-pairs definition and check what it did."""
    from quanta.instruments.groups import define_groups

    with stopwatch() as t:
        report = define_groups(butler, SYSTEM, rule="flat-pairs", exclusive=True)
    expected = (n // 2, 0) if fresh else (0, n // 2)
    if (report.new, report.existing) != expected or report.left_out:
        raise AssertionError(f"define: {report.summary()}")
    return {"seconds": t["seconds"], "count": n}


def run_once(n: int, databases: Databases, workdir: Path) -> dict[str, dict[str, Any]]:
    """One repeat: a new repository with N flats (untimed), then both stages."""
    from quanta.butler import Butler

    records = flat_records(n)
    with databases.fresh("groups") as url:
        butler = Butler.create(workdir / "repo", db=url)
        for element, rows in records:
            butler.insert_dimension_records(element, rows)
        out = {
            "define": define(butler, n, fresh=True),
            "define_again": define(butler, n, fresh=False),
        }
        butler.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of flat exposures")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to make the repositories")
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "db": databases.label}
    if not start_or_skip(databases, "groups", common):
        return 0
    top = Path(tempfile.mkdtemp(prefix="quanta-bench-groups-", dir=args.tmpdir))
    try:
        passes = []
        for rep in range(args.repeat):
            log(f"bench_groups: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            workdir = top / f"run{rep}"
            passes.append(run_once(args.n, databases, workdir))
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        databases.stop()
        shutil.rmtree(top, ignore_errors=True)

    for stage in STAGES:
        runs = [p[stage] for p in passes]
        count = runs[0].pop("count")
        for run in runs[1:]:
            run.pop("count")
        emit(summarize("groups", stage, runs, count=count, target=stage, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
