"""Curated calibrations: signatures a camera team measured, ingested and certified.

A directory holds ``<type>/<detector name>/<valid start>.<ext>``: ``defects`` as ECSV
tables of boxes (``x0``, ``y0``, ``width``, ``height`` in detector pixels), and
``linearity``, ``crosstalk`` and ``gains`` as YAML (see ``SCHEMAS``). The valid start is
a TAI date or date-time (``2025-01-01`` or ``2025-01-01T12:00:00``); each file is valid
from then until the next file of the same type and detector begins, the last one until
superseded. Every file is read and checked before anything is written; then, in one
transaction, each goes into the RUN ``<instrument>/calib/curated/<start>`` and the
calibration collection gets the validity ranges of every start it now knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from ..core.errors import ConfigError, ConflictError
from ..core.timespan import Timespan, TimespanError, iso_from_tai_ns, tai_ns_from_iso
from ..core.yaml_io import load_yaml

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.refs import DatasetRef

#: Each curated type: its storage class, its file suffix, and what its file holds.
SCHEMAS = {
    "defects": ("ArrowTable", ".ecsv", "columns x0, y0, width, height (integers)"),
    "linearity": ("StructuredData", ".yaml", "amplifiers: {AMP: {polynomial: [c0, c1, ...]}}"),
    "crosstalk": ("StructuredData", ".yaml", "coefficients: {TARGET: {SOURCE: c}}"),
    "gains": ("StructuredData", ".yaml", "amplifiers: {AMP: {gain: g, read_noise: r}}"),
}
DIMENSIONS = ("instrument", "detector")
_START = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")
_DEFECT_COLUMNS = ("x0", "y0", "width", "height")


@dataclass(frozen=True)
class CuratedFile:
    """One curated calibration file, read and checked."""

    path: Path
    type: str
    detector: int
    start: int
    content: Any


@dataclass
class CuratedReport:
    """What ``write_curated_calibrations`` did."""

    collection: str
    written: list[DatasetRef] = field(default_factory=list)
    already_present: int = 0
    ranges: dict[tuple[str, int], list[Timespan]] = field(default_factory=dict)


def curated_run(instrument: str, start: int) -> str:
    """The RUN of the curated calibrations that become valid at ``start``."""
    stamp = iso_from_tai_ns(start).replace("-", "").replace(":", "")
    return f"{instrument}/calib/curated/{stamp}"


def read_curated(directory: Path, detectors: Mapping[str, int]) -> list[CuratedFile]:
    """Every curated file under ``directory``, checked; ``detectors`` maps the detector
    names of the instrument to their ids. The first problem is a ``ConfigError`` naming
    the file."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory of curated calibrations")
    found = []
    for type_dir in sorted(p for p in directory.iterdir() if not p.name.startswith(".")):
        if type_dir.name not in SCHEMAS or not type_dir.is_dir():
            known = ", ".join(SCHEMAS)
            raise ConfigError(f"{type_dir}: not a curated calibration type; known: {known}")
        suffix = SCHEMAS[type_dir.name][1]
        for detector_dir in sorted(type_dir.iterdir()):
            if detector_dir.name not in detectors:
                known = ", ".join(detectors)
                raise ConfigError(f"{detector_dir}: no detector of that name; detectors: {known}")
            for path in sorted(detector_dir.iterdir()):
                if path.suffix != suffix or not _START.match(path.stem):
                    raise ConfigError(
                        f"{path}: expected <valid start>{suffix}, the start a TAI date "
                        "YYYY-MM-DD or date-time YYYY-MM-DDTHH:MM:SS"
                    )
                try:
                    start = tai_ns_from_iso(path.stem)
                except TimespanError as err:
                    raise ConfigError(f"{path}: {err}") from None
                content = _read(path, type_dir.name)
                found.append(
                    CuratedFile(path, type_dir.name, detectors[detector_dir.name], start, content)
                )
    if not found:
        raise ConfigError(f"{directory}: no curated calibrations ({', '.join(SCHEMAS)})")
    return found


def write_curated_calibrations(
    butler: Butler, instrument: str, directory: str | Path, collection: str | None = None
) -> CuratedReport:
    """Ingest and certify the curated calibrations of ``directory`` (see the module doc)
    into ``collection`` (default ``<instrument>/calib``); all or nothing."""
    records = butler.query_dimension_records("detector", data_id={"instrument": instrument})
    if not records:
        raise ConfigError(f"instrument {instrument!r} has no detectors; register it first")
    files = read_curated(Path(directory), {r.full_name: r.id for r in records})
    report = CuratedReport(collection or f"{instrument}/calib")
    with butler.registry.transaction():
        for file in files:
            data_id = {"instrument": instrument, "detector": file.detector}
            storage_class = SCHEMAS[file.type][0]
            dataset_type = butler.register_dataset_type(
                file.type, DIMENSIONS, storage_class, is_calibration=True
            )
            run = curated_run(instrument, file.start)
            ref = None
            if butler.registry.find_collection(run) is not None:
                ref = butler.registry.find_dataset(dataset_type, data_id, [run])
            if ref is None:
                report.written.append(butler.put(file.content, dataset_type, data_id, run=run))
            elif not _same(butler.get(ref), file.content):
                raise ConflictError(
                    f"{file.path}: differs from the {file.type} already in {run}; "
                    "remove that run first to replace it"
                )
            else:
                report.already_present += 1
        for key in sorted({(f.type, f.detector) for f in files}):
            report.ranges[key] = _certify(butler, instrument, *key, report.collection, files)
    return report


