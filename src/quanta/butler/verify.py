"""Consistency between the registry and the files: missing, corrupt and orphan files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.progress import ProgressCallback, tracked

if TYPE_CHECKING:
    from .butler import Butler


@dataclass
class VerifyReport:
    """What ``quanta verify`` found: ``checked`` counts file records, the lists hold paths
    (a file several datasets share is checked and listed once)."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    temporaries: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every registered file is present and intact, and no orphans or temporary
        files of killed writes remain."""
        left = set(self.orphans) | set(self.temporaries)
        return not (self.missing or self.corrupt or left - set(self.removed))


def verify(
    butler: Butler,
    *,
    repair: bool = False,
    checksums: bool = True,
    progress: ProgressCallback | None = None,
) -> VerifyReport:
    """Check every file record; find files no record points to and the hidden temporary
    files of killed writes and, with ``repair``, delete both (they are leftovers of
    interrupted writes or removals). ``progress`` hears of each file record checked."""
    report = VerifyReport()
    seen: set[str] = set()
    for stored in tracked(butler.registry.all_files(), progress, "checking files"):
        report.checked += 1
        if stored.path in seen:
            continue
        seen.add(stored.path)
        if checksums:
            status = butler.datastore.check(stored)
        else:
            status = "ok" if butler.datastore.path(stored).exists() else "missing"
        if status == "missing":
            report.missing.append(stored.path)
        elif status == "corrupt":
            report.corrupt.append(stored.path)
    report.orphans = sorted(p for p in butler.datastore.walk_files() if p not in seen)
    report.temporaries = list(butler.datastore.walk_temporaries())
    if repair:
        for path in report.orphans:
            butler.datastore.remove_orphan(path)
            report.removed.append(path)
        report.removed += butler.datastore.remove_temporaries()
    return report
