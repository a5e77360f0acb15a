"""Carrying out a conversion plan in a quanta repository.

Raws go in by their headers (``ingest_raws``), which also teaches what each legacy ccd
and visit number is; visits are defined; every other file gets a quanta data ID, a
dataset type (the registered one, or one made from its keys and Python type) and a RUN:
``<instrument>/calib/<calibDate>`` for calibrations, certified in ``<instrument>/calib``,
``<instrument>/legacy/root`` for the root's other datasets, ``<chain>/legacy`` for a
rerun's. ``<instrument>/legacy`` chains the root's collections, and each rerun's chain
searches its own RUN, then its parents' chains. Dataset IDs derive from run, type and
data ID, so converting again adds nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..butler.certifications import new_certifications
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import DatasetTypeNotFoundError, QuantaError
from ..core.progress import ProgressCallback, tracked
from ..core.refs import DatasetRef
from ..instruments import get_instrument
from ..instruments.ingest import ingest_raws, raw_run
from ..instruments.visits import define_visits
from .errors import LegacyRepositoryError
from .files import check_all
from .keys import EXPOSURE_LEVEL, KeyMap, SkyMap, storage_class_of, translate
from .plan import CALIBRATIONS, LegacyFile, Plan
from .reruns import ROOT, Rerun
from .validity import Note

if TYPE_CHECKING:
    from ..butler import Butler


@dataclass
class ConvertReport:
    """What a conversion did: raws and datasets new and already there per RUN, new
    certifications and visits, the chains set, and what it skipped, noted or could not do."""

    raws_ingested: int = 0
    raws_present: int = 0
    visits: int = 0
    new: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    certified: int = 0
    chains: dict[str, list[str]] = field(default_factory=dict)
    unregistered: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def calib_run(instrument: str, calib_date: str) -> str:
    """The RUN holding an instrument's legacy calibrations of one date."""
    return f"{instrument}/calib/{calib_date}"


def calib_collection(instrument: str) -> str:
    """The CALIBRATION collection legacy calibrations are certified in."""
    return f"{instrument}/calib"


def root_chain(instrument: str) -> str:
    """The CHAINED collection searching the legacy root's collections."""
    return f"{instrument}/legacy"


def root_run(instrument: str) -> str:
    """The RUN of the legacy root's datasets other than raws and calibrations."""
    return f"{instrument}/legacy/root"


def rerun_run(rerun: Rerun) -> str:
    """The RUN of a rerun's datasets."""
    return f"{rerun.chain}/legacy"


@dataclass(frozen=True)
class _Target:
    """A legacy file with its quanta data ID and the RUN it goes to."""

    file: LegacyFile
    data_id: dict[str, int | str]
    run: str


def convert(
    butler: Butler,
    plan: Plan,
    transfer: str = "copy",
    jobs: int = 1,
    skymap: str | None = None,
    progress: ProgressCallback | None = None,
) -> ConvertReport:
    """Carry out ``plan`` in ``butler``'s repository (see the module doc); coadds' tracts
    and patches belong to the registered ``skymap``. ``progress`` hears of each raw read
    and file checked and placed."""
    report = ConvertReport(
        skipped=list(plan.skipped), errors=list(plan.errors), notes=list(plan.notes)
    )
    found_skymap = _skymap(butler, skymap) if skymap is not None else None
    get_instrument(plan.instrument).register(butler)
    keys = _ingest_raws(butler, plan, transfer, jobs, report, progress)
    keys.skymap = found_skymap
    keys.band_of_filter = {
        str(r.name): str(r.band)
        for r in butler.query_dimension_records("physical_filter")
        if r.band is not None
    }
    report.visits = define_visits(butler, plan.instrument)
    targets = [
        *(_Target(c.file, {}, calib_run(plan.instrument, c.calib_date)) for c in plan.calibs),
        *(_Target(f, {}, root_run(plan.instrument)) for f in plan.datasets),
        *(_Target(f, {}, rerun_run(r.rerun)) for r in plan.reruns for f in r.files),
    ]
    skip = _registry_columns(plan)
    refs = _ingest_datasets(butler, plan, keys, targets, skip, transfer, jobs, report, progress)
    _certify(butler, plan, refs, report)
    _chain(butler, plan, report)
    return report


