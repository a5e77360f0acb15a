"""A resolved pipeline: configured tasks in dependency order and the dataset types between them.

``Pipeline.resolve`` (``pipeline.py``) builds one from YAML; ``ResolvedPipeline.from_json``
rebuilds one from the description a saved quantum graph keeps. Either way the same checks
run: one producer per dataset type, one definition per dataset type name, prerequisites
never produced, and no cycles.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..core.dataset_type import DatasetType
from ..core.errors import ConfigError, UnknownNameError
from ..core.implicit import config_name, log_name, metadata_name
from ..core.universe import DimensionGroup, DimensionUniverse
from .config import PipelineTaskConfig, build_config
from .connections import Input, TaskConnections, resolve_connections
from .task import PipelineTask

#: Storage class of the implicit ``<label>_config``, ``_metadata`` and ``_log`` datasets.
IMPLICIT_STORAGE_CLASS = "StructuredData"


def import_task_class(
    class_path: str, where: str, search: Path | None = None
) -> type[PipelineTask]:
    """Import ``module.Class`` and check it is a ``PipelineTask``; errors start with ``where``.

    A module found neither installed nor on the path is looked for in ``search`` (the
    directory of the pipeline file that names it), which is then added to ``sys.path``.
    """
    module_name, dot, attr = class_path.rpartition(".")
    if not dot or not module_name or not attr:
        raise ConfigError(f"{where}: class {class_path!r} is not a dotted path module.Class")
    try:
        module = _import_module(module_name, search)
    except ImportError as err:
        raise ConfigError(
            f"{where}: class {class_path!r}: cannot import module {module_name!r}: {err}"
        ) from err
    found = getattr(module, attr, None)
    if found is None:
        raise ConfigError(
            f"{where}: class {class_path!r}: module {module_name!r} has no attribute {attr!r}"
        )
    if not (isinstance(found, type) and issubclass(found, PipelineTask)):
        raise ConfigError(f"{where}: {class_path!r} is not a PipelineTask subclass")
    return found


def _import_module(name: str, search: Path | None) -> ModuleType:
    """Import ``name``; when its top-level package is missing but sits in ``search``, add
    ``search`` to ``sys.path`` (where worker processes inherit it) and import again."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        top = name.partition(".")[0]
        if search is None or err.name != top or not _holds_module(search, top):
            raise
    if str(search) not in sys.path:
        sys.path.append(str(search))
    return importlib.import_module(name)


def _holds_module(directory: Path, top: str) -> bool:
    """Whether ``directory`` holds a package or module named ``top``."""
    return (directory / top / "__init__.py").is_file() or (directory / f"{top}.py").is_file()


def pipeline_directory(source: str) -> Path | None:
    """The directory of a pipeline file, when ``source`` names one on disk."""
    path = Path(source)
    return path.parent.resolve() if path.suffix in (".yaml", ".yml") and path.is_file() else None


def connect(
    label: str,
    task_class: type[PipelineTask],
    config: PipelineTaskConfig,
    universe: DimensionUniverse,
    where: str,
) -> TaskConnections:
    """Resolve a task's connections with its config's renames; errors start with ``where``."""
    try:
        return resolve_connections(
            label, task_class.ConnectionsClass, config.connections, universe, config
        )
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from err


