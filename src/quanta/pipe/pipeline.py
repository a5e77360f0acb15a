"""Pipelines: labelled tasks loaded from YAML, selected and overridden, then resolved.

A pipeline file (loaded with ``yaml.safe_load`` semantics only)::

    description: Two-task example
    parameters:             # a config value "parameters.NAME" is replaced by NAME's value
      scale: 2.0
    imports:                # files relative to this one, or shipped names
      - base.yaml
    tasks:
      calexp:
        class: quanta.pipe.examples.ScaleTask
        config:             # overrides: nested mappings or dotted keys
          scale: parameters.scale
      summary: quanta.pipe.examples.SummaryTask     # short form: the class alone
    subsets:
      step1:
        description: first step
        tasks: [calexp]

Imports merge in order, then the file itself: later wins. Parameters, subsets and the
description are replaced by name; a task label defined again with the same class (or no
``class``) adds its config on top of the earlier one, with another class it replaces it.
Import cycles are errors. ``Pipeline.load("file.yaml#step1")`` or ``"w1#calexp,summary"``
keeps only the named subsets and labels. ``resolve(universe)`` imports the task classes,
builds their configs (file layers, then ``-c label:field=value`` overrides) and checks
the dataset-type flow (``resolved.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, UnknownNameError
from ..core.universe import DimensionUniverse
from ..core.yaml_io import config_error, line_of, load_yaml
from .config import PipelineTaskConfig, build_config
from .resolved import (
    ResolvedPipeline,
    TaskDef,
    connect,
    import_task_class,
    pipeline_directory,
)

_TOP_KEYS = ("description", "parameters", "imports", "tasks", "subsets")
_TASK_KEYS = ("class", "config", "resources")
_RESOURCE_KEYS = ("cores",)
_SUBSET_KEYS = ("description", "tasks")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAMETER = "parameters."


def shipped_root() -> Traversable:
    """The directory of the pipelines shipped in the package."""
    return resources.files("quanta") / "pipelines"


def shipped_pipelines() -> list[str]:
    """Names of the shipped pipelines (``quanta/pipelines/<name>.yaml``)."""
    return sorted(
        e.name[: -len(".yaml")] for e in shipped_root().iterdir() if e.name.endswith(".yaml")
    )


@dataclass(frozen=True)
class ConfigLayer:
    """Config overrides from one place: a task's ``config`` in a file, or one ``-c``."""

    values: Mapping[str, Any]
    source: str
    document: Any = None
    path: tuple[Any, ...] = ()

    def where(self, key: Any = None) -> str:
        """``file:line`` of ``key`` in this layer, or the source alone when no line is known."""
        keys = (*self.path, key) if key is not None else self.path
        line = line_of(self.document, keys) if self.document is not None else None
        return f"{self.source}:{line}" if line else self.source


@dataclass(frozen=True)
class TaskSpec:
    """A task as a pipeline declares it: label, class path and config layers (in order)."""

    label: str
    class_path: str
    source: str
    line: int | None = None
    layers: tuple[ConfigLayer, ...] = ()
    #: Workers each quantum asks for (``resources: {cores: N}``); None: not said here.
    cores: int | None = None

    @property
    def where(self) -> str:
        """``file:line`` of the task's class."""
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class Subset:
    """A named group of task labels."""

    name: str
    tasks: tuple[str, ...]
    description: str = ""
    where: str = ""


