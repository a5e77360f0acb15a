"""Certifications arriving from elsewhere (a bundle, another repository): which ones a
repository still lacks, and which it must refuse because they overlap another dataset's
validity for the same data ID there."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.errors import CalibrationOverlapError
from ..core.refs import DatasetRef
from ..core.timespan import Timespan

if TYPE_CHECKING:
    from .butler import Butler

#: A certification to bring in: (CALIBRATION collection, dataset, validity).
Certification = tuple[str, DatasetRef, Timespan]


def new_certifications(
    butler: Butler, wanted: Sequence[Certification], source: str
) -> list[Certification]:
    """The certifications of ``wanted`` the repository does not hold yet, in order;
    ``CalibrationOverlapError`` naming ``source`` for one that would overlap another
    dataset's validity there."""
    registry = butler.registry
    existing: dict[tuple[str, str], list[tuple[uuid.UUID, str, Timespan]]] = {}
    new = []
    for collection, ref, span in wanted:
        if registry.find_collection(collection) is None:
            new.append((collection, ref, span))
            continue
        key = (collection, ref.dataset_type.name)
        if key not in existing:
            known = registry.query_dataset_types(ref.dataset_type.name)
            existing[key] = registry.certifications(collection, ref.dataset_type) if known else []
        same = [c for c in existing[key] if c[1] == ref.data_id.key()]
        if any(c[0] == ref.id and c[2] == span for c in same):
            continue
        clash = next((c for c in same if c[2].overlaps(span)), None)
        if clash is not None:
            raise CalibrationOverlapError(
                f"{ref.dataset_type.name} for {ref.data_id} in {collection!r}: {source} "
                f"certifies {ref.id} over {span}, but {clash[0]} is certified over "
                f"{clash[2]} in {butler.root}"
            )
        new.append((collection, ref, span))
    return new
