"""A legacy directory-tree repository written from SimCam raws, with every edge case a
converter must meet; ``write_legacy_repo`` returns what it wrote for the tests to check.

The raws come from ``quanta.sim.simulate``; calibrations and processed frames are tiny
images with IMAGE, MASK and VARIANCE extensions (as legacy exposures were), each with a
value of its own, and defects are FITS tables, since only names, rows and formats matter.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits

from quanta.convert.legacy_writer import (
    POINTING_OF_IMGTYPE,
    file_simcam_raws,
    write_calib_registry,
    write_mapper,
    write_raw_registry,
    write_rerun_config,
)
from quanta.convert.mapper import policy_of
from quanta.convert.registries import CalibRow
from quanta.convert.templates import DataId
from quanta.core.image import Image
from quanta.datastore.formatters import formatter_for
from quanta.sim import simulate

MAPPER = "lsst.obs.simcam.SimCamMapper"
INSTRUMENT = "SimCam"
#: Legacy ccd number of each SimCam detector id: swapped, so mixing them up shows.
CCD_OF_DETECTOR = {0: 1, 1: 0}
#: The tract and patch ("x,y") of the shared rerun's one coadd.
COADD_TRACT = 0
COADD_PATCH = "1,2"
#: The policy quanta ships for the mapper: what the tree is written by.
POLICY = yaml.safe_load(policy_of(MAPPER).read_text())
#: Calibration epochs, and per registry table the (calibDate, validStart, validEnd) rows
#: every ccd gets: bias overlaps by a day, dark has a 6-hour and a 2-day gap, flat is
#: seamless, defects are valid until superseded (their stored range is only the date).
EPOCHS = ("2026-02-20", "2026-03-01", "2026-03-10")
CALIB_ROWS = {
    "bias": [
        ("2026-02-20", "2026-02-15", "2026-02-26"),
        ("2026-03-01", "2026-02-25", "2026-03-06"),
        ("2026-03-10", "2026-03-06", "2026-03-15"),
    ],
    "dark": [
        ("2026-02-20", "2026-02-15", "2026-02-25T18:00:00"),
        ("2026-03-01", "2026-02-26", "2026-03-05"),
        ("2026-03-10", "2026-03-07", "2026-03-15"),
    ],
    "flat": [
        ("2026-02-20", "2026-02-15", "2026-02-25"),
        ("2026-03-01", "2026-02-25", "2026-03-06"),
        ("2026-03-10", "2026-03-06", "2026-03-15"),
    ],
    "defect": [(epoch, epoch, epoch) for epoch in EPOCHS],
}
#: Calibration table -> (dataset type, filter of its rows).
CALIB_TYPES = {
    "bias": ("bias", "NONE"),
    "dark": ("dark", "NONE"),
    "flat": ("flat", "SimCam-r"),
    "defect": ("defects", "NONE"),
}
UNTIL_SUPERSEDED = ("defect",)
#: (table, earlier calibDate, later calibDate) of each awkward pair of neighbours.
OVERLAPS = (("bias", "2026-02-20", "2026-03-01"),)
SHORT_GAPS = (("dark", "2026-02-20", "2026-03-01"),)
LONG_GAPS = (("dark", "2026-03-01", "2026-03-10"),)


@dataclass(frozen=True)
class Rerun:
    """One rerun: its directory under the root, its parent's, and its files' data IDs."""

    path: str
    parent: str | None
    files: dict[str, tuple[str, DataId]]


@dataclass(frozen=True)
class LegacyRepo:
    """What ``write_legacy_repo`` wrote. Paths are relative POSIX paths: raws to the root,
    calibrations to ``CALIB``, rerun files to their rerun; row keys are (visit, ccd)."""

    root: Path
    policy: Path
    raws: dict[str, tuple[str, DataId]]
    calibs: dict[str, tuple[str, DataId]]
    registered: set[tuple[int, int]]
    visits: set[int]
    rows_without_files: set[tuple[int, int]]
    files_without_rows: list[str]
    reruns: dict[str, Rerun]
    stray: list[str]
    ignored: list[str]
    overlaps: tuple[tuple[str, str, str], ...] = OVERLAPS
    short_gaps: tuple[tuple[str, str, str], ...] = SHORT_GAPS
    long_gaps: tuple[tuple[str, str, str], ...] = LONG_GAPS
    until_superseded: tuple[str, ...] = UNTIL_SUPERSEDED
    ccd_of_detector: dict[int, int] = field(default_factory=lambda: dict(CCD_OF_DETECTOR))
    mapper: str = MAPPER
    instrument: str = INSTRUMENT


def write_legacy_repo(where: Path) -> LegacyRepo:
    """Write a legacy repository at ``where/repo``, its mapper policy at
    ``where/SimCamMapper.yaml`` (a policy lives with the mapper, not in the repository)
    and the simulated raws it copies under ``where/sim``."""
    root = where / "repo"
    write_mapper(root, MAPPER)
    policy = where / "SimCamMapper.yaml"
    policy.write_text(yaml.safe_dump(POLICY, sort_keys=False))
    summary = simulate(where / "sim", preset="ptc", amp_size=(32, 32))
    sources = [path for paths in summary.files.values() for path in paths]
    filed = file_simcam_raws(root, POLICY["exposures"]["raw"]["template"], sources, CCD_OF_DETECTOR)
    raws = {relative: ("raw", data_id) for relative, data_id, _ in filed}
    # The registry names a file since deleted, and a copied file was never registered.
    gone = sorted(raws)[0]
    (root / gone).unlink()
    gone_key = _key(raws.pop(gone)[1])
    unregistered = sorted(raws)[-1]
    unregistered_key = _key(raws[unregistered][1])
    rows = [row for _, _, row in filed if (row.visit, row.ccd) != unregistered_key]
    write_raw_registry(root / "registry.sqlite3", rows)
    stray_dir = (root / gone).parent
    stray = stray_dir / "SIMCAM-focus-scan.fits"
    _tiny_fits(stray)
    (root / "README.txt").write_text("raws of one SimCam night\n")
    backup = root / f"{unregistered}~"
    shutil.copyfile(root / unregistered, backup)
    calibs = _write_calibs(root / "CALIB")
    science = sorted(
        {d["visit"] for _, d in raws.values() if d["pointing"] == POINTING_OF_IMGTYPE["science"]}
    )
    reruns = _write_reruns(root, science)
    return LegacyRepo(
        root=root,
        policy=policy,
        raws=raws,
        calibs=calibs,
        registered={(row.visit, row.ccd) for row in rows},
        visits={row.visit for row in rows},
        rows_without_files={gone_key},
        files_without_rows=[unregistered],
        reruns=reruns,
        stray=[stray.relative_to(root).as_posix()],
        ignored=["README.txt", backup.relative_to(root).as_posix()],
    )


def _key(data_id: DataId) -> tuple[int, int]:
    """The (visit, ccd) a raw registry row is unique by."""
    return int(data_id["visit"]), int(data_id["ccd"])


def _write_calibs(calib: Path) -> dict[str, tuple[str, DataId]]:
    """One tiny file per calibration row, and ``calibRegistry.sqlite3`` listing them."""
    calib.mkdir()
    templates = POLICY["calibrations"]
    files: dict[str, tuple[str, DataId]] = {}
    rows = []
    for table, dates in CALIB_ROWS.items():
        dataset_type, filter_name = CALIB_TYPES[table]
        for ccd in sorted(CCD_OF_DETECTOR.values()):
            for calib_date, start, end in dates:
                rows.append(CalibRow(table, filter_name, ccd, calib_date, start, end))
                data_id: DataId = {"calibDate": calib_date, "ccd": ccd}
                if dataset_type == "flat":
                    data_id["filter"] = filter_name
                relative = templates[dataset_type]["template"] % data_id
                if dataset_type == "defects":
                    _defects(calib / relative, ccd)
                else:
                    _tiny_image(calib / relative, len(files))
                files[relative] = (dataset_type, data_id)
    write_calib_registry(calib / "calibRegistry.sqlite3", rows)
    return files


def _write_reruns(root: Path, science_visits: list[int]) -> dict[str, Rerun]:
    """A shared rerun over the root and a private one over the shared one, each holding
    processed science frames (the private one redoes the first visit only), the shared one
    also their ISR-corrected exposures and a coadd."""
    reruns = {}
    for path, parent, visits in (
        ("rerun/shared/proc", None, science_visits),
        ("rerun/private/alice", "rerun/shared/proc", science_visits[:1]),
    ):
        directory = root / path
        write_rerun_config(directory, MAPPER, [root / parent if parent else root])
        files: dict[str, tuple[str, DataId]] = {}
        for visit in visits:
            for ccd in sorted(CCD_OF_DETECTOR.values()):
                data_id: DataId = {
                    "pointing": 100,
                    "filter": "SimCam-r",
                    "visit": visit,
                    "ccd": ccd,
                }
                kinds = ("calexp", "postISRCCD") if parent is None else ("calexp",)
                for kind in kinds:
                    relative = POLICY["exposures"][kind]["template"] % data_id
                    _tiny_image(directory / relative, pixel_value(visit, ccd))
                    files[relative] = (kind, data_id)
        if parent is None:
            coadd: DataId = {"filter": "SimCam-r", "tract": COADD_TRACT, "patch": COADD_PATCH}
            relative = POLICY["exposures"]["deepCoadd"]["template"] % coadd
            _tiny_image(directory / relative, 7.0)
            files[relative] = ("deepCoadd", coadd)
        reruns[path] = Rerun(path, parent, files)
    return reruns


def pixel_value(visit: int, ccd: int) -> float:
    """What every pixel of a rerun's frame of ``visit`` and ``ccd`` holds: small enough
    that float32 keeps a change of a fraction of one."""
    return float(visit % 1000 * 10 + ccd)


def _tiny_fits(path: Path) -> None:
    """A 4x4 FITS image with no extensions: a file no template expects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(np.zeros((4, 4), dtype=np.float32)).writeto(path)


def _tiny_image(path: Path, value: float) -> None:
    """A 4x4 image whose pixels all hold ``value``, as a legacy exposure file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((4, 4), value, dtype=np.float32)
    image = Image(pixels, np.zeros((4, 4), dtype=np.int32), np.ones((4, 4), dtype=np.float32), {})
    formatter_for("Image").write(image, path)


def _defects(path: Path, ccd: int) -> None:
    """A legacy defects file: a FITS table of boxes, one box per ccd number plus one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [
        fits.Column(name, format="J", array=np.arange(ccd + 1, dtype=np.int32) + offset)
        for name, offset in (("x0", 0), ("y0", 1), ("width", 1), ("height", 2))
    ]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns)]).writeto(path)