@dataclass(frozen=True)
class Pipeline:
    """Tasks by label (in file order), subsets and parameters, not yet resolved."""

    description: str
    tasks: Mapping[str, TaskSpec]
    subsets: Mapping[str, Subset] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    source: str = "pipeline"

    @classmethod
    def load(cls, ref: str | Path) -> Pipeline:
        """Load a file or a shipped pipeline by name; ``#names`` keeps only those tasks.

        ``ref`` is a path when it ends with ``.yaml``/``.yml`` or names an existing file,
        else the name of a shipped pipeline.
        """
        text, selection = str(ref), ""
        if isinstance(ref, str) and "#" in ref:
            text, _, selection = ref.rpartition("#")
        pipeline = _load_file(_locate(text, None, ""), ())
        return pipeline.select(selection) if selection else pipeline

    @property
    def labels(self) -> list[str]:
        """Task labels in file order."""
        return list(self.tasks)

    def select(self, names: str | Iterable[str]) -> Pipeline:
        """Keep the tasks of the named subsets and labels (a string may list them with commas)."""
        if isinstance(names, str):
            names = names.split(",")
        wanted: set[str] = set()
        for name in (n.strip() for n in names):
            if name in self.subsets:
                wanted.update(self.subsets[name].tasks)
            elif name in self.tasks:
                wanted.add(name)
            elif name:
                raise UnknownNameError(
                    f"{self.source}: no task or subset {name!r}; labels: "
                    f"{', '.join(self.tasks)}; subsets: {', '.join(self.subsets) or '(none)'}"
                )
        if not wanted:
            raise ConfigError(f"{self.source}: the selection names no task")
        subsets = {}
        for name, subset in self.subsets.items():
            kept = tuple(label for label in subset.tasks if label in wanted)
            if kept:
                subsets[name] = replace(subset, tasks=kept)
        tasks = {label: spec for label, spec in self.tasks.items() if label in wanted}
        return replace(self, tasks=tasks, subsets=subsets)

    def with_overrides(self, overrides: Iterable[tuple[str, str, Any]]) -> Pipeline:
        """Add config overrides (label, field, value), such as ``-c`` gives, after the files'."""
        tasks = dict(self.tasks)
        for label, name, value in overrides:
            if label not in tasks:
                raise UnknownNameError(
                    f"config override {label}:{name}: no task {label!r} in {self.source}; "
                    f"labels: {', '.join(tasks)}"
                )
            layer = ConfigLayer({name: value}, f"override {label}:{name}")
            tasks[label] = replace(tasks[label], layers=(*tasks[label].layers, layer))
        return replace(self, tasks=tasks)

    def resolve(self, universe: DimensionUniverse) -> ResolvedPipeline:
        """Import and configure every task, resolve connections and check the flow."""
        defs = [_resolve_task(spec, self.parameters, universe) for spec in self.tasks.values()]
        return ResolvedPipeline.from_tasks(defs, self.description, self.source)

    def _merged_with(self, other: Pipeline) -> Pipeline:
        """This pipeline with ``other`` on top (``other`` wins)."""
        tasks = dict(self.tasks)
        for label, spec in other.tasks.items():
            tasks[label] = _combine(tasks.get(label), spec)
        return Pipeline(
            description=other.description or self.description,
            tasks=tasks,
            subsets={**self.subsets, **other.subsets},
            parameters={**self.parameters, **other.parameters},
            source=other.source,
        )


def _combine(old: TaskSpec | None, new: TaskSpec) -> TaskSpec:
    """Merge a later definition of a label: same or no class adds config; another replaces."""
    if old is None:
        if not new.class_path:
            raise ConfigError(f"{new.where}: task {new.label!r} has no 'class'")
        return new
    if new.class_path in ("", old.class_path):
        cores = old.cores if new.cores is None else new.cores
        return replace(old, layers=(*old.layers, *new.layers), cores=cores)
    return new


def _locate(ref: str, base: Traversable | None, where: str) -> Traversable:
    """A pipeline file (relative to ``base``, the importing file's directory) or shipped name."""
    candidate = base / ref if base is not None else Path(ref)
    if ref.endswith((".yaml", ".yml")) or candidate.is_file():
        return candidate
    shipped = shipped_root() / f"{ref}.yaml"
    if shipped.is_file():
        return shipped
    raise ConfigError(
        f"{where}no pipeline file or shipped pipeline {ref!r}; "
        f"shipped pipelines: {', '.join(shipped_pipelines())}"
    )


def _identity(location: Traversable) -> str:
    """A key that is the same for every spelling of one file, to detect import cycles."""
    return str(location.resolve()) if isinstance(location, Path) else str(location)


