"""Loading pipeline YAML: names and paths, imports, parameters, subsets, overrides, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from quanta.core import DimensionUniverse
from quanta.core.errors import ConfigError, UnknownNameError
from quanta.pipe.config import parse_override
from quanta.pipe.pipeline import Pipeline, shipped_pipelines

SCALE = "quanta.pipe.examples.ScaleTask"
SUMMARY = "quanta.pipe.examples.SummaryTask"
BUSY = "quanta.pipe.examples.BusyTask"
UNIVERSE = DimensionUniverse.default()

TWO_TASKS = f"""\
description: two tasks
parameters:
  scale: 4.5
tasks:
  calexp:
    class: {SCALE}
    config:
      scale: parameters.scale
      offset: -1
  summary: {SUMMARY}
subsets:
  step1:
    description: first step
    tasks: [calexp]
  step2:
    tasks: [summary]
"""


def write(directory: Path, name: str, text: str) -> Path:
    """Write a pipeline file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def configs(pipeline: Pipeline) -> dict[str, dict]:
    """Each task's resolved config as a plain dict."""
    return {t.label: t.config.model_dump() for t in pipeline.resolve(UNIVERSE).tasks}


def test_shipped_pipelines_load_by_name() -> None:
    assert {"w1", "w1_busy"} <= set(shipped_pipelines())
    assert shipped_pipelines() == sorted(shipped_pipelines())
    w1 = Pipeline.load("w1")
    assert w1.labels == ["calexp", "summary"]
    assert Path(w1.source).name == "w1.yaml"
    assert w1.tasks["calexp"].class_path == SCALE
    assert "W1" in w1.description


def test_shipped_w1_busy_imports_w1_and_replaces_the_calexp_class() -> None:
    busy = Pipeline.load("w1_busy")
    assert busy.tasks["calexp"].class_path == BUSY
    assert busy.tasks["summary"].class_path == SUMMARY
    assert configs(busy)["calexp"]["work_ms"] == 50.0
    assert set(busy.subsets) == {"step1", "step2"}


def test_unknown_name_lists_the_shipped_pipelines() -> None:
    names = ", ".join(shipped_pipelines())
    with pytest.raises(ConfigError, match=rf"'nope'.*shipped pipelines: {names}$"):
        Pipeline.load("nope")


def test_load_by_path_string_path_object_and_suffixless_file(tmp_path: Path) -> None:
    path = write(tmp_path, "two.yaml", TWO_TASKS)
    plain = write(tmp_path, "noext", TWO_TASKS)
    for ref in (str(path), path, str(plain)):
        pipeline = Pipeline.load(ref)
        assert pipeline.labels == ["calexp", "summary"]
        assert pipeline.description == "two tasks"


def test_missing_yaml_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        Pipeline.load(str(tmp_path / "missing.yaml"))


def test_short_form_and_parameters(tmp_path: Path) -> None:
    pipeline = Pipeline.load(write(tmp_path, "two.yaml", TWO_TASKS))
    assert pipeline.tasks["summary"].class_path == SUMMARY
    assert pipeline.tasks["summary"].layers == ()
    assert configs(pipeline)["calexp"] == {"connections": {}, "scale": 4.5, "offset": -1.0}


def test_dotted_and_nested_config_keys(tmp_path: Path) -> None:
    text = f"""\
    tasks:
      calexp:
        class: {SCALE}
        config:
          connections.raw: rawRenamed
          offset: 3
    """
    config = configs(Pipeline.load(write(tmp_path, "p.yaml", text)))["calexp"]
    assert config["connections"] == {"raw": "rawRenamed"}
    assert config["offset"] == 3.0


