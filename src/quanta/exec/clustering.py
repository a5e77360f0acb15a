"""Grouping quanta into jobs: ``--cluster-by DIMENSIONS``.

A job of one quantum costs a cluster engine about as much as a trivial quantum, so
quanta of one task sharing the values of the clustering dimensions (every ISR quantum
of one detector, say) run as one job, one after another on one worker. Tasks whose
quanta lack one of the dimensions keep one quantum per job. The quanta of one task never
depend on each other, so a job is ready when every one of its quanta is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import ConfigError

if TYPE_CHECKING:
    from ..core.universe import DimensionUniverse
    from ..graph.model import QuantumGraph


def check_dimensions(dimensions: Sequence[str], universe: DimensionUniverse) -> tuple[str, ...]:
    """The clustering dimensions, each checked to be a dimension of ``universe``."""
    unknown = [d for d in dimensions if d not in universe]
    if unknown:
        raise ConfigError(
            f"cannot cluster by {', '.join(map(repr, unknown))}: not a dimension; "
            f"dimensions: {', '.join(universe.dimensions)}"
        )
    return tuple(dict.fromkeys(dimensions))


def cluster_ids(graph: QuantumGraph, dimensions: Sequence[str]) -> np.ndarray:
    """The job of every quantum (an int64 array over the graph's quanta), numbered from 0."""
    ids = np.empty(len(graph), dtype=np.int64)
    next_id = 0
    for task in graph.tasks:
        size = len(task)
        required = list(task.data_ids.group.required)
        if size == 0:
            continue
        if not dimensions or not all(d in required for d in dimensions):
            ids[task.first : task.first + size] = np.arange(next_id, next_id + size)
            next_id += size
            continue
        columns = [task.data_ids.columns[required.index(d)].tolist() for d in dimensions]
        jobs: dict[tuple, int] = {}
        keys = list(zip(*columns, strict=True))
        local = [jobs.setdefault(key, len(jobs)) for key in keys]
        ids[task.first : task.first + size] = np.asarray(local, dtype=np.int64) + next_id
        next_id += len(jobs)
    return ids
