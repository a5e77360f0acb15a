"""Raw ingest: headers read in parallel, exposures and raws registered in bulk.

A file holds one detector, or, in a file of many (a primary header without pixels and
one image extension per detector), one raw per detector extension, each read alone later.
A file, or one detector of it (``HDU n:``), is refused by name and with a one-line
reason when it cannot be read or is truncated, is a processed image, has amplifier
sections that cannot be read (outside its pixels, overlapping, incomplete), lacks a
keyword its instrument needs, names an unknown or unregistered instrument, repeats another raw, or
describes its exposure differently from another file or from the registry. Refused raws
leave no record at all; the others go in together, in one transaction, into the RUN
``<instrument>/raw/all`` (a file of many detectors is placed once). Dataset IDs are
UUIDv5 of (instrument, obs_id, detector), so ingesting the same files again adds nothing.
Cameras defined by camera files registered in the repository translate their headers,
and a raw whose sections differ from its camera file's goes in with a warning for each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import QuantaError
from ..core.ids import raw_dataset_id
from ..core.progress import ProgressCallback
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.transfer import TransferMode, transfer_mode
from .base import ObservationInfo
from .camera import repo_cameras
from .headers import find_raw_files, read_observations
from .translation import correction_dirs

if TYPE_CHECKING:
    from ..butler import Butler

RAW = "raw"
RAW_DIMENSIONS = ("instrument", "detector", "exposure")
#: Values per IN list when looking up existing records.
CHUNK = 500

#: (file, HDU of its detector or None for the whole file, observation)
Accepted = list[tuple[Path, int | None, ObservationInfo]]
Refused = list[tuple[Path, str]]


class IngestError(QuantaError, ValueError):
    """An ingest request that cannot be carried out as asked."""


@dataclass
class IngestReport:
    """What an ingest did: new raws, raws already in the repository, refused files,
    warnings about raws that went in (their sections disagree with their camera file), and
    the file each raw that went in or was there came from."""

    ingested: list[DatasetRef] = field(default_factory=list)
    already_present: list[DatasetRef] = field(default_factory=list)
    refused: Refused = field(default_factory=list)
    warnings: Refused = field(default_factory=list)
    sources: list[tuple[Path, DatasetRef]] = field(default_factory=list)


def raw_run(instrument: str) -> str:
    """The RUN collection that holds an instrument's raws."""
    return f"{instrument}/raw/all"


