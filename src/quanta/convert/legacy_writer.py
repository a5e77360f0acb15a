"""Writing the pieces of a legacy directory-tree repository: the mapper file, the raw and
calibration registries and a rerun's configuration, as the old tools wrote them, so that
conversions and comparisons can be tried on repositories quanta makes itself."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path

from .mapper import MAPPER_FILE
from .registries import CALIB_KEY, CalibRow, RawRow, Value
from .reruns import CONFIG_FILE
from .templates import DataId

#: The columns ``raw_visit`` copies from ``raw``, where the raw table has them.
VISIT_COLUMNS = ("visit", "field", "filter", "dateObs", "taiObs")
#: The tag the legacy tools put on a rerun's configuration.
CONFIG_TAG = "!RepositoryCfg_v1"


def write_mapper(root: Path, mapper: str) -> None:
    """``root/_mapper``: the mapper class, on one line."""
    root.mkdir(parents=True, exist_ok=True)
    (root / MAPPER_FILE).write_text(mapper + "\n")


def write_raw_registry(path: Path, raws: Sequence[RawRow]) -> None:
    """``raw`` (an integer key, visit, ccd, filter, taiObs and the rows' other columns,
    unique by visit and ccd) and ``raw_visit`` (one row per visit), added as the old
    ingest added them: ``INSERT OR IGNORE``."""
    rows = [
        {"visit": r.visit, "ccd": r.ccd, "filter": r.filter, "taiObs": r.tai_obs, **r.extra}
        for r in raws
    ]
    columns = list(dict.fromkeys(c for row in rows for c in row))
    visit_columns = [c for c in VISIT_COLUMNS if c in columns]
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            f"CREATE TABLE raw ({CALIB_KEY} INTEGER PRIMARY KEY AUTOINCREMENT, "
            f"{_declare(columns, rows)}, UNIQUE(visit, ccd))"
        )
        db.execute(f"CREATE TABLE raw_visit ({_declare(visit_columns, rows)}, UNIQUE(visit))")
        _insert(db, "raw", columns, rows)
        _insert(db, "raw_visit", visit_columns, rows)


def write_calib_registry(path: Path, calibs: Sequence[CalibRow]) -> None:
    """One table per calibration type: an integer key, filter, ccd, calibDate and the
    validity dates, unique by filter, ccd and date."""
    with closing(sqlite3.connect(path)) as db, db:
        for table in dict.fromkeys(c.calib_type for c in calibs):
            db.execute(
                f'CREATE TABLE "{table}" ({CALIB_KEY} INTEGER PRIMARY KEY AUTOINCREMENT, '
                "filter TEXT, ccd INT, calibDate TEXT, validStart TEXT, validEnd TEXT, "
                "UNIQUE(filter, ccd, calibDate))"
            )
            db.executemany(
                f'INSERT INTO "{table}" (filter, ccd, calibDate, validStart, validEnd) '
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (c.filter, c.ccd, c.calib_date, c.valid_start, c.valid_end)
                    for c in calibs
                    if c.calib_type == table
                ],
            )


def write_rerun_config(directory: Path, mapper: str, parents: Sequence[Path]) -> None:
    """A rerun's ``repositoryCfg.yaml``, naming its parents relative to it."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {
        "_mapper": mapper,
        "_mapperArgs": {},
        "_parents": [os.path.relpath(parent, directory) for parent in parents],
        "_policy": None,
        "_root": None,
    }
    text = yaml.safe_dump(config, sort_keys=False)
    (directory / CONFIG_FILE).write_text(f"{CONFIG_TAG}\n{text}")


def _declare(columns: Sequence[str], rows: Sequence[Mapping[str, Value]]) -> str:
    """Column declarations typed by the first value each column holds."""
    kinds = {bool: "INT", int: "INT", float: "DOUBLE", str: "TEXT", bytes: "BLOB"}
    declared = []
    for column in columns:
        value = next((row[column] for row in rows if row.get(column) is not None), "")
        declared.append(f'"{column}" {kinds.get(type(value), "TEXT")}')
    return ", ".join(declared)


def _insert(
    db: sqlite3.Connection, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Value]]
) -> None:
    """``INSERT OR IGNORE`` every row's values of ``columns``."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    db.executemany(
        f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",
        [[row.get(c) for c in columns] for row in rows],
    )


#: The legacy "pointing" SimCam's old tools filed each kind of exposure under.
POINTING_OF_IMGTYPE = {"bias": 1, "dark": 2, "flat": 3, "science": 100}


def file_simcam_raws(
    root: Path, template: str, sources: Sequence[Path], ccd_of_detector: Mapping[int, int]
) -> list[tuple[str, DataId, RawRow]]:
    """Copy SimCam raws into the legacy tree by ``template`` (legacy visit = EXPID, ccd by
    ``ccd_of_detector``); each one's relative path, legacy data ID and registry row."""
    from ..core.timespan import iso_from_tai_ns, tai_ns_from_utc_iso
    from ..instruments.headers import read_primary_header

    filed = []
    for source in sources:
        header = read_primary_header(source)
        date_obs = str(header["DATE-OBS"])
        data_id: DataId = {
            "field": str(header["OBJECT"]),
            "dateObs": date_obs[:10],
            "pointing": POINTING_OF_IMGTYPE[str(header["IMGTYPE"])],
            "filter": str(header["FILTER"]),
            "visit": int(header["EXPID"]),
            "ccd": ccd_of_detector[int(header["DETECTOR"])],
        }
        relative = template % data_id
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / relative)
        extra: dict[str, Value] = {key: data_id[key] for key in ("field", "pointing", "dateObs")}
        extra.update(expTime=float(header["EXPTIME"]), dataType=str(header["IMGTYPE"]))
        tai = iso_from_tai_ns(tai_ns_from_utc_iso(date_obs))
        row = RawRow(int(data_id["visit"]), int(data_id["ccd"]), str(data_id["filter"]), tai, extra)
        filed.append((relative, data_id, row))
    return filed
