"""Getting a repository ready for a run: dataset types, the RUN, the output chain, configs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.collections import CollectionType
from ..core.stored_file import StoredFile
from ..graph.output_checks import changed_fields

if TYPE_CHECKING:
    from ..butler import Butler
    from ..graph.model import QuantumGraph
    from ..pipe.resolved import ResolvedPipeline, TaskDef

log = logging.getLogger("quanta.exec")


def files_in_run(butler: Butler, run: str) -> dict[bytes, StoredFile]:
    """The files of every dataset already in ``run`` (none if the run does not exist),
    by the 16 bytes of their dataset ID."""
    if butler.registry.find_collection(run) is None:
        return {}
    return {f.dataset_id.bytes: f for f in butler.registry.files_in_run(run)}


def prepare_run(butler: Butler, graph: QuantumGraph, pipeline: ResolvedPipeline) -> None:
    """Register the pipeline's dataset types and the run, put the run first in the output
    chain, and save each task's config once; all in one transaction. Configs that changed
    since the run started (a forced resume) are replaced after it, each on its own."""
    registry = butler.registry
    run = graph.output_run
    with registry.transaction():
        for dataset_type in pipeline.dataset_types.values():
            registry.register_dataset_type(dataset_type)
        registry.register_run(run)
        output = graph.header.output
        if output:
            _chain(butler, output, run, graph.header.inputs)
        changed = [task for task in pipeline.tasks if not _save_config(butler, task, run)]
    for task in changed:
        _replace_config(butler, task, run)


def _chain(butler: Butler, output: str, run: str, inputs: Sequence[str]) -> None:
    """Make ``output`` a CHAINED collection searching ``run`` first, then what it searched
    before (earlier runs), then any input collection it lacks; a run already in the chain
    (resumed or extended) keeps its place."""
    registry = butler.registry
    registry.register_collection(output, CollectionType.CHAINED)
    old = registry.get_collection_chain(output)
    children = list(old) if run in old else [run, *old]
    children.extend(c for c in inputs if c not in children)
    if children != old:
        registry.set_collection_chain(output, children)


def _save_config(butler: Butler, task: TaskDef, run: str) -> bool:
    """Write ``<label>_config`` once per run; False if the run holds another config."""
    dataset_type = task.config_dataset_type
    config = task.config.model_dump(mode="json")
    ref = butler.registry.find_dataset(dataset_type, {}, [run])
    if ref is None:
        butler.put(config, dataset_type, {}, run=run)
        return True
    return not changed_fields(butler.get(ref), config)


def _replace_config(butler: Butler, task: TaskDef, run: str) -> None:
    """Replace the ``<label>_config`` of a run continued with a changed config (which
    planning refuses without ``--force``), so that it says what quanta run from now on
    use, and warn: outputs written before keep no config of their own. The old one goes
    first, so a failure leaves no config rather than a wrong one."""
    dataset_type = task.config_dataset_type
    config = task.config.model_dump(mode="json")
    ref = butler.registry.find_dataset(dataset_type, {}, [run])
    assert ref is not None
    log.warning(
        "task %r: config field(s) %s differ from those run %r was started with; %s now "
        "holds the new values, which quanta run from now on use",
        task.label,
        ", ".join(changed_fields(butler.get(ref), config)),
        run,
        dataset_type.name,
    )
    butler.purge_datasets([ref])
    butler.put(config, dataset_type, {}, run=run)
