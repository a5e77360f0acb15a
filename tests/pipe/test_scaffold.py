"""``quanta new-task``: the names it derives, what it refuses, and that what it writes works:
the generated test passes and the pipeline resolves from another directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from quanta.cli.main import cli
from quanta.core import DimensionUniverse
from quanta.core.errors import ConfigError
from quanta.pipe import Pipeline
from quanta.pipe.scaffold import TaskNames, task_files, write_task


@pytest.mark.parametrize("name", ["FlatStats", "flat_stats", "flatStats", "Flat_Stats"])
def test_every_spelling_gives_the_same_names(name: str) -> None:
    assert TaskNames.from_name(name) == TaskNames(
        "flat_stats", "FlatStats", "flatStats", "Flat stats"
    )


def test_acronyms_and_digits_stay_in_their_word() -> None:
    assert TaskNames.from_name("PTCStats2").module == "ptc_stats2"
    assert TaskNames.from_name("PTCStats2").prefix == "PtcStats2"


@pytest.mark.parametrize("name", ["2stats", "flat-stats", "flat stats", "", "../x", "class"])
def test_names_that_cannot_be_modules_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="task name"):
        TaskNames.from_name(name)


def test_the_files_agree_on_their_names() -> None:
    files = task_files(TaskNames.from_name("DarkLevel"))
    assert sorted(map(str, files)) == [
        "dark_level.yaml",
        "dark_level/__init__.py",
        "dark_level/tasks.py",
        "tests/test_dark_level.py",
    ]
    assert "class DarkLevelTask(PipelineTask)" in files[Path("dark_level/tasks.py")]
    assert "class: dark_level.tasks.DarkLevelTask" in files[Path("dark_level.yaml")]
    assert "darkLevelSummary" in files[Path("dark_level/tasks.py")]
    assert not any("$" in text for text in files.values())


def test_existing_files_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_flat_stats.py").write_text("mine\n")
    result = CliRunner().invoke(cli, ["new-task", "FlatStats", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "test_flat_stats.py already exist" in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["test_flat_stats.py", "tests"]
    assert (tmp_path / "tests" / "test_flat_stats.py").read_text() == "mine\n"
    write_task("FlatStats", tmp_path, overwrite=True)
    assert "FlatStatsTask" in (tmp_path / "tests" / "test_flat_stats.py").read_text()


def test_a_name_that_is_already_a_module_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new-task", "json", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "'json' is already importable" in result.output
    assert not any(tmp_path.iterdir())


def test_the_generated_test_passes(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new-task", "BiasLevel", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_module_is_found_beside_the_pipeline_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_task("GainCheck", tmp_path / "far" / "away")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    resolved = Pipeline.load("far/away/gain_check.yaml").resolve(DimensionUniverse.default())
    assert resolved.task("gainCheck").task_class.__name__ == "GainCheckTask"
    assert str((tmp_path / "far" / "away").resolve()) in sys.path


def test_a_module_beside_no_pipeline_is_still_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_task("LostTask", tmp_path / "elsewhere")
    pipeline = tmp_path / "lost.yaml"
    pipeline.write_text("tasks:\n  lost: lost_task.tasks.LostTaskTask\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(ConfigError, match=r"lost.yaml:2: task 'lost'.*cannot import module"):
        Pipeline.load(pipeline).resolve(DimensionUniverse.default())
