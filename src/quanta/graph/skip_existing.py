"""Quanta whose outputs already exist elsewhere (``--skip-existing-in``): left out of the
graph, their outputs put in as existing datasets that quanta downstream read.

A quantum is done if its metadata exists (it finished, with or without work) or every
one of its outputs does; the datasets are found with one query per output type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.implicit import LOG, METADATA
from .columns import DataIdColumns, picker
from .model import DatasetNodes

if TYPE_CHECKING:
    from ..butler import Butler
    from ..core.dataset_type import DatasetType
    from ..core.refs import DatasetRef
    from ..pipe.resolved import TaskDef
    from .accumulators import TaskQuanta


def task_outputs(task: TaskDef) -> dict[str, DatasetType]:
    """The dataset types a task writes, by connection name (metadata and log included)."""
    outputs = {name: conn.dataset_type for name, conn in task.connections.outputs.items()}
    outputs[METADATA] = task.metadata_dataset_type
    outputs[LOG] = task.log_dataset_type
    return outputs


def find_done(
    butler: Butler,
    task: TaskDef,
    names: tuple[str, ...],
    quanta: TaskQuanta,
    collections: Sequence[str],
    where: str | None,
    binds: Mapping[str, Any],
    registered: Callable[[str], bool],
) -> tuple[np.ndarray, dict[str, list[DatasetRef]]]:
    """Which quanta of ``task`` are done in ``collections`` (a boolean mask), and for each
    output dataset type the existing refs of the done quanta, in their order; a type not
    ``registered`` in the repository has none."""
    width = len(names)
    found: dict[str, list[DatasetRef | None]] = {}
    for dataset_type in task_outputs(task).values():
        refs = {
            (ref.data_id.required_values, ref.data_id._extras): ref
            for ref in (
                butler.registry.query_datasets(dataset_type, collections, where, binds)
                if registered(dataset_type.name)
                else ()
            )
        }
        pick = picker([names.index(d) for d in dataset_type.dimensions.required], width)
        found[dataset_type.name] = [
            refs.get((pick(row), quanta.extras_of(i))) for i, row in enumerate(quanta.rows)
        ]
    has_all = np.ones(len(quanta), dtype=bool)
    for refs_of_type in found.values():
        has_all &= np.array([ref is not None for ref in refs_of_type], dtype=bool)
    done = has_all | np.array(
        [ref is not None for ref in found[task.metadata_dataset_type.name]], dtype=bool
    )
    existing = {
        name: [ref for ref, keep in zip(refs, done.tolist(), strict=True) if keep and ref]
        for name, refs in found.items()
    }
    return done, existing


def with_existing(
    nodes: DatasetNodes, refs: Sequence[DatasetRef], run_index: Callable[[str], int]
) -> DatasetNodes:
    """``nodes`` (predicted outputs) followed by existing datasets of the same type, which
    no quantum of the graph produces."""
    if not refs:
        return nodes
    dataset_type = nodes.dataset_type
    extras = [ref.data_id._extras for ref in refs]
    added = DataIdColumns.from_rows(
        dataset_type.dimensions, [ref.data_id.required_values for ref in refs], extras
    )
    before = nodes.data_ids
    columns = [np.concatenate([a, b]) for a, b in zip(before.columns, added.columns, strict=True)]
    all_extras = [before.extras_of(i) for i in range(len(before))] + extras
    return DatasetNodes(
        dataset_type,
        DataIdColumns(dataset_type.dimensions, columns, all_extras),
        np.concatenate([nodes.ids, np.array([ref.id.bytes for ref in refs], dtype="V16")]),
        np.concatenate(
            [nodes.runs, np.array([run_index(ref.run) for ref in refs], dtype=np.int32)]
        ),
        np.concatenate([nodes.producers, np.full(len(refs), -1, dtype=np.int64)]),
    )