def _ingest_raws(
    butler: Butler,
    plan: Plan,
    transfer: str,
    jobs: int,
    report: ConvertReport,
    progress: ProgressCallback | None,
) -> KeyMap:
    """Ingest the raws by their headers; what they say each ccd and visit is."""
    keys = KeyMap(plan.instrument)
    if not plan.raws:
        return keys
    ingest = ingest_raws(butler, [raw.path for raw in plan.raws], transfer, jobs, (), progress)
    report.raws_ingested = len(ingest.ingested)
    report.raws_present = len(ingest.already_present)
    report.errors += [f"{path}: {reason}" for path, reason in ingest.refused]
    report.notes += [Note(logging.WARNING, f"{p}: {w}") for p, w in ingest.warnings]
    legacy = {raw.path: raw for raw in plan.raws}
    for path, ref in ingest.sources:
        raw = legacy[path]
        report.errors += keys.learn(
            str(path.relative_to(plan.root)),
            int(raw.data_id["ccd"]),
            int(raw.data_id["visit"]),
            int(ref.data_id["detector"]),
            int(ref.data_id["exposure"]),
        )
    report.unregistered = [str(raw.path.relative_to(plan.root)) for raw in plan.unregistered]
    return keys


def _skymap(butler: Butler, name: str) -> SkyMap:
    """The registered skymap called ``name``."""
    for record in butler.query_dimension_records("skymap"):
        if record.name == name:
            return SkyMap(name, int(record.patch_nx_max))
    raise LegacyRepositoryError(f"no skymap {name!r} is registered in {butler.root}")


def _registry_columns(plan: Plan) -> set[str]:
    """The raw registry's header-derived columns: legacy keys that only describe."""
    if plan.raw_registry is None or not plan.raw_registry.raws:
        return set()
    return set(plan.raw_registry.raws[0].extra)


def _ingest_datasets(
    butler: Butler,
    plan: Plan,
    keys: KeyMap,
    targets: Sequence[_Target],
    skip: set[str],
    transfer: str,
    jobs: int,
    report: ConvertReport,
    progress: ProgressCallback | None,
) -> dict[str, DatasetRef]:
    """Check and ingest every non-raw file; its ref by path, for the certifications."""
    types: dict[str, DatasetType | None] = {}
    ready: list[_Target] = []
    for target in targets:
        name = target.file.dataset_type
        where = _where(plan, target.file)
        data_id = translate(target.file.data_id, keys, _exposure_level(butler, name), skip)
        if isinstance(data_id, str):
            report.skipped.append((where, data_id))
            continue
        if name not in types:
            types[name] = _dataset_type(butler, target.file, data_id, report)
        if types[name] is None:
            report.skipped.append((where, f"dataset type {name!r} cannot be converted"))
            continue
        ready.append(_Target(target.file, data_id, target.run))
    checked = tracked(
        check_all([(t.file.path, _type(types, t).storage_class) for t in ready], jobs),
        progress,
        "checking files",
        len(ready),
    )
    items: dict[str, list[tuple[Any, DatasetRef, Any]]] = {}
    for target, (table, problem) in zip(ready, checked, strict=True):
        where = _where(plan, target.file)
        if problem is not None:
            report.errors.append(f"{where}: {problem}")
            continue
        dataset_type = _type(types, target)
        try:
            coordinate = butler.registry.expand_data_id(
                DataCoordinate.standardize(target.data_id, dataset_type.dimensions)
            )
        except QuantaError as err:
            report.skipped.append((where, str(err)))
            continue
        ref = DatasetRef.for_output(dataset_type, coordinate, target.run)
        items.setdefault(target.run, []).append((target.file.path, ref, table))
    by_path: dict[str, DatasetRef] = {}
    for dataset_type in {t for t in types.values() if t is not None}:
        butler.register_dataset_type(dataset_type)
    for run, run_items in items.items():
        known = set(butler.registry.get_files([ref.id for _, ref, _ in run_items]))
        todo = [item for item in run_items if item[1].id not in known]
        with butler.registry.transaction():
            files = [(path, ref) for path, ref, table in todo if table is None]
            butler.ingest(files, transfer, progress)
            for _, ref, table in todo:
                if table is not None:
                    butler.put(table, ref.dataset_type, ref.data_id, run=run)
        report.new[run] += len(todo)
        report.present[run] += len(run_items) - len(todo)
        by_path.update({str(path): ref for path, ref, _ in run_items})
    return by_path


