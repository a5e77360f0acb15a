"""What converting a legacy repository involves, read from its tree and registries alone:
the plan that ``convert --dry-run`` prints and ``convert`` carries out.

Nothing here opens a quanta repository, so a plan can be made and shown for any legacy
root. Problems with single items (a template that does not parse, a calibration table
quanta cannot read) are collected as errors and the rest of the plan goes on; problems
that leave nothing to plan (no mapper, an unreadable policy) raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.timespan import Timespan
from .errors import LegacyRepositoryError
from .mapper import INSTRUMENT_OF_MAPPER, policy_of, read_mapper
from .registries import (
    CALIB_REGISTRY,
    RAW_REGISTRY,
    RawRegistry,
    read_calib_registry,
    read_raw_registry,
)
from .reruns import RERUN_DIR, Rerun, find_reruns
from .templates import DataId, Template, read_policy, scan_tree
from .validity import Note, calib_ranges

CALIB_DIR = "CALIB"
CALIBRATIONS = "calibrations"
RAW = "raw"


@dataclass(frozen=True)
class LegacyFile:
    """One file to convert: where it is, its template and its legacy data ID."""

    path: Path
    template: Template
    data_id: DataId

    @property
    def dataset_type(self) -> str:
        """The dataset type its template names."""
        return self.template.dataset_type


@dataclass(frozen=True)
class CalibFile:
    """A calibration file with its date and the validity it is certified for."""

    file: LegacyFile
    calib_date: str
    timespan: Timespan


@dataclass(frozen=True)
class RerunFiles:
    """A rerun and the files found in it."""

    rerun: Rerun
    files: list[LegacyFile]


@dataclass
class Plan:
    """Everything a conversion will read, and what it will leave out and why."""

    root: Path
    mapper: str
    instrument: str
    raws: list[LegacyFile] = field(default_factory=list)
    raw_registry: RawRegistry | None = None
    unregistered: list[LegacyFile] = field(default_factory=list)
    calibs: list[CalibFile] = field(default_factory=list)
    datasets: list[LegacyFile] = field(default_factory=list)
    reruns: list[RerunFiles] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def make_plan(
    root: Path,
    policy: Path | None = None,
    calib_root: Path | None = None,
    reruns: Sequence[str] = (),
) -> Plan:
    """The plan of converting the legacy repository at ``root``: its mapper's policy (or
    ``policy``), its raw registry, its calibrations (under ``calib_root``, by default
    ``root/CALIB``) and its reruns (all, or those named and the reruns they sit on)."""
    if not root.is_dir():
        raise LegacyRepositoryError(f"{root}: no such legacy repository directory")
    mapper = read_mapper(root)
    if mapper not in INSTRUMENT_OF_MAPPER:
        known = ", ".join(sorted(INSTRUMENT_OF_MAPPER))
        raise LegacyRepositoryError(
            f"unknown legacy mapper {mapper!r} in {root / '_mapper'}; known: {known}"
        )
    plan = Plan(root, mapper, INSTRUMENT_OF_MAPPER[mapper])
    templates = read_policy(policy or policy_of(mapper), plan.errors)
    main = [t for t in templates if t.section != CALIBRATIONS]
    calib_root = calib_root or root / CALIB_DIR
    found_reruns = find_reruns(root, plan.instrument, reruns)
    _plan_root(plan, main, prune=(CALIB_DIR, RERUN_DIR))
    _plan_calibs(plan, [t for t in templates if t.section == CALIBRATIONS], calib_root)
    for rerun in found_reruns:
        scan = scan_tree(root / rerun.directory, main)
        plan.skipped += [(f"{rerun.directory}/{p}", "no template names it") for p in scan.unmatched]
        files = [
            LegacyFile(root / rerun.directory / p, _template(main, t), d)
            for p, (t, d) in scan.matched.items()
        ]
        plan.reruns.append(RerunFiles(rerun, files))
    return plan


def _template(templates: Sequence[Template], dataset_type: str) -> Template:
    """The template of ``dataset_type`` among ``templates``."""
    return next(t for t in templates if t.dataset_type == dataset_type)


def _plan_root(plan: Plan, templates: Sequence[Template], prune: Sequence[str]) -> None:
    """Raws (checked against the raw registry) and the other datasets at the root."""
    scan = scan_tree(plan.root, templates, prune)
    plan.skipped += [(p, "no template names it") for p in scan.unmatched]
    for relative, (dataset_type, data_id) in scan.matched.items():
        found = LegacyFile(plan.root / relative, _template(templates, dataset_type), data_id)
        (plan.raws if dataset_type == RAW else plan.datasets).append(found)
    registry = plan.root / RAW_REGISTRY
    if not registry.is_file():
        plan.errors.append(f"{registry}: no raw registry; raws are ingested unchecked")
        return
    try:
        plan.raw_registry = read_raw_registry(registry)
    except LegacyRepositoryError as err:
        plan.errors.append(str(err))
        return
    rows = {(row.visit, row.ccd) for row in plan.raw_registry.raws}
    on_disk = set()
    for raw in plan.raws:
        key = (raw.data_id.get("visit"), raw.data_id.get("ccd"))
        on_disk.add(key)
        if key not in rows:
            plan.unregistered.append(raw)
    for visit, ccd in sorted(rows - on_disk):
        plan.skipped.append((f"{RAW_REGISTRY} raw visit={visit} ccd={ccd}", "no such file"))


def _plan_calibs(plan: Plan, templates: Sequence[Template], calib_root: Path) -> None:
    """Calibration files matched with their registry rows and their certified ranges."""
    if not templates or not calib_root.is_dir():
        return
    scan = scan_tree(calib_root, templates)
    label = calib_root.name
    plan.skipped += [(f"{label}/{p}", "no template names it") for p in scan.unmatched]
    registry = calib_root / CALIB_REGISTRY
    try:
        tables = read_calib_registry(registry, plan.errors)
    except LegacyRepositoryError as err:
        plan.errors.append(str(err))
        tables = {}
    table_of = {t.dataset_type: (t.tables[0] if t.tables else t.dataset_type) for t in templates}
    superseded = [table_of[t.dataset_type] for t in templates if t.until_superseded]
    files: dict[tuple[str, str, int, str], LegacyFile] = {}
    for relative, (dataset_type, data_id) in scan.matched.items():
        table = table_of[dataset_type]
        key = (
            table,
            str(data_id.get("filter", "NONE")),
            int(data_id["ccd"]),
            str(data_id["calibDate"]),
        )
        found = LegacyFile(calib_root / relative, _template(templates, dataset_type), data_id)
        if table not in tables:
            plan.skipped.append((f"{label}/{relative}", f"no calibration table {table!r}"))
        else:
            files[key] = found
    rows = [row for table in tables.values() for row in table]
    with_files = [r for r in rows if (r.calib_type, r.filter, r.ccd, r.calib_date) in files]
    for row in rows:
        if (row.calib_type, row.filter, row.ccd, row.calib_date) not in files:
            plan.skipped.append(
                (
                    f"{CALIB_REGISTRY} {row.calib_type} filter={row.filter} ccd={row.ccd} "
                    f"calibDate={row.calib_date}",
                    "no such file",
                )
            )
    ranges, plan.notes = calib_ranges(with_files, superseded)
    for (table, filter_name, ccd), members in ranges.items():
        for member in members:
            key = (table, filter_name, ccd, member.calib_date)
            plan.calibs.append(CalibFile(files.pop(key), member.calib_date, member.timespan))
    for (table, *_), lone in sorted(files.items()):
        plan.skipped.append(
            (str(lone.path.relative_to(calib_root.parent)), f"no row in table {table!r}")
        )