def test_unknown_parameter_names_file_task_field_and_parameter(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", TWO_TASKS.replace("parameters.scale", "parameters.sclae"))
    with pytest.raises(ConfigError) as err:
        Pipeline.load(path).resolve(UNIVERSE)
    message = str(err.value)
    assert f"{path}:8:" in message
    assert "'calexp'" in message and "'scale'" in message and "'sclae'" in message
    assert "parameters: scale" in message


def test_imports_merge_and_this_file_wins(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", TWO_TASKS)
    (tmp_path / "sub").mkdir()
    top = write(
        tmp_path / "sub",
        "top.yaml",
        """\
        parameters:
          scale: 7.0
        imports:
          - ../base.yaml
        tasks:
          calexp:
            config:
              offset: 0.5
        subsets:
          step1:
            tasks: [calexp, summary]
        """,
    )
    pipeline = Pipeline.load(top)
    assert pipeline.labels == ["calexp", "summary"]
    assert pipeline.description == "two tasks"
    assert pipeline.subsets["step1"].tasks == ("calexp", "summary")
    assert pipeline.subsets["step2"].tasks == ("summary",)
    # The imported task keeps its class and its config, with this file's layer on top;
    # the imported "parameters.scale" takes this file's parameter value.
    assert configs(pipeline)["calexp"] == {"connections": {}, "scale": 7.0, "offset": 0.5}


def test_import_with_another_class_replaces_the_task(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", TWO_TASKS)
    top = write(
        tmp_path,
        "top.yaml",
        f"""\
        imports: [base.yaml]
        tasks:
          calexp:
            class: {BUSY}
            config:
              work_ms: 1
        """,
    )
    pipeline = Pipeline.load(top)
    assert pipeline.tasks["calexp"].class_path == BUSY
    config = configs(pipeline)["calexp"]
    assert (config["scale"], config["offset"], config["work_ms"]) == (2.0, 1.0, 1.0)


def test_import_of_a_shipped_name(tmp_path: Path) -> None:
    top = write(tmp_path, "top.yaml", "imports: [w1]\ntasks:\n  calexp:\n    config: {scale: 9}\n")
    pipeline = Pipeline.load(top)
    assert pipeline.labels == ["calexp", "summary"]
    assert configs(pipeline)["calexp"]["scale"] == 9.0


def test_import_cycle_names_the_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", f"imports: [b.yaml]\ntasks:\n  calexp: {SCALE}\n")
    b = write(tmp_path, "b.yaml", f"imports:\n  - a.yaml\ntasks:\n  summary: {SUMMARY}\n")
    with pytest.raises(ConfigError, match="cycle") as err:
        Pipeline.load(a)
    assert str(err.value).startswith(f"{b}:1: ")
    assert f"{a} -> {b} -> {a}" in str(err.value)


def test_self_import_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "self.yaml", f"imports: [self.yaml]\ntasks:\n  calexp: {SCALE}\n")
    with pytest.raises(ConfigError, match="imports form a cycle"):
        Pipeline.load(path)


def test_subset_and_label_selection_with_hash(tmp_path: Path) -> None:
    path = write(tmp_path, "two.yaml", TWO_TASKS)
    step1 = Pipeline.load(f"{path}#step1")
    assert step1.labels == ["calexp"]
    assert list(step1.subsets) == ["step1"]
    assert Pipeline.load(f"{path}#summary,calexp").labels == ["calexp", "summary"]
    assert Pipeline.load("w1#step2").labels == ["summary"]
    resolved = Pipeline.load(f"{path}#step2").resolve(UNIVERSE)
    assert resolved.overall_inputs == ["calexpLike"]


def test_unknown_selection_lists_labels_and_subsets(tmp_path: Path) -> None:
    path = write(tmp_path, "two.yaml", TWO_TASKS)
    with pytest.raises(UnknownNameError, match=r"'step3'; labels: calexp, summary; subsets: step1"):
        Pipeline.load(f"{path}#step3")
    with pytest.raises(ConfigError, match="names no task"):
        Pipeline.load(path).select([" "])


def test_cli_overrides_are_typed_and_applied_last(tmp_path: Path) -> None:
    pipeline = Pipeline.load(write(tmp_path, "two.yaml", TWO_TASKS))
    overridden = pipeline.with_overrides(
        [parse_override("calexp:scale=3"), parse_override("calexp:offset=0.25")]
    )
    config = configs(overridden)["calexp"]
    assert config["scale"] == 3.0 and isinstance(config["scale"], float)
    assert config["offset"] == 0.25
    assert configs(pipeline)["calexp"]["scale"] == 4.5  # the original is unchanged


def test_override_of_unknown_label_lists_labels(tmp_path: Path) -> None:
    pipeline = Pipeline.load(write(tmp_path, "two.yaml", TWO_TASKS))
    with pytest.raises(UnknownNameError, match=r"'calexb'.*labels: calexp, summary"):
        pipeline.with_overrides([("calexb", "scale", 1.0)])


def test_bad_override_value_is_blamed_on_the_override(tmp_path: Path) -> None:
    pipeline = Pipeline.load(write(tmp_path, "two.yaml", TWO_TASKS))
    with pytest.raises(ConfigError) as err:
        pipeline.with_overrides([parse_override("calexp:scale=big")]).resolve(UNIVERSE)
    assert str(err.value).startswith("override calexp:scale: task 'calexp': config field 'scale'")
    with pytest.raises(ConfigError, match=r"override calexp:scal: .*unknown config field"):
        pipeline.with_overrides([("calexp", "scal", 1)]).resolve(UNIVERSE)


def test_malformed_yaml_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", f"tasks:\n  calexp: {SCALE}\n  summary: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        Pipeline.load(path)
    assert str(err.value).startswith(f"{path}:4: ")


def test_unknown_top_level_key_names_line_and_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", f"description: x\ntaks:\n  calexp: {SCALE}\n")
    with pytest.raises(ConfigError) as err:
        Pipeline.load(path)
    assert str(err.value).startswith(f"{path}:2: unknown top-level key 'taks'; valid keys: ")


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (f"tasks:\n  calexp:\n    class: {SCALE}\n    conf: {{}}\n", 4, "unknown key 'conf'"),
        ("tasks:\n  calexp:\n    config: {scale: 1}\n", 2, "task 'calexp' has no 'class'"),
        (f"tasks:\n  cal-exp: {SCALE}\n", 2, "invalid task label 'cal-exp'"),
        ("tasks: [a, b]\n", 1, "tasks must be a mapping"),
        (f"tasks:\n  calexp:\n    class: {SCALE}\n    config: 3\n", 4, "config must be a mapping"),
        (f"tasks:\n  calexp: {SCALE}\nsubsets:\n  s:\n    tasks: [nope]\n", 4, "unknown task"),
        (f"tasks:\n  calexp: {SCALE}\nsubsets:\n  calexp:\n    tasks: []\n", 4, "name of a task"),
        ("description: only\n", None, "has no tasks"),
    ],
)
def test_malformed_entries_name_file_and_line(
    tmp_path: Path, text: str, line: int | None, expected: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        Pipeline.load(path)
    assert str(err.value).startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert expected in str(err.value)