def _type(types: dict[str, DatasetType | None], target: _Target) -> DatasetType:
    """The dataset type a target was found to have."""
    found = types[target.file.dataset_type]
    assert found is not None  # targets without one were skipped
    return found


def _where(plan: Plan, file: LegacyFile) -> str:
    """A file's path as the report shows it: relative to the legacy root where it can be."""
    path = file.path
    return str(path.relative_to(plan.root)) if path.is_relative_to(plan.root) else str(path)


def _exposure_level(butler: Butler, name: str) -> bool:
    """Whether a dataset type's legacy ``visit`` is an exposure: by its registered
    dimensions, else by its name."""
    try:
        registered = butler.registry.get_dataset_type(name)
    except DatasetTypeNotFoundError:
        return name in EXPOSURE_LEVEL
    return "exposure" in registered.dimensions.names


def _dataset_type(
    butler: Butler, file: LegacyFile, data_id: dict[str, int | str], report: ConvertReport
) -> DatasetType | None:
    """The registered dataset type of a file, or a new one from its keys and Python type;
    ``None`` (with the reason in the errors) when they do not fit."""
    name = file.dataset_type
    python_type = file.template.python_type
    storage_class = storage_class_of(python_type)
    calibration = file.template.section == CALIBRATIONS
    try:
        registered: DatasetType | None = butler.registry.get_dataset_type(name)
    except DatasetTypeNotFoundError:
        registered = None
    if storage_class is None:
        report.errors.append(
            f"dataset type {name!r}: python type {python_type!r} has no quanta storage class"
        )
        return None
    if registered is None:
        return DatasetType(name, butler.universe.group(data_id), storage_class, calibration)
    if registered.storage_class != storage_class or registered.is_calibration != calibration:
        report.errors.append(
            f"dataset type {name!r} is registered as {registered.storage_class}"
            f"{' (calibration)' if registered.is_calibration else ''}; legacy {python_type} "
            f"files become {storage_class}{' (calibration)' if calibration else ''}"
        )
        return None
    return registered


def _certify(
    butler: Butler, plan: Plan, refs: dict[str, DatasetRef], report: ConvertReport
) -> None:
    """Certify each ingested calibration over its range, unless it already is."""
    collection = calib_collection(plan.instrument)
    wanted = [
        (collection, refs[str(c.file.path)], c.timespan)
        for c in plan.calibs
        if str(c.file.path) in refs
    ]
    new = new_certifications(butler, wanted, str(plan.root))
    with butler.registry.transaction():
        for name, ref, span in new:
            butler.certify(name, [ref], span)
    report.certified = len(new)


def _chain(butler: Butler, plan: Plan, report: ConvertReport) -> None:
    """The root's chain, then each rerun's: its RUN, then its parents' chains in order."""
    registry = butler.registry
    root_children = [
        name
        for name in (
            root_run(plan.instrument),
            raw_run(plan.instrument),
            calib_collection(plan.instrument),
        )
        if registry.find_collection(name) is not None
    ]
    chains = {root_chain(plan.instrument): root_children}
    chain_of = {ROOT: root_chain(plan.instrument)}
    for rerun_files in plan.reruns:
        rerun = rerun_files.rerun
        registry.register_run(rerun_run(rerun))
        chain_of[rerun.directory] = rerun.chain
        chains[rerun.chain] = [rerun_run(rerun), *(chain_of[p] for p in rerun.parents)]
    with registry.transaction():
        for parent, children in chains.items():
            butler.set_collection_chain(parent, children)
    report.chains = chains
