"""``quanta check`` through the command line: output, ``--limit`` and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from check.conftest import WriteYaml
from exec.conftest import PIPELINE, put_raws
from quanta.cli.main import cli
from repo_data import make_repo

EXPECT = """\
datasets:
  calexpLike: {count: 8}
  summary:
    count: 2
    fields:
      n_inputs: {min: 4}
"""


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A SQLite repository with the execution tests' raws."""
    butler = make_repo(tmp_path / "repo")
    put_raws(butler)
    butler.close()
    yield butler.root


def _run(root: Path, *config: str) -> str:
    result = invoke("run", root, "-p", PIPELINE, "-i", "raw", "-o", "out", "--no-progress", *config)
    return result.stdout.split("run: ")[1].split(";")[0]


def test_a_complete_run_passes(root: Path, write_yaml: WriteYaml) -> None:
    run = _run(root)
    result = invoke("check", root, "out", "--expect", write_yaml(EXPECT))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"graphs checked: {run}",
        "4 expectations checked, 0 failed",
    ]


def test_each_problem_is_one_line_and_the_exit_code_is_1(root: Path, write_yaml: WriteYaml) -> None:
    run = _run(root, "-c", "calexp:fail_on=[[10, 0]]")
    result = invoke("check", root, "out", "--expect", write_yaml(EXPECT))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    data_id = "{instrument=Cam,detector=0,exposure=10}"
    assert lines[:4] == [
        "calexpLike: expected 8 datasets, found 7",
        "summary: expected 2 datasets, found 1",
        f"calexpLike {data_id}: predicted but missing in run {run}; quantum calexp {data_id} "
        "failed: RuntimeError: injected failure for exposure 10 detector 0",
        f"calexp_metadata {data_id}: predicted but missing in run {run}; quantum calexp "
        f"{data_id} failed: RuntimeError: injected failure for exposure 10 detector 0",
    ]
    assert len(lines) == 2 + 6 + 2
    assert lines[-2:] == [f"graphs checked: {run}", "4 expectations checked, 3 failed"]

    limited = invoke("check", root, "out", "--limit", "2")
    assert limited.exit_code == 1
    assert limited.stdout.splitlines()[2:] == [
        f"... and 4 more (predicted outputs of run {run})",
        f"graphs checked: {run}",
        "1 expectations checked, 1 failed",
    ]


def test_a_collection_without_graphs_checks_only_the_datasets(root: Path) -> None:
    result = invoke("check", root, "raw")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "no run in raw has a saved graph: predicted outputs not checked",
        "0 expectations checked, 0 failed",
    ]


def test_user_errors_exit_with_2_and_one_line(root: Path, write_yaml: WriteYaml) -> None:
    _run(root)
    bad = write_yaml("datasets:\n  summary:\n    count: 2\n    rows: 3\n")
    result = invoke("check", root, "out", "--expect", bad)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {bad}:4: datasets.summary: unknown key 'rows'; valid keys: count, min_count, "
        "max_count, min_rows, fields\n"
    )
    unknown = invoke("check", root, "nope")
    assert unknown.exit_code == 2
    assert unknown.stderr == "error: collection 'nope' does not exist\n"
    shipped = invoke("check", root, "out", "--expect", "calibration")
    assert shipped.exit_code == 2
    assert "no expectations file or shipped expectations 'calibration'" in shipped.stderr
    misfit = write_yaml("datasets:\n  summary: {min_rows: 1}\n")
    result = invoke("check", root, "out", "--expect", misfit)
    assert result.exit_code == 2
    assert f"error: {misfit}:2: min_rows needs a dataset type of storage class" in result.stderr