def ingest_raws(
    butler: Butler,
    paths: Iterable[str | Path],
    transfer: str = TransferMode.COPY,
    jobs: int = 1,
    corrections: Sequence[str | Path] = (),
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest raw files and the ``*.fits`` files under directories; see the module doc.

    Header corrections are looked up in the ``corrections`` directories, then in those of
    the repository's configuration (``instruments.header_corrections``). ``progress``
    hears of each file read, then of each file placed."""
    transfer = transfer_mode(transfer, IngestError)
    if jobs < 1:
        raise IngestError(f"jobs must be at least 1, not {jobs!r}")
    dirs = correction_dirs([*corrections, *butler.config.header_corrections(butler.root)])
    report = IngestReport()
    accepted: Accepted = []
    files = find_raw_files(paths)
    for seen in read_observations(files, jobs, dirs, repo_cameras(butler), progress):
        if seen.info is None:
            report.refused.append((seen.path, _at(seen.hdu, seen.reason or "unreadable")))
        else:
            accepted.append((seen.path, seen.hdu, ObservationInfo.from_dict(seen.info)))
            report.warnings += [(seen.path, _at(seen.hdu, w)) for w in seen.warnings]
    accepted = _registered(butler, accepted, report.refused)
    accepted = _unique(accepted, report.refused)
    accepted, exposures = _consistent(butler, accepted, report.refused)
    if accepted:
        with butler.registry.transaction():
            _insert_days(butler, exposures)
            butler.insert_dimension_records("exposure", exposures)
            raw = butler.register_dataset_type(RAW, RAW_DIMENSIONS, "RawImage")
            items = [(path, _raw_ref(raw, info), hdu) for path, hdu, info in accepted]
            report.ingested = butler.ingest(items, transfer, progress)
        new = {ref.id for ref in report.ingested}
        report.already_present = [item[1] for item in items if item[1].id not in new]
        report.sources = [(Path(item[0]), item[1]) for item in items]
    report.refused.sort()
    return report


def _at(hdu: int | None, reason: str) -> str:
    """A refusal's reason, naming the HDU when it concerns one detector of a file of many."""
    return reason if hdu is None else f"HDU {hdu}: {reason}"


def _raw_ref(raw: DatasetType, info: ObservationInfo) -> DatasetRef:
    data_id = DataCoordinate.standardize(
        {"instrument": info.instrument, "detector": info.detector, "exposure": info.exposure_id},
        raw.dimensions,
    )
    dataset_id = raw_dataset_id(info.instrument, info.obs_id, info.detector)
    return DatasetRef(dataset_id, raw, data_id, raw_run(info.instrument))


def _registered(butler: Butler, accepted: Accepted, refused: Refused) -> Accepted:
    """Refuse files of instruments that have no record in the repository yet."""
    known = {record.name for record in butler.query_dimension_records("instrument")}
    kept = []
    for path, hdu, info in accepted:
        if info.instrument in known:
            kept.append((path, hdu, info))
        else:
            refused.append(
                (
                    path,
                    _at(
                        hdu,
                        f"instrument {info.instrument!r} is not registered in this repository; "
                        f"run `quanta register-instrument {butler.root} {info.instrument}`",
                    ),
                )
            )
    return kept


def _unique(accepted: Accepted, refused: Refused) -> Accepted:
    """Refuse a file that is the same raw (instrument, obs_id, detector) as an earlier one."""
    first: dict[tuple[str, str, int], str] = {}
    kept = []
    for path, hdu, info in accepted:
        key = (info.instrument, info.obs_id, info.detector)
        if key in first:
            refused.append((path, _at(hdu, f"the same raw as {first[key]} (obs_id and detector)")))
        else:
            first[key] = str(path) if hdu is None else f"{path}[{hdu}]"
            kept.append((path, hdu, info))
    return kept


def _consistent(
    butler: Butler, accepted: Accepted, refused: Refused
) -> tuple[Accepted, list[dict[str, Any]]]:
    """The files whose exposure agrees with the exposure's other files and with the
    registry, and the exposure records to insert; the other files are refused."""
    first: dict[tuple[str, int], tuple[Path, dict[str, Any]]] = {}
    exposure_of: dict[tuple[str, str], int] = {}
    kept = []
    for path, hdu, info in accepted:
        key = (info.instrument, info.exposure_id)
        try:
            record = DimensionRecord.from_mapping(
                butler.universe, "exposure", info.exposure_record()
            ).values
        except QuantaError as err:
            refused.append((path, _at(hdu, str(err))))
            continue
        other = exposure_of.setdefault((info.instrument, info.obs_id), info.exposure_id)
        if other != info.exposure_id:
            refused.append(
                (path, _at(hdu, f"obs_id {info.obs_id!r} is also exposure {other} here"))
            )
            continue
        first_path, first_record = first.setdefault(key, (path, record))
        if diff := _differences(first_record, record):
            refused.append(
                (path, _at(hdu, f"exposure {info.exposure_id} disagrees with {first_path}: {diff}"))
            )
            continue
        kept.append((path, hdu, info))
    conflicts = _registry_conflicts(butler, {key: record for key, (_, record) in first.items()})
    for path, hdu, info in kept:
        if (reason := conflicts.get((info.instrument, info.exposure_id))) is not None:
            refused.append((path, _at(hdu, reason)))
    return (
        [(p, h, i) for p, h, i in kept if (i.instrument, i.exposure_id) not in conflicts],
        [record for key, (_, record) in first.items() if key not in conflicts],
    )


def _registry_conflicts(
    butler: Butler, records: dict[tuple[str, int], dict[str, Any]]
) -> dict[tuple[str, int], str]:
    """Reasons, by exposure, for exposure records the registry's records contradict."""
    conflicts = {}
    for instrument in sorted({name for name, _ in records}):
        mine = [r for (name, _), r in records.items() if name == instrument]
        by_id: dict[int, dict[str, Any]] = {}
        by_obs_id: dict[str, int] = {}
        for start in range(0, len(mine), CHUNK):
            chunk = mine[start : start + CHUNK]
            for existing in butler.query_dimension_records(
                "exposure",
                where="exposure IN (:ids) OR exposure.obs_id IN (:obs_ids)",
                binds={"ids": [r["id"] for r in chunk], "obs_ids": [r["obs_id"] for r in chunk]},
                data_id={"instrument": instrument},
            ):
                by_id[existing.id] = existing.values
                by_obs_id[existing.obs_id] = existing.id
        for record in mine:
            key, obs_id = (instrument, record["id"]), record["obs_id"]
            if by_obs_id.get(obs_id, record["id"]) != record["id"]:
                conflicts[key] = f"obs_id {obs_id!r} is already exposure {by_obs_id[obs_id]}"
            elif record["id"] in by_id and (diff := _differences(by_id[record["id"]], record)):
                conflicts[key] = f"exposure {record['id']} is already registered: {diff}"
    return conflicts


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """``field: old != new`` for every field of two exposure records that differs."""
    return "; ".join(f"{k}: {old.get(k)!r} != {v!r}" for k, v in new.items() if old.get(k) != v)


def _insert_days(butler: Butler, exposures: Sequence[dict[str, Any]]) -> None:
    """Insert the day_obs records of the exposures not yet in the repository (with no
    timespan: a night's bounds are the instrument's convention, not the headers')."""
    wanted = {(record["instrument"], record["day_obs"]) for record in exposures}
    for instrument in sorted({name for name, _ in wanted}):
        days = sorted(day for name, day in wanted if name == instrument)
        existing = {
            record.id
            for record in butler.query_dimension_records(
                "day_obs",
                where="day_obs IN (:days)",
                binds={"days": days},
                data_id={"instrument": instrument},
            )
        }
        missing = [{"instrument": instrument, "id": d} for d in days if d not in existing]
        butler.insert_dimension_records("day_obs", missing)