@dataclass(frozen=True)
class TaskDef:
    """One configured task of a resolved pipeline."""

    label: str
    task_class: type[PipelineTask]
    class_path: str
    config: PipelineTaskConfig
    connections: TaskConnections
    source: str
    #: Workers each quantum asks for: a pool starts it only when that many are free.
    cores: int = 1

    @property
    def dimensions(self) -> DimensionGroup:
        """The task's quantum dimensions."""
        return self.connections.dimensions

    @functools.cached_property
    def config_dataset_type(self) -> DatasetType:
        """``<label>_config``: the task's config, written once per run."""
        empty = self.dimensions.universe.empty()
        return DatasetType(config_name(self.label), empty, IMPLICIT_STORAGE_CLASS)

    @functools.cached_property
    def metadata_dataset_type(self) -> DatasetType:
        """``<label>_metadata``: timings and other facts about each quantum."""
        return DatasetType(metadata_name(self.label), self.dimensions, IMPLICIT_STORAGE_CLASS)

    @functools.cached_property
    def log_dataset_type(self) -> DatasetType:
        """``<label>_log``: the log records of each quantum."""
        return DatasetType(log_name(self.label), self.dimensions, IMPLICIT_STORAGE_CLASS)

    def written(self) -> list[tuple[str, DatasetType]]:
        """What the task writes: (connection name or implicit kind, dataset type)."""
        conns = self.connections
        return [
            *((n, c.dataset_type) for n, c in {**conns.init_outputs, **conns.outputs}.items()),
            ("implicit config", self.config_dataset_type),
            ("implicit metadata", self.metadata_dataset_type),
            ("implicit log", self.log_dataset_type),
        ]

    def make_task(self) -> PipelineTask:
        """A task instance with this config and label."""
        return self.task_class(config=self.config, label=self.label)

    def to_json(self) -> dict[str, Any]:
        """Label, class path, source, config and cores as JSON-compatible values."""
        return {
            "label": self.label,
            "class": self.class_path,
            "source": self.source,
            "config": self.config.model_dump(mode="json"),
            "cores": self.cores,
        }


