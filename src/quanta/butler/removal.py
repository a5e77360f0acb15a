"""Removing runs, datasets and collections without silently losing what depends on them.

The registry first reports what depends on the datasets that would go
(``Dependencies``). Certified calibrations are refused unless the caller also asks to
decertify them (and, when purging datasets, tagged ones unless it asks to untag them),
so a certified CALIBRATION collection never empties behind anyone's back.

Rows and files go together or not at all: inside the registry transaction, once the rows
are deleted, every file no remaining dataset uses is tried (``removal_blocker``); one that
could not be deleted rolls the transaction back and nothing changes. The files are deleted
after the commit, so a crash leaves orphan files (``verify --repair``) but never a row
whose file is gone. Collections other than runs go only when no chain that stays names
them, and CALIBRATION ones only empty unless the caller decertifies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.collections import CollectionType
from ..core.errors import ConflictError, FileRemovalError
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..registry.dependencies import Dependencies, count_list

if TYPE_CHECKING:
    from .butler import Butler


@dataclass
class Removal:
    """What a removal did: what depended on it, and the files it deleted."""

    dependencies: Dependencies
    files_deleted: int = 0
    #: Files whose rows are gone but that could not be deleted after all (a file system
    #: that changed since the trial); ``verify --repair`` removes them.
    left_behind: list[str] = field(default_factory=list)


def remove_runs(
    butler: Butler, names: Sequence[str], *, decertify: bool = False, unstore: bool = True
) -> Removal:
    """Delete RUN collections with their datasets (taking them out of the chains that name
    them), and their files unless ``unstore`` is False."""
    registry = butler.registry

    def remove() -> tuple[Dependencies, list[StoredFile]]:
        deps = registry.run_dependencies(names)
        check_allowed(deps, f"run(s) {', '.join(names)}", decertify=decertify)
        return deps, [stored for name in names for stored in registry.remove_run(name)]

    removal = _remove(butler, remove, unstore)
    for name in names:
        butler.graph_path(name).unlink(missing_ok=True)
    return removal


def purge_datasets(
    butler: Butler, refs: Sequence[DatasetRef], *, decertify: bool = False, untag: bool = False
) -> Removal:
    """Delete datasets and their files; certified ones need ``decertify``, tagged ones
    ``untag`` (their certifications and tags then go with them)."""
    ids = list(dict.fromkeys(ref.id for ref in refs))
    registry = butler.registry

    def remove() -> tuple[Dependencies, list[StoredFile]]:
        deps = registry.dataset_dependencies(ids)
        check_allowed(deps, "these datasets", decertify=decertify, untag=untag)
        return deps, registry.remove_datasets(ids)

    return _remove(butler, remove, unstore=True)


@dataclass(frozen=True)
class CollectionRemoval:
    """A collection to remove: its type, and how many datasets (or, for a chain, children)
    it holds."""

    name: str
    type: CollectionType
    size: int

    def describe(self) -> str:
        """``name (TYPE, N datasets)``."""
        what = "child(ren)" if self.type == CollectionType.CHAINED else "dataset(s)"
        return f"{self.name} ({self.type.name}, {self.size} {what})"


def plan_collection_removal(
    butler: Butler, names: Sequence[str], *, decertify: bool = False
) -> list[CollectionRemoval]:
    """Check that these collections may go together and say what they hold: RUN
    collections are refused (they go with their datasets, through ``remove_runs``), so are
    collections a chain that stays names, and CALIBRATION collections that still certify
    something unless ``decertify``."""
    registry = butler.registry
    plan = [
        CollectionRemoval(record.name, record.type, registry.collection_size(record.name))
        for record in registry.check_collections_removable(list(dict.fromkeys(names)))
    ]
    certifying = {c.name: c.size for c in plan if c.type == CollectionType.CALIBRATION and c.size}
    if certifying and not decertify:
        raise ConflictError(
            f"CALIBRATION collection(s) {count_list(certifying)} still certify datasets; pass "
            "--decertify (decertify=True) to remove them with their certifications"
        )
    return plan


def remove_collections(
    butler: Butler, names: Sequence[str], *, decertify: bool = False
) -> list[CollectionRemoval]:
    """Delete TAGGED, CHAINED and CALIBRATION collections together (their datasets stay)."""
    with butler.registry.transaction():
        plan = plan_collection_removal(butler, names, decertify=decertify)
        butler.registry.remove_collections([c.name for c in plan])
    return plan


def check_allowed(
    deps: Dependencies, what: str, *, decertify: bool, untag: bool | None = None
) -> None:
    """Refuse (``ConflictError``) to remove certified datasets unless ``decertify``, and,
    when ``untag`` is given, tagged ones unless it is True."""
    for counts, allowed, flag, kind in (
        (deps.certified, decertify, "decertify", "certified in CALIBRATION"),
        (deps.tagged, untag is not False, "untag", "members of TAGGED"),
    ):
        if counts and not allowed:
            raise ConflictError(
                f"{what} include {sum(counts.values())} dataset(s) {kind} collection(s) "
                f"{count_list(counts)}; pass --{flag} ({flag}=True) to remove them from there "
                "too"
            )


def _remove(
    butler: Butler,
    remove: Callable[[], tuple[Dependencies, list[StoredFile]]],
    unstore: bool,
) -> Removal:
    """Run ``remove`` (row deletions) in one transaction with the file trial, then delete
    the files no dataset uses any more."""
    registry, datastore = butler.registry, butler.datastore
    with registry.transaction():
        deps, files = remove()
        unused: list[StoredFile] = []
        if unstore:
            by_path = {stored.path: stored for stored in files}
            in_use = registry.paths_in_use(by_path)
            unused = [stored for path, stored in by_path.items() if path not in in_use]
            blockers = [b for b in map(datastore.removal_blocker, unused) if b is not None]
            if blockers:
                raise FileRemovalError(
                    f"cannot delete {len(blockers)} file(s), so nothing was removed; first: "
                    f"{blockers[0]}"
                )
    removal = Removal(deps)
    for stored in unused:
        try:
            datastore.remove(stored)
        except OSError:
            removal.left_behind.append(stored.path)
        else:
            removal.files_deleted += 1
    return removal