def _load_file(location: Traversable, chain: tuple[tuple[str, str], ...]) -> Pipeline:
    """Load one file and, first, what it imports; ``chain`` holds the importing files."""
    source = str(location)
    if isinstance(location, Path):
        doc = load_yaml(location)
    else:
        doc = load_yaml(source, location.read_text())
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{source}: a pipeline file is a mapping with keys {', '.join(_TOP_KEYS)}"
        )
    for key in doc:
        if key not in _TOP_KEYS:
            message = f"unknown top-level key {key!r}; valid keys: {', '.join(_TOP_KEYS)}"
            raise config_error(source, doc, (key,), message)
    chain = (*chain, (_identity(location), source))
    merged = Pipeline("", {}, source=source)
    base = location.parent if isinstance(location, Path) else shipped_root()
    for i, entry in enumerate(_typed(doc, source, ("imports",), list, [])):
        if not isinstance(entry, str):
            raise config_error(source, doc, ("imports", i), "an import is a file or pipeline name")
        where = f"{_at(source, doc, ('imports', i))}: "
        target = _locate(entry, base, where)
        keys = [key for key, _ in chain]
        if _identity(target) in keys:
            names = [name for _, name in chain[keys.index(_identity(target)) :]]
            cycle = " -> ".join([*names, str(target)])
            raise ConfigError(f"{where}pipeline imports form a cycle: {cycle}")
        merged = merged._merged_with(_load_file(target, chain))
    pipeline = merged._merged_with(_parse(doc, source))
    _check(pipeline)
    return pipeline


def _at(source: str, doc: Any, path: tuple[Any, ...]) -> str:
    """``file:line`` of ``path`` in a loaded document."""
    line = line_of(doc, path)
    return f"{source}:{line}" if line else source


def _typed(doc: Any, source: str, path: tuple[Any, ...], kind: type, default: Any) -> Any:
    """The value at ``path`` (``default`` when absent), checked to be a ``kind``."""
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return default
    if not isinstance(value, kind):
        names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}
        expected = names.get(kind, kind.__name__)
        raise config_error(source, doc, path, f"{'.'.join(map(str, path))} must be {expected}")
    return value


def _parse(doc: Mapping[str, Any], source: str) -> Pipeline:
    """The pipeline one file declares by itself (imports not merged)."""
    tasks = {}
    for label, entry in _typed(doc, source, ("tasks",), dict, {}).items():
        if not isinstance(label, str) or not _LABEL.match(label):
            message = f"invalid task label {label!r}: use letters, digits and '_'"
            raise config_error(source, doc, ("tasks", label), message)
        tasks[label] = _parse_task(label, entry, doc, source)
    subsets = {}
    for name in _typed(doc, source, ("subsets",), dict, {}):
        path = ("subsets", name)
        entry = _typed(doc, source, path, dict, {})
        for key in entry:
            if key not in _SUBSET_KEYS:
                message = (
                    f"subset {name!r}: unknown key {key!r}; valid keys: {', '.join(_SUBSET_KEYS)}"
                )
                raise config_error(source, doc, (*path, key), message)
        labels = _typed(doc, source, (*path, "tasks"), list, [])
        description = _typed(doc, source, (*path, "description"), str, "")
        subsets[str(name)] = Subset(
            str(name), tuple(map(str, labels)), description, _at(source, doc, path)
        )
    return Pipeline(
        description=_typed(doc, source, ("description",), str, ""),
        tasks=tasks,
        subsets=subsets,
        parameters=_typed(doc, source, ("parameters",), dict, {}),
        source=source,
    )


def _parse_task(label: str, entry: Any, doc: Any, source: str) -> TaskSpec:
    """One entry of ``tasks``: a class path, or a mapping with ``class`` and ``config``."""
    path = ("tasks", label)
    if isinstance(entry, str):
        return TaskSpec(label, entry, source, line_of(doc, path))
    if not isinstance(entry, dict):
        message = f"task {label!r} must be a class path or a mapping with 'class' and 'config'"
        raise config_error(source, doc, path, message)
    for key in entry:
        if key not in _TASK_KEYS:
            message = f"task {label!r}: unknown key {key!r}; valid keys: {', '.join(_TASK_KEYS)}"
            raise config_error(source, doc, (*path, key), message)
    class_path = _typed(doc, source, (*path, "class"), str, "")
    config = _typed(doc, source, (*path, "config"), dict, {})
    layers = (ConfigLayer(config, source, doc, (*path, "config")),) if config else ()
    cores = _parse_cores(label, doc, source, (*path, "resources"))
    return TaskSpec(label, class_path, source, line_of(doc, (*path, "class")), layers, cores)