@dataclass(frozen=True)
class ResolvedPipeline:
    """Configured tasks in topological order and the dataset types that flow between them."""

    tasks: list[TaskDef]
    dataset_types: dict[str, DatasetType]
    producers: dict[str, str]
    consumers: dict[str, list[str]]
    overall_inputs: list[str]
    prerequisites: list[str]
    description: str = ""
    source: str = "pipeline"

    @classmethod
    def from_tasks(
        cls, tasks: Sequence[TaskDef], description: str = "", source: str = "pipeline"
    ) -> ResolvedPipeline:
        """Check the dataset-type flow between ``tasks`` (in file order) and sort them."""
        declared: dict[str, tuple[DatasetType, str]] = {}
        producers: dict[str, tuple[str, str]] = {}
        consumers: dict[str, list[str]] = {}
        for task in tasks:
            for name, conn in task.connections.connections.items():
                who = f"task {task.label!r} connection {name!r}"
                _declare(declared, conn.dataset_type, who, source)
            for what, dataset_type in task.written():
                _declare(declared, dataset_type, f"task {task.label!r} ({what})", source)
                other = producers.setdefault(dataset_type.name, (task.label, what))
                if other != (task.label, what):
                    raise ConfigError(
                        f"{source}: task {other[0]!r} ({other[1]}) and task {task.label!r} "
                        f"({what}) both write dataset type {dataset_type.name!r}; a dataset type "
                        "has one producer (rename one with the config's 'connections')"
                    )
            for conn in task.connections.of_kind(Input).values():
                users = consumers.setdefault(conn.dataset_type.name, [])
                if task.label not in users:
                    users.append(task.label)
        for task in tasks:
            for name, conn in task.connections.prerequisites.items():
                producer = producers.get(conn.dataset_type.name)
                if producer is not None:
                    raise ConfigError(
                        f"{source}: task {task.label!r} connection {name!r}: prerequisite input "
                        f"{conn.dataset_type.name!r} is written by task {producer[0]!r}; "
                        "prerequisites must exist before the pipeline runs (use Input instead)"
                    )
        ordered = _topological(tasks, {k: v[0] for k, v in producers.items()}, source)
        overall: list[str] = []
        prerequisites: list[str] = []
        for task in ordered:
            for conn in task.connections.inputs.values():
                name = conn.dataset_type.name
                if name not in producers and name not in overall:
                    overall.append(name)
            for conn in task.connections.prerequisites.values():
                if conn.dataset_type.name not in prerequisites:
                    prerequisites.append(conn.dataset_type.name)
        return cls(
            tasks=ordered,
            dataset_types={name: dt for name, (dt, _) in declared.items()},
            producers={name: label for name, (label, _) in producers.items()},
            consumers=consumers,
            overall_inputs=overall,
            prerequisites=prerequisites,
            description=description,
            source=source,
        )

    @property
    def labels(self) -> list[str]:
        """Task labels in topological order."""
        return [t.label for t in self.tasks]

    def task(self, label: str) -> TaskDef:
        """The task with this label."""
        for task in self.tasks:
            if task.label == label:
                return task
        raise UnknownNameError(
            f"no task {label!r} in the pipeline; labels: {', '.join(self.labels)}"
        )

    def upstream_labels(self, label: str) -> list[str]:
        """Labels of the tasks that write this task's inputs (direct only), in pipeline order."""
        task = self.task(label)
        wanted = {
            self.producers[c.dataset_type.name]
            for c in task.connections.inputs.values()
            if c.dataset_type.name in self.producers
        }
        return [t.label for t in self.tasks if t.label in wanted]

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible description from which ``from_json`` rebuilds this pipeline."""
        return {
            "description": self.description,
            "source": self.source,
            "tasks": [t.to_json() for t in self.tasks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], universe: DimensionUniverse) -> ResolvedPipeline:
        """Rebuild a pipeline from ``to_json`` output, importing and validating again."""
        source = f"saved pipeline {data.get('source', '')!r}"
        tasks = []
        for entry in data["tasks"]:
            label = entry["label"]
            where = f"{source}: task {label!r}"
            search = pipeline_directory(entry.get("source", ""))
            task_class = import_task_class(entry["class"], where, search)
            config = build_config(task_class.ConfigClass, [entry["config"]], where)
            conns = connect(label, task_class, config, universe, source)
            cores = int(entry.get("cores", 1))
            tasks.append(
                TaskDef(label, task_class, entry["class"], config, conns, entry["source"], cores)
            )
        return cls.from_tasks(tasks, data.get("description", ""), data.get("source") or source)


def _declare(
    declared: dict[str, tuple[DatasetType, str]], dataset_type: DatasetType, who: str, source: str
) -> None:
    """Record a dataset type definition; a different earlier one is an error naming both."""
    first = declared.setdefault(dataset_type.name, (dataset_type, who))
    diffs = first[0].differences(dataset_type)
    if diffs:
        raise ConfigError(
            f"{source}: dataset type {dataset_type.name!r} is defined differently by {first[1]} "
            f"({first[0].describe()}) and {who} ({dataset_type.describe()}): {'; '.join(diffs)}"
        )


def _topological(
    tasks: Sequence[TaskDef], producers: Mapping[str, str], source: str
) -> list[TaskDef]:
    """Tasks with every producer before its consumers; file order among independent tasks."""
    upstream: dict[str, dict[str, str]] = {}
    for task in tasks:
        edges: dict[str, str] = {}
        for conn in task.connections.inputs.values():
            producer = producers.get(conn.dataset_type.name)
            if producer is not None:
                edges.setdefault(producer, conn.dataset_type.name)
        upstream[task.label] = edges
    done: set[str] = set()
    ordered: list[TaskDef] = []
    pending = list(tasks)
    while pending:
        ready = next((t for t in pending if set(upstream[t.label]) <= done), None)
        if ready is None:
            raise ConfigError(f"{source}: {_describe_cycle(pending, upstream)}")
        pending.remove(ready)
        done.add(ready.label)
        ordered.append(ready)
    return ordered


def _describe_cycle(pending: Sequence[TaskDef], upstream: Mapping[str, Mapping[str, str]]) -> str:
    """Walk upstream from a blocked task until a label repeats, and name that cycle."""
    left = [t.label for t in pending]
    path = [left[0]]
    while True:
        step = next(p for p in left if p in upstream[path[-1]])
        if step in path:
            cycle = [*path[path.index(step) :], step]
            break
        path.append(step)
    cycle.reverse()
    parts = [repr(cycle[0])]
    for producer, consumer in itertools.pairwise(cycle):
        parts.append(f"-[{upstream[consumer][producer]}]-> {consumer!r}")
    return f"tasks {', '.join(map(repr, sorted(set(cycle))))} form a cycle: {' '.join(parts)}"
