"""Checks before writing into an existing output chain or run, so that products never mix.

An output chain searches its runs, then the inputs its first run was made from: a new
run with other inputs would hide which inputs made which products. A resumed run holds
outputs of the pipeline and configs it started with: finishing it with another pipeline,
other tasks or other configs would leave outputs that no stored config describes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType
from ..core.errors import ConfigError, ConflictError, DatasetTypeNotFoundError
from .io import load_header

if TYPE_CHECKING:
    from ..butler import Butler
    from ..pipe.resolved import ResolvedPipeline


class RunMismatchError(ConflictError):
    """A run would be continued with another pipeline, other tasks or other configs."""


def chain_inputs(butler: Butler, output: str) -> list[str] | None:
    """The input collections an existing output chain searches after its own runs (the
    children not named ``OUTPUT/...``), or None if there is no such chain."""
    record = butler.registry.find_collection(output)
    if record is None or record.type != CollectionType.CHAINED:
        return None
    prefix = f"{output}/"
    return [c for c in butler.registry.get_collection_chain(output) if not c.startswith(prefix)]


def check_chain_inputs(butler: Butler, output: str, inputs: Sequence[str]) -> None:
    """Refuse to write into an output chain whose inputs differ from ``inputs``."""
    existing = chain_inputs(butler, output)
    if existing is None or existing == list(inputs):
        return
    raise ConflictError(
        f"output {output!r} was made from inputs {', '.join(existing) or '(none)'}, not "
        f"{', '.join(inputs)}; use a new output collection (mixing them would mix products)"
    )


def run_differences(
    butler: Butler, run: str, pipeline: ResolvedPipeline, same_tasks: bool = True
) -> list[str]:
    """How ``pipeline`` differs from what ``run`` was made with: its tasks (unless not
    ``same_tasks``: a pipeline run in steps has only some of them at first) and their
    classes (from the graph the run executed) and each task's config (``<label>_config``)."""
    differences: list[str] = []
    saved = _saved_tasks(butler, run)
    if saved is not None:
        classes = {task["label"]: task["class"] for task in saved}
        added = [t.label for t in pipeline.tasks if t.label not in classes]
        removed = [label for label in classes if label not in pipeline.labels]
        if (added or removed) and same_tasks:
            differences.append(
                "tasks differ ("
                + "; ".join(
                    f"{what}: {', '.join(labels)}"
                    for what, labels in (("added", added), ("removed", removed))
                    if labels
                )
                + ")"
            )
        differences.extend(
            f"task {t.label} is {t.class_path}, was {classes[t.label]}"
            for t in pipeline.tasks
            if t.label in classes and classes[t.label] != t.class_path
        )
    for task in pipeline.tasks:
        try:
            ref = butler.registry.find_dataset(task.config_dataset_type, {}, [run])
        except DatasetTypeNotFoundError:  # a task added since: listed above
            continue
        if ref is not None:
            changed = changed_fields(butler.get(ref), task.config.model_dump(mode="json"))
            if changed:
                differences.append(f"task {task.label} config differs in {', '.join(changed)}")
    return differences


def _saved_tasks(butler: Butler, run: str) -> list[dict[str, Any]] | None:
    """The tasks (label, class, config) of the graph ``run`` executed, or None if no
    readable graph was saved (the run's configs are then all there is to compare)."""
    path = butler.graph_path(run)
    if not path.exists():
        return None
    try:
        tasks: list[dict[str, Any]] = load_header(path, butler.universe).to_json()["pipeline"][
            "tasks"
        ]
    except ConfigError:
        return None
    return tasks


def changed_fields(saved: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The config fields whose values differ between two dumped configs."""
    return sorted(k for k in {*config, *saved} if config.get(k) != saved.get(k))


def check_resume(
    butler: Butler, run: str, pipeline: ResolvedPipeline, force: bool, same_tasks: bool = True
) -> None:
    """Refuse to continue ``run`` with a pipeline that differs from the one it was made
    with (tasks added or removed only if ``same_tasks``), unless ``force``."""
    differences = run_differences(butler, run, pipeline, same_tasks)
    if differences and not force:
        raise RunMismatchError(
            f"cannot continue run {run!r}: {'; '.join(differences)}; "
            "use --force to continue it anyway (its stored configs then become the new ones)"
        )
