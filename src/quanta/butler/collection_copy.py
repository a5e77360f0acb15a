"""Copying collections, not only datasets, between repositories: the chains, TAGGED
memberships and CALIBRATION certifications reachable from the collections a transfer
names are recreated in the target for the datasets it copies.

Everything is checked before anything is written: a collection of the same name but
another type in the target, or a certification overlapping a different one already
there (``certifications.new_certifications``), refuses the whole transfer. Recreating
what is already there adds nothing, so a transfer can be repeated.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.collections import CollectionRecord, CollectionType
from ..core.dataset_type import DatasetType
from ..core.errors import ConflictError
from ..core.refs import DatasetRef
from ..core.timespan import Timespan
from .certifications import new_certifications

if TYPE_CHECKING:
    from .butler import Butler


@dataclass
class CollectionPlan:
    """What a transfer recreates in the target: chains (with the children the target will
    have), TAGGED memberships and certifications, each counted in ``summary``."""

    chains: dict[str, list[str]] = field(default_factory=dict)
    tags: dict[str, list[DatasetRef]] = field(default_factory=dict)
    certifications: dict[str, list[tuple[DatasetRef, Timespan]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        """True when there is any collection to recreate."""
        return bool(self.chains or self.tags or self.certifications)

    def summary(self) -> str:
        """One line: how many chains, tag memberships and certifications."""
        members = sum(len(refs) for refs in self.tags.values())
        certified = sum(len(items) for items in self.certifications.values())
        return (
            f"{len(self.chains)} chain(s), {members} TAGGED membership(s) in "
            f"{len(self.tags)} collection(s), {certified} certification(s) in "
            f"{len(self.certifications)} collection(s)"
        )


def plan_collections(
    source: Butler,
    target: Butler,
    collections: Sequence[str],
    dataset_types: Sequence[DatasetType],
    refs: Sequence[DatasetRef],
) -> CollectionPlan:
    """The chains, tags and certifications to recreate for ``refs`` (the datasets being
    copied), found by walking ``collections`` in the source; ``ConflictError`` if the
    target cannot take them."""
    copied = {ref.id: ref for ref in refs}
    runs = {ref.run for ref in refs}
    plan = CollectionPlan()
    reachable = source.registry.reachable_collections(collections)
    # A chain's children are reachable too: every one that is not a RUN is recreated.
    recreated = {r.name for r in reachable if r.type != CollectionType.RUN}
    for record in reachable:
        _check_type(target, record)
        if record.type == CollectionType.CHAINED:
            children = source.registry.get_collection_chain(record.name)
            plan.chains[record.name] = [
                c
                for c in children
                if c in runs or c in recreated or target.registry.find_collection(c) is not None
            ]
        elif record.type == CollectionType.TAGGED:
            members = _members(source, record.name, dataset_types, copied)
            plan.tags[record.name] = members
        elif record.type == CollectionType.CALIBRATION:
            wanted = []
            for dt in dataset_types:
                if not dt.is_calibration:
                    continue
                for dataset_id, _, span in source.registry.certifications(record.name, dt):
                    if dataset_id in copied:
                        wanted.append((copied[dataset_id], span))
            certified = [(record.name, ref, span) for ref, span in wanted]
            plan.certifications[record.name] = [
                (ref, span) for _, ref, span in new_certifications(target, certified, "the source")
            ]
    return plan


def apply_collections(target: Butler, plan: CollectionPlan) -> None:
    """Recreate a checked plan in the target, in one transaction (chains last, so that
    their children exist)."""
    registry = target.registry
    with registry.transaction():
        for name, members in plan.tags.items():
            registry.register_collection(name, CollectionType.TAGGED)
            if members:
                registry.associate(name, members)
        for name, items in plan.certifications.items():
            registry.register_collection(name, CollectionType.CALIBRATION)
            for ref, span in items:
                registry.certify(name, [ref], span)
        for name in plan.chains:
            registry.register_collection(name, CollectionType.CHAINED)
        for name, children in plan.chains.items():
            registry.set_collection_chain(name, children)


def _check_type(target: Butler, record: CollectionRecord) -> None:
    existing = target.registry.find_collection(record.name)
    if existing is not None and existing.type != record.type:
        raise ConflictError(
            f"collection {record.name!r} is {record.type.name} in the source but "
            f"{existing.type.name} in the target"
        )


def _members(
    source: Butler,
    tag: str,
    dataset_types: Sequence[DatasetType],
    copied: dict[uuid.UUID, DatasetRef],
) -> list[DatasetRef]:
    """The copied datasets that are members of a source TAGGED collection."""
    members = []
    for dt in dataset_types:
        for ref in source.query_datasets(dt, [tag], find_first=False):
            if ref.id in copied:
                members.append(copied[ref.id])
    return members