def _parse_cores(label: str, doc: Any, source: str, path: tuple[Any, ...]) -> int | None:
    """The ``cores`` of a task's ``resources``: a whole number of at least 1, or None."""
    resources = _typed(doc, source, path, dict, {})
    for key in resources:
        if key not in _RESOURCE_KEYS:
            valid = ", ".join(_RESOURCE_KEYS)
            message = f"task {label!r}: unknown resource {key!r}; valid resources: {valid}"
            raise config_error(source, doc, (*path, key), message)
    cores = resources.get("cores")
    if cores is None:
        return None
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        message = (
            f"task {label!r}: resources.cores must be a whole number of at least 1, not {cores!r}"
        )
        raise config_error(source, doc, (*path, "cores"), message)
    return cores


def _check(pipeline: Pipeline) -> None:
    """A loaded file has tasks, and its subsets name tasks (and are not named like one)."""
    if not pipeline.tasks:
        raise ConfigError(f"{pipeline.source}: the pipeline has no tasks")
    for subset in pipeline.subsets.values():
        if subset.name in pipeline.tasks:
            raise ConfigError(f"{subset.where}: subset {subset.name!r} has the name of a task")
        unknown = [label for label in subset.tasks if label not in pipeline.tasks]
        if unknown:
            raise ConfigError(
                f"{subset.where}: subset {subset.name!r} names unknown task(s) "
                f"{', '.join(map(repr, unknown))}; labels: {', '.join(pipeline.tasks)}"
            )


def _resolve_task(
    spec: TaskSpec, parameters: Mapping[str, Any], universe: DimensionUniverse
) -> TaskDef:
    """Import, configure and connect one task."""
    where = f"{spec.where}: task {spec.label!r}"
    task_class = import_task_class(spec.class_path, where, pipeline_directory(spec.source))
    config = _build(spec, task_class.ConfigClass, parameters)
    connections = connect(spec.label, task_class, config, universe, spec.where)
    cores = spec.cores or 1
    return TaskDef(spec.label, task_class, spec.class_path, config, connections, spec.source, cores)


def _build(
    spec: TaskSpec, config_class: type[PipelineTaskConfig], parameters: Mapping[str, Any]
) -> PipelineTaskConfig:
    """Validate the config from its layers; errors name the layer that caused them."""
    layers = []
    for layer in spec.layers:
        values = {}
        for key, value in layer.values.items():
            prefix = f"{layer.where(key)}: task {spec.label!r}: config field {key!r}"
            if str(key).split(".")[0] not in config_class.model_fields:
                valid = ", ".join(config_class.model_fields)
                raise ConfigError(f"{prefix}: unknown config field; valid fields: {valid}")
            values[key] = _substitute(value, parameters, prefix)
        layers.append((layer, values))
    everything = [values for _, values in layers]
    overrides = [layer.source for layer, _ in layers if layer.document is None]
    from_files = [values for layer, values in layers if layer.document is not None]
    try:
        return build_config(config_class, everything, f"{spec.where}: task {spec.label!r}")
    except ConfigError:
        if not overrides or not _validates(config_class, from_files):
            raise
    # The files alone are valid, so the overrides are to blame: fail again, naming them.
    return build_config(config_class, everything, f"{', '.join(overrides)}: task {spec.label!r}")


def _validates(config_class: type[PipelineTaskConfig], layers: list[dict[str, Any]]) -> bool:
    """Whether these layers alone make a valid config."""
    try:
        build_config(config_class, layers, "")
    except ConfigError:
        return False
    return True


def _substitute(value: Any, parameters: Mapping[str, Any], where: str) -> Any:
    """Replace every ``"parameters.NAME"`` string inside ``value`` with NAME's value."""
    if isinstance(value, str) and value.startswith(_PARAMETER):
        name = value[len(_PARAMETER) :]
        if name not in parameters:
            known = ", ".join(parameters) or "(none)"
            raise ConfigError(f"{where}: unknown parameter {name!r}; parameters: {known}")
        return parameters[name]
    if isinstance(value, Mapping):
        return {k: _substitute(v, parameters, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, parameters, where) for v in value]
    return value
