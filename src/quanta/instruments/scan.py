"""What ingest would record for raw files, and what it would refuse and why, without a
repository: one row per detector, translated as ingest translates it.

A row that translates is also checked against the default dimension universe, so a value
the exposure record cannot hold (an over-long target name, say) is refused here as
ingest would refuse it. Whether the instrument is registered is a repository's business
and is not checked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.errors import QuantaError
from ..core.progress import ProgressCallback
from ..core.records import DimensionRecord
from ..core.timespan import utc_iso_from_tai_ns
from ..core.universe import DimensionUniverse
from .base import ObservationInfo
from .headers import find_raw_files, load_cameras, map_files, observe_file
from .translation import correction_dirs, load_translators

COLUMNS = (
    "file",
    "hdu",
    "instrument",
    "detector",
    "obs_id",
    "observation_type",
    "physical_filter",
    "exposure_time",
    "start_utc",
    "refused",
)


@dataclass(frozen=True)
class ScanRow:
    """One detector of one file: its observation, or why ingest would refuse it, and how
    its sections disagree with its camera file's."""

    path: Path
    hdu: int | None
    info: ObservationInfo | None
    reason: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The file, and the extension when the row is one of several in the file."""
        return str(self.path) if self.hdu is None else f"{self.path}[{self.hdu}]"

    def values(self) -> list[Any]:
        """The row's values, in ``COLUMNS`` order."""
        info = self.info
        if info is None:
            return [str(self.path), self.hdu, *[None] * (len(COLUMNS) - 3), self.reason]
        begin = info.timespan.begin
        return [
            str(self.path),
            self.hdu,
            info.instrument,
            info.detector,
            info.obs_id,
            info.observation_type,
            info.physical_filter,
            info.exposure_time,
            None if begin is None else utc_iso_from_tai_ns(begin),
            None,
        ]


@dataclass
class ScanReport:
    """Every row of a scan, in file order."""

    rows: list[ScanRow] = field(default_factory=list)

    @property
    def refused(self) -> list[ScanRow]:
        """The rows ingest would refuse."""
        return [row for row in self.rows if row.info is None]


def scan(
    paths: Iterable[str | Path],
    *,
    jobs: int = 1,
    corrections: Sequence[str | Path] = (),
    cameras: Sequence[str | Path] = (),
    progress: ProgressCallback | None = None,
) -> ScanReport:
    """Translate raw files and the raw files under directories, in ``jobs`` processes,
    with header corrections from the ``corrections`` directories and the camera files
    ``cameras`` (each checked first: a bad one is a ``ConfigError``); ``progress`` hears
    of each file read."""
    files = find_raw_files(paths, action="scan")
    dirs = tuple(str(path) for path in correction_dirs(corrections))
    camera_paths = tuple(str(path) for path in cameras)
    load_translators()  # a broken translator package is one error, not one per file
    load_cameras(camera_paths)  # so is a bad camera file
    function = functools.partial(observe_file, corrections=dirs, cameras=camera_paths)
    preload = ["astro_metadata_translator"]
    results = map_files(function, files, jobs, preload=preload, progress=progress)
    universe = DimensionUniverse.default()
    report = ScanReport()
    for path, outcomes in zip(files, results, strict=True):
        for outcome in outcomes:
            row = _row(universe, path, outcome.hdu, outcome.info, outcome.reason)
            report.rows.append(replace(row, warnings=outcome.warnings))
    return report


def _row(
    universe: DimensionUniverse,
    path: Path,
    hdu: int | None,
    info: dict[str, Any] | None,
    reason: str | None,
) -> ScanRow:
    """A row, refused when its exposure record would not be valid."""
    if info is None:
        return ScanRow(path, hdu, None, reason or "unreadable")
    observation = ObservationInfo.from_dict(info)
    try:
        DimensionRecord.from_mapping(universe, "exposure", observation.exposure_record())
    except QuantaError as err:
        return ScanRow(path, hdu, None, str(err))
    return ScanRow(path, hdu, observation)
