"""Legacy conversion: a directory-tree repository of N raws and M calibration files.

The legacy repository is written once: the small SimCam raws of ``bench_ingest`` (4
amplifiers of 64x48 pixels, 4 detectors an exposure) placed by the SimCam policy's raw
template with a raw registry listing them, and M calibration files (bias and flat, 4
detectors, M / 8 dates, tiny three-plane images) with their calibration registry. Each
repeat times ``convert`` (plan, raws by their headers with ``--jobs`` processes, visits,
calibrations checked, ingested and certified; target under 60 s for 10,000 raws and 1,000
calibrations with 2 jobs) into a new repository, then ``convert_again`` (nothing added).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
from bench_ingest import DAY_OBS, DETECTORS, write_raws
from common import TARGETS, emit, log, stopwatch, summarize
from pg import DB_HELP, Databases, start_or_skip

STAGES = ("convert", "convert_again")
TARGETS.setdefault("convert", ("seconds", "<", 60.0))
CALIB_TYPES = (("bias", "NONE"), ("flat", "SimCam-r"))


def write_legacy(root: Path, n_raws: int, n_calibs: int) -> None:
    """The legacy repository: mapper, raws in the template tree, registries, calibrations."""
    import yaml
    from astropy.io import fits

    from quanta.convert.mapper import policy_of

    mapper = "lsst.obs.simcam.SimCamMapper"
    policy = yaml.safe_load(policy_of(mapper).read_text())
    root.mkdir(parents=True)
    (root / "_mapper").write_text(mapper + "\n")
    flat = root / "flat"
    flat.mkdir()
    rows = []
    raw_template = policy["exposures"]["raw"]["template"]
    date = f"{str(DAY_OBS)[:4]}-{str(DAY_OBS)[4:6]}-{str(DAY_OBS)[6:]}"
    for path in write_raws(flat, n_raws):
        header = fits.getheader(path, 0)
        data_id = {
            "field": "flats",
            "dateObs": date,
            "pointing": 3,
            "filter": header["FILTER"],
            "visit": header["EXPID"],
            "ccd": header["DETECTOR"],
        }
        target = root / (raw_template % data_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        rows.append((data_id["visit"], data_id["ccd"], data_id["filter"], header["DATE-OBS"]))
    flat.rmdir()
    with closing(sqlite3.connect(root / "registry.sqlite3")) as db, db:
        db.execute(
            "CREATE TABLE raw (id INTEGER PRIMARY KEY, visit INT, ccd INT, filter TEXT, "
            "taiObs TEXT, UNIQUE(visit, ccd))"
        )
        db.execute("CREATE TABLE raw_visit (visit INT, filter TEXT, taiObs TEXT, UNIQUE(visit))")
        db.executemany("INSERT INTO raw (visit, ccd, filter, taiObs) VALUES (?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT OR IGNORE INTO raw_visit VALUES (?, ?, ?)",
            [(visit, filt, tai) for visit, _, filt, tai in rows],
        )
    write_calibs(root / "CALIB", policy["calibrations"], n_calibs)


def write_calibs(calib: Path, templates: dict[str, Any], n_calibs: int) -> None:
    """``n_calibs`` calibration files over consecutive days, and their registry."""
    import datetime

    from astropy.io import fits

    calib.mkdir()
    hdus = fits.HDUList(
        [fits.PrimaryHDU()]
        + [
            fits.ImageHDU(np.zeros((4, 4), dtype=dtype), name=name)
            for name, dtype in (("IMAGE", np.float32), ("MASK", np.int32), ("VARIANCE", np.float32))
        ]
    )
    per_date = len(CALIB_TYPES) * DETECTORS
    first = datetime.date(2025, 1, 1)
    with closing(sqlite3.connect(calib / "calibRegistry.sqlite3")) as db, db:
        for table, _ in CALIB_TYPES:
            db.execute(
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, filter TEXT, ccd INT, "
                "calibDate TEXT, validStart TEXT, validEnd TEXT)"
            )
        for index in range(n_calibs):
            day, rest = divmod(index, per_date)
            (table, filter_name), ccd = CALIB_TYPES[rest // DETECTORS], rest % DETECTORS
            calib_date = (first + datetime.timedelta(days=day)).isoformat()
            data_id = {"calibDate": calib_date, "ccd": ccd, "filter": filter_name}
            path = calib / (templates[table]["template"] % data_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            hdus.writeto(path)
            end = (first + datetime.timedelta(days=day + 1)).isoformat()
            db.execute(
                f"INSERT INTO {table} (filter, ccd, calibDate, validStart, validEnd) "
                "VALUES (?, ?, ?, ?, ?)",
                (filter_name, ccd, calib_date, calib_date, end),
            )


def convert_once(root: Path, legacy: Path, url: str | None, jobs: int) -> dict[str, Any]:
    """Time one conversion into the repository at ``root`` (made untimed)."""
    from quanta.butler import Butler
    from quanta.convert.converter import convert
    from quanta.convert.plan import make_plan

    if not (root / "quanta.yaml").exists():
        Butler.create(root, db=url).close()
    with Butler(root) as butler, stopwatch() as t:
        report = convert(butler, make_plan(legacy), "copy", jobs)
    if report.errors or report.skipped:
        raise AssertionError(f"convert: {report.errors[:3]} {report.skipped[:3]}")
    return {
        "seconds": t["seconds"],
        "raws": report.raws_ingested,
        "datasets": sum(report.new.values()),
        "certified": report.certified,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of raw files")
    parser.add_argument("--calibs", type=int, default=1000, help="number of calibration files")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="processes")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to write the repositories")
    parser.add_argument(
        "--legacy",
        type=Path,
        default=None,
        help="keep the legacy repository here (written if absent, reused if present)",
    )
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "calibs": args.calibs, "db": databases.label, "jobs": args.jobs}
    if not start_or_skip(databases, "convert", common):
        return 0
    top = Path(tempfile.mkdtemp(prefix="quanta-bench-convert-", dir=args.tmpdir))
    legacy = args.legacy or top / "legacy"
    passes = []
    try:
        if not (legacy / "_mapper").exists():
            with stopwatch() as t:
                write_legacy(legacy, args.n, args.calibs)
            emit(summarize("convert", "write", [dict(t)], count=args.n + args.calibs, **common))
        for rep in range(args.repeat):
            log(f"bench_convert: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            with databases.fresh("convert") as url:
                repo = top / f"run{rep}"
                first = convert_once(repo, legacy, url, args.jobs)
                again = convert_once(repo, legacy, url, args.jobs)
                if (again["raws"], again["datasets"], again["certified"]) != (0, 0, 0):
                    raise AssertionError(f"converting again added {again}")
                passes.append({"convert": first, "convert_again": again})
                shutil.rmtree(repo, ignore_errors=True)
    finally:
        databases.stop()
        shutil.rmtree(top, ignore_errors=True)
    for stage in STAGES:
        runs = [{"seconds": p[stage]["seconds"]} for p in passes]
        emit(summarize("convert", stage, runs, count=args.n + args.calibs, target=stage, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
