"""Raw ingest: N small SimCam raws (4 amplifiers of 64x48 imaging pixels, ``quick``-like).

The raws are written once (``write``: 4 detectors per exposure, uint16, the SimCam header
keywords). Each repeat then makes a new repository with SimCam registered and times
``ingest`` (``ingest_raws`` with ``--jobs`` processes reading headers, copy mode; target
under 10 s for 1,000 raws with 2 jobs), ``ingest_again`` (the same files again: nothing is
added) and ``ingest_j1`` (one process, into another new repository, for comparison).
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import TARGETS, emit, log, stopwatch, summarize
from pg import DB_HELP, Databases, start_or_skip

DETECTORS = 4
N_AMPS = 4
AMP_SIZE = (64, 48)
DAY_OBS = 20260301
STAGES = ("ingest", "ingest_again", "ingest_j1")
TARGETS.setdefault("ingest", ("seconds", "<", 10.0))


def write_raws(directory: Path, n: int) -> list[Path]:
    """``n`` raws: exposures of ``DETECTORS`` detectors each, one flat every 10 s."""
    from astropy.io import fits

    from quanta.instruments.simcam_layout import amp_geometry

    geometry = amp_geometry(N_AMPS, *AMP_SIZE)
    shape = (geometry[0].overscan.y1, geometry[0].overscan.x1)
    start = datetime.datetime(2026, 3, 2, 1, 0)
    paths = []
    for index in range(n):
        seq, detector = index // DETECTORS + 1, index % DETECTORS
        begin = start + datetime.timedelta(seconds=10 * seq)
        primary = fits.PrimaryHDU()
        primary.header.update(
            {
                "INSTRUME": "SimCam",
                "DETECTOR": detector,
                "DETNAME": f"S{detector:02d}",
                "EXPID": DAY_OBS * 100_000 + seq,
                "OBSID": f"SimCam_{DAY_OBS}_{seq:06d}",
                "IMGTYPE": "flat",
                "EXPTIME": 5.0,
                "DARKTIME": 5.0,
                "FILTER": "SimCam-r",
                "DATE-OBS": begin.isoformat(timespec="milliseconds"),
                "DATE-END": (begin + datetime.timedelta(seconds=5)).isoformat(
                    timespec="milliseconds"
                ),
                "DAYOBS": DAY_OBS,
                "SEQNUM": seq,
                "GROUPID": f"pair{(seq + 1) // 2}",
            }
        )
        hdus: list[Any] = [primary]
        for amp in geometry:
            hdu = fits.ImageHDU(np.full(shape, 1000 + index % 1000, dtype=np.uint16), name=amp.name)
            hdu.header.update(
                DATASEC=amp.data.to_fits(),
                BIASSEC=amp.overscan.to_fits(),
                PRESEC=amp.prescan.to_fits() if amp.prescan else None,
                DETSEC=amp.detector.to_fits(),
            )
            hdus.append(hdu)
        path = directory / f"SimCam_{DAY_OBS}_{seq:06d}_{detector:02d}.fits"
        fits.HDUList(hdus).writeto(path)
        paths.append(path)
    return paths


def new_repo(root: Path, url: str | None) -> Any:
    """A new repository with SimCam registered."""
    from quanta.butler import Butler
    from quanta.instruments import get_instrument

    butler = Butler.create(root, db=url)
    get_instrument("SimCam").register(butler)
    return butler


def ingest(butler: Any, raws: Path, jobs: int, n: int, fresh: bool) -> dict[str, Any]:
    """Time one ``ingest_raws`` call and check what it did."""
    from quanta.instruments.ingest import ingest_raws

    with stopwatch() as t:
        report = ingest_raws(butler, [raws], "copy", jobs)
    new, old = len(report.ingested), len(report.already_present)
    if report.refused or (new, old) != ((n, 0) if fresh else (0, n)):
        raise AssertionError(f"ingest: {new} new, {old} present, refused {report.refused[:3]}")
    return {"seconds": t["seconds"], "count": n}


def run_once(
    raws: Path, n: int, jobs: int, databases: Databases, workdir: Path
) -> dict[str, dict[str, Any]]:
    """One repeat of the three ingest stages, each repository made untimed."""
    out: dict[str, dict[str, Any]] = {}
    with databases.fresh("ingest") as url:
        butler = new_repo(workdir / "repo", url)
        out["ingest"] = ingest(butler, raws, jobs, n, fresh=True)
        out["ingest_again"] = ingest(butler, raws, jobs, n, fresh=False)
        butler.close()
    with databases.fresh("ingest") as url:
        butler = new_repo(workdir / "repo_j1", url)
        out["ingest_j1"] = ingest(butler, raws, 1, n, fresh=True)
        butler.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of raw files")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="processes reading headers")
    parser.add_argument("--db", default=None, help=DB_HELP)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage (median reported)")
    parser.add_argument("--tmpdir", default=None, help="where to write raws and repositories")
    args = parser.parse_args(argv)

    databases = Databases(args.db)
    common = {"n": args.n, "db": databases.label}
    if not start_or_skip(databases, "ingest", common):
        return 0
    top = Path(tempfile.mkdtemp(prefix="quanta-bench-ingest-", dir=args.tmpdir))
    try:
        (top / "raws").mkdir()
        with stopwatch() as t:
            write_raws(top / "raws", args.n)
        amps = f"{N_AMPS}x{AMP_SIZE[0]}x{AMP_SIZE[1]}"
        emit(summarize("ingest", "write", [dict(t)], count=args.n, amps=amps, **common))
        passes = []
        for rep in range(args.repeat):
            log(f"bench_ingest: n={args.n} db={databases.label} run {rep + 1}/{args.repeat}")
            workdir = top / f"run{rep}"
            passes.append(run_once(top / "raws", args.n, args.jobs, databases, workdir))
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        databases.stop()
        shutil.rmtree(top, ignore_errors=True)

    for stage in STAGES:
        runs = [p[stage] for p in passes]
        count = runs[0]["count"]
        for run in runs:
            run.pop("count")
        jobs = 1 if stage == "ingest_j1" else args.jobs
        emit(summarize("ingest", stage, runs, count=count, target=stage, jobs=jobs, **common))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
