"""Resolving pipelines: task classes, configs, the dataset-type flow, order and JSON."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from quanta.core import DimensionUniverse
from quanta.core.errors import ConfigError, UnknownNameError
from quanta.pipe.examples import ScaleConfig, ScaleTask
from quanta.pipe.pipeline import Pipeline
from quanta.pipe.resolved import ResolvedPipeline

UNIVERSE = DimensionUniverse.default()
SCALE = "quanta.pipe.examples.ScaleTask"
SUMMARY = "quanta.pipe.examples.SummaryTask"
TASKS = "pipe.validation_tasks"


def load(tmp_path: Path, text: str) -> tuple[Path, Pipeline]:
    """Write ``text`` as a pipeline file and load it."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text))
    return path, Pipeline.load(path)


def resolve_error(tmp_path: Path, text: str) -> tuple[Path, str]:
    """The message of the ``ConfigError`` that resolving ``text`` raises."""
    path, pipeline = load(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        pipeline.resolve(UNIVERSE)
    return path, str(err.value)


def test_w1_resolves_with_flow_and_implicit_dataset_types() -> None:
    resolved = Pipeline.load("w1").resolve(UNIVERSE)
    assert resolved.labels == ["calexp", "summary"]
    calexp = resolved.task("calexp")
    assert calexp.task_class is ScaleTask
    assert isinstance(calexp.config, ScaleConfig)
    assert calexp.class_path == SCALE and Path(calexp.source).name == "w1.yaml"
    assert calexp.dimensions.required == ("instrument", "detector", "exposure")
    assert calexp.config_dataset_type.name == "calexp_config"
    assert calexp.config_dataset_type.dimensions == UNIVERSE.empty()
    assert calexp.metadata_dataset_type.dimensions == calexp.dimensions
    assert calexp.log_dataset_type.storage_class == "StructuredData"
    assert "calexp_log" not in calexp.connections.connections
    assert set(resolved.dataset_types) == {
        "raw",
        "calexpLike",
        "summary",
        *(
            f"{label}_{kind}"
            for label in ("calexp", "summary")
            for kind in ("config", "metadata", "log")
        ),
    }
    assert resolved.producers["calexpLike"] == "calexp"
    assert resolved.producers["summary_metadata"] == "summary"
    assert "raw" not in resolved.producers
    assert resolved.consumers == {"raw": ["calexp"], "calexpLike": ["summary"]}
    assert resolved.overall_inputs == ["raw"]
    assert resolved.prerequisites == []
    assert resolved.upstream_labels("summary") == ["calexp"]
    assert resolved.upstream_labels("calexp") == []
    assert isinstance(calexp.make_task(), ScaleTask)
    with pytest.raises(UnknownNameError, match="labels: calexp, summary"):
        resolved.task("nope")


def test_topological_order_is_stable_in_file_order(tmp_path: Path) -> None:
    _, pipeline = load(
        tmp_path,
        f"""\
        tasks:
          summary: {SUMMARY}
          forward: {TASKS}.ForwardTask
          calexp: {SCALE}
        """,
    )
    assert pipeline.resolve(UNIVERSE).labels == ["forward", "calexp", "summary"]


def test_config_renames_change_the_flow(tmp_path: Path) -> None:
    _, pipeline = load(
        tmp_path,
        f"""\
        tasks:
          calexp:
            class: {SCALE}
            config:
              connections: {{calexp: calexpOther}}
          summary: {SUMMARY}
        """,
    )
    resolved = pipeline.resolve(UNIVERSE)
    assert resolved.producers["calexpOther"] == "calexp"
    assert resolved.overall_inputs == ["raw", "calexpLike"]
    assert resolved.upstream_labels("summary") == []


def test_json_round_trip_keeps_order_classes_and_configs() -> None:
    pipeline = Pipeline.load("w1").with_overrides([("calexp", "scale", 3)])
    resolved = pipeline.resolve(UNIVERSE)
    data = json.loads(json.dumps(resolved.to_json()))
    assert data["tasks"][0]["config"]["scale"] == 3.0
    rebuilt = ResolvedPipeline.from_json(data, UNIVERSE)
    assert rebuilt.labels == resolved.labels
    assert rebuilt.description == resolved.description
    for before, after in zip(resolved.tasks, rebuilt.tasks, strict=True):
        assert after.task_class is before.task_class
        assert after.config == before.config
        assert after.connections == before.connections
        assert after.source == before.source
    assert rebuilt.producers == resolved.producers
    assert rebuilt.dataset_types == resolved.dataset_types


def test_from_json_with_a_bad_class_is_a_config_error() -> None:
    data = Pipeline.load("w1").resolve(UNIVERSE).to_json()
    data["tasks"][1]["class"] = "quanta.pipe.examples.Gone"
    with pytest.raises(ConfigError, match=r"saved pipeline .*task 'summary'.*'Gone'"):
        ResolvedPipeline.from_json(data, UNIVERSE)


@pytest.mark.parametrize(
    ("class_path", "expected"),
    [
        ("no_such_module_xyz.Task", "cannot import module 'no_such_module_xyz'"),
        ("quanta.pipe.examples.ScaleTaskk", "has no attribute 'ScaleTaskk'"),
        (f"{TASKS}.NotATask", "is not a PipelineTask subclass"),
        (f"{TASKS}.DETECTOR", "is not a PipelineTask subclass"),
        ("ScaleTask", "is not a dotted path"),
    ],
)
def test_bad_task_class_names_file_line_label_and_class(
    tmp_path: Path, class_path: str, expected: str
) -> None:
    path, message = resolve_error(
        tmp_path, f"tasks:\n  calexp: {SCALE}\n  other:\n    class: {class_path}\n"
    )
    assert message.startswith(f"{path}:4: task 'other': ")
    assert class_path in message
    assert expected in message


def test_cycle_names_the_tasks_and_dataset_types(tmp_path: Path) -> None:
    path, message = resolve_error(
        tmp_path,
        f"""\
        tasks:
          calexp: {SCALE}
          fwd: {TASKS}.ForwardTask
          back: {TASKS}.BackwardTask
        """,
    )
    assert message.startswith(f"{path}: tasks 'back', 'fwd' form a cycle: ")
    assert "-[alpha]->" in message and "-[beta]->" in message


def test_a_task_reading_its_own_output_is_a_cycle(tmp_path: Path) -> None:
    _, message = resolve_error(
        tmp_path,
        f"""\
        tasks:
          fwd:
            class: {TASKS}.ForwardTask
            config:
              connections: {{source: beta}}
        """,
    )
    assert "tasks 'fwd' form a cycle: 'fwd' -[beta]-> 'fwd'" in message


def test_two_tasks_writing_one_dataset_type(tmp_path: Path) -> None:
    path, message = resolve_error(
        tmp_path, f"tasks:\n  first: {TASKS}.ForwardTask\n  second: {TASKS}.ForwardTask\n"
    )
    assert message.startswith(f"{path}: task 'first' (target) and task 'second' (target)")
    assert "both write dataset type 'beta'" in message
    _, pipeline = load(
        tmp_path,
        f"""\
        tasks:
          first: {TASKS}.ForwardTask
          second:
            class: {TASKS}.ForwardTask
            config: {{connections: {{target: gamma}}}}
        """,
    )
    assert pipeline.resolve(UNIVERSE).producers["gamma"] == "second"


def test_a_connection_clashing_with_an_implicit_dataset_type(tmp_path: Path) -> None:
    _, message = resolve_error(
        tmp_path,
        f"""\
        tasks:
          calexp: {SCALE}
          fwd:
            class: {TASKS}.ForwardTask
            config: {{connections: {{target: calexp_log}}}}
        """,
    )
    assert "dataset type 'calexp_log'" in message
    assert "task 'calexp' (implicit log)" in message and "task 'fwd'" in message


def test_single_input_with_more_dimensions_than_the_task(tmp_path: Path) -> None:
    path, message = resolve_error(tmp_path, f"tasks:\n  wide: {TASKS}.WideInputTask\n")
    assert message.startswith(f"{path}:2: task 'wide', connection 'raw': ")
    assert "exposure" in message and "multiple=True" in message


def test_one_dataset_type_declared_two_ways(tmp_path: Path) -> None:
    path, message = resolve_error(
        tmp_path, f"tasks:\n  calexp: {SCALE}\n  table: {TASKS}.TableRawTask\n"
    )
    assert message.startswith(f"{path}: dataset type 'raw' is defined differently by ")
    assert "task 'calexp' connection 'raw'" in message
    assert "task 'table' connection 'raw'" in message
    assert "storage_class NumpyArray != ArrowTable" in message


def test_a_produced_prerequisite(tmp_path: Path) -> None:
    path, message = resolve_error(
        tmp_path, f"tasks:\n  calexp: {SCALE}\n  check: {TASKS}.CalexpPrerequisiteTask\n"
    )
    assert message.startswith(f"{path}: task 'check' connection 'calexp': prerequisite input")
    assert "'calexpLike' is written by task 'calexp'" in message


def test_prerequisites_are_listed_when_nobody_produces_them(tmp_path: Path) -> None:
    _, pipeline = load(tmp_path, f"tasks:\n  check: {TASKS}.CalexpPrerequisiteTask\n")
    resolved = pipeline.resolve(UNIVERSE)
    assert resolved.prerequisites == ["calexpLike"]
    assert resolved.overall_inputs == []
    assert resolved.consumers["calexpLike"] == ["check"]


def test_config_typo_names_file_line_task_and_field(tmp_path: Path) -> None:
    path, message = resolve_error(
        tmp_path,
        f"""\
        tasks:
          calexp:
            class: {SCALE}
            config:
              offset: 2
              scal: 2
        """,
    )
    assert message.startswith(f"{path}:6: task 'calexp': config field 'scal': unknown config")
    assert "valid fields: connections, scale, offset" in message


def test_config_type_error_names_file_task_and_field(tmp_path: Path) -> None:
    path, message = resolve_error(
        tmp_path, f"tasks:\n  calexp:\n    class: {SCALE}\n    config: {{scale: big}}\n"
    )
    assert message.startswith(f"{path}:3: task 'calexp': config field 'scale': ")
    assert "number" in message
