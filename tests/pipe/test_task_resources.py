"""``resources: {cores: N}`` of a pipeline task: parsed with its place in the file,
merged when a label is defined again, kept in a saved graph and given to each job."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.core.errors import ConfigError
from quanta.core.universe import DimensionUniverse
from quanta.pipe.pipeline import Pipeline
from quanta.pipe.resolved import ResolvedPipeline

TASK = "quanta.pipe.examples.SummaryTask"


def _load(tmp_path: Path, text: str, name: str = "p.yaml") -> Pipeline:
    path = tmp_path / name
    path.write_text(text)
    return Pipeline.load(path)


def test_cores_are_read_and_default_to_one(tmp_path: Path) -> None:
    text = (
        f"tasks:\n  wide:\n    class: {TASK}\n    resources: {{cores: 3}}\n"
        "  plain: quanta.pipe.examples.ScaleTask\n"
    )
    resolved = _load(tmp_path, text).resolve(DimensionUniverse.default())
    cores = {task.label: task.cores for task in resolved.tasks}
    assert cores == {"wide": 3, "plain": 1}


def test_cores_survive_the_saved_pipeline(tmp_path: Path) -> None:
    universe = DimensionUniverse.default()
    text = f"tasks:\n  wide:\n    class: {TASK}\n    resources: {{cores: 2}}\n"
    saved = _load(tmp_path, text).resolve(universe).to_json()
    assert [task.cores for task in ResolvedPipeline.from_json(saved, universe).tasks] == [2]


def test_a_later_definition_keeps_or_replaces_the_cores(tmp_path: Path) -> None:
    _load(tmp_path, f"tasks:\n  wide:\n    class: {TASK}\n    resources: {{cores: 2}}\n", "a.yaml")
    keeps = _load(tmp_path, "imports: [a.yaml]\ntasks:\n  wide:\n    config: {}\n", "b.yaml")
    changes = _load(
        tmp_path, "imports: [a.yaml]\ntasks:\n  wide:\n    resources: {cores: 4}\n", "c.yaml"
    )
    universe = DimensionUniverse.default()
    assert [t.cores for t in keeps.resolve(universe).tasks] == [2]
    assert [t.cores for t in changes.resolve(universe).tasks] == [4]


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ("{cores: 0}", "resources.cores must be a whole number of at least 1, not 0"),
        ("{cores: two}", "resources.cores must be a whole number of at least 1, not 'two'"),
        ("{cores: true}", "resources.cores must be a whole number of at least 1, not True"),
        ("{cores: 1.5}", "resources.cores must be a whole number of at least 1, not 1.5"),
        ("{memory: 4}", "unknown resource 'memory'; valid resources: cores"),
        ("[2]", "resources"),
    ],
)
def test_bad_resources_name_the_line(tmp_path: Path, resources: str, message: str) -> None:
    text = f"tasks:\n  wide:\n    class: {TASK}\n    resources: {resources}\n"
    with pytest.raises(ConfigError, match=r"p\.yaml:4: .*") as err:
        _load(tmp_path, text)
    assert message in str(err.value)