def _certify(
    butler: Butler,
    instrument: str,
    type_: str,
    detector: int,
    collection: str,
    files: list[CuratedFile],
) -> list[Timespan]:
    """Certify every known start of one type and detector, each valid until the next."""
    dataset_type = butler.registry.get_dataset_type(type_)
    data_id = {"instrument": instrument, "detector": detector}
    starts: dict[int, DatasetRef] = {}
    if butler.registry.find_collection(collection) is not None:
        key = butler.registry.expand_data_id(data_id, DIMENSIONS).key()
        for dataset_id, data_key, span in butler.registry.certifications(collection, dataset_type):
            if data_key == key and span.begin is not None:
                starts[span.begin] = butler.registry.get_refs([dataset_id])[0]
    for file in files:
        if (file.type, file.detector) == (type_, detector):
            run = curated_run(instrument, file.start)
            ref = butler.registry.find_dataset(dataset_type, data_id, [run])
            assert ref is not None  # written above
            starts[file.start] = ref
    if butler.registry.find_collection(collection) is not None:
        butler.decertify(collection, dataset_type, Timespan(None, None), [data_id])
    ordered = sorted(starts)
    ranges = []
    for begin, end in zip(ordered, [*ordered[1:], None], strict=True):
        span = Timespan(begin, end)
        butler.certify(collection, [starts[begin]], span)
        ranges.append(span)
    return ranges


def _same(stored: Any, content: Any) -> bool:
    """Whether a stored curated calibration equals a file's content."""
    if hasattr(stored, "equals"):
        return bool(stored.equals(content))
    return bool(stored == content)


def _read(path: Path, type_: str) -> Any:
    """A curated file's content in its storage class's form, checked."""
    expected = SCHEMAS[type_][2]
    if type_ == "defects":
        return _read_defects(path, expected)
    data = load_yaml(path)
    problem = _check(type_, data)
    if problem:
        raise ConfigError(f"{path}: {problem}; a {type_} file holds {expected}")
    return _plain(data)


def _read_defects(path: Path, expected: str) -> Any:
    import pyarrow as pa
    from astropy.table import Table

    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as err:  # astropy raises many kinds for a malformed table
        raise ConfigError(f"{path}: cannot read as ECSV: {err}") from None
    missing = [c for c in _DEFECT_COLUMNS if c not in table.colnames]
    if missing or any(table[c].dtype.kind not in "iu" for c in _DEFECT_COLUMNS):
        raise ConfigError(f"{path}: a defects table has {expected}")
    return pa.table({c: [int(v) for v in table[c]] for c in _DEFECT_COLUMNS})


def _check(type_: str, data: Any) -> str | None:
    """What is wrong with a YAML curated calibration, or None."""
    if type_ == "crosstalk":
        coefficients = data.get("coefficients") if isinstance(data, dict) else None
        if not isinstance(coefficients, dict) or not all(
            isinstance(sources, dict) and all(_is_number(c) for c in sources.values())
            for sources in coefficients.values()
        ):
            return "coefficients must map each target amplifier to {source: number}"
        return None
    amplifiers = data.get("amplifiers") if isinstance(data, dict) else None
    if not isinstance(amplifiers, dict) or not amplifiers:
        return "it needs a non-empty amplifiers mapping"
    for name, entry in amplifiers.items():
        if type_ == "linearity":
            polynomial = entry.get("polynomial") if isinstance(entry, dict) else None
            if not (isinstance(polynomial, list) and len(polynomial) >= 2) or not all(
                _is_number(c) for c in polynomial
            ):
                return f"amplifier {name}: polynomial must be a list of 2 or more numbers"
        else:
            entry = entry if isinstance(entry, dict) else {}
            gain, noise = entry.get("gain"), entry.get("read_noise", 0.0)
            if not (_is_number(gain) and _is_number(noise) and gain > 0 and noise >= 0):
                return f"amplifier {name}: gain must be positive and read_noise not negative"
    return None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(data: Any) -> Any:
    """YAML mappings (which remember their lines) as plain dicts, for JSON storage."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data
