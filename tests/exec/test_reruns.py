"""Continuing and redoing runs without mixing products: resume checks, output chain inputs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exec.conftest import PIPELINE
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.errors import ConflictError
from quanta.exec import ExecutionSettings, InlineExecutor
from quanta.exec.workflow import run_pipeline
from quanta.graph.output_checks import RunMismatchError
from quanta.graph.planning import RunRequest


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def first_run(butler: Butler, *overrides: tuple[str, str, object]) -> str:
    """Run the test pipeline into ``out``; the name of its run."""
    request = RunRequest("out", str(PIPELINE), ["raw"], overrides=list(overrides))
    report = run_pipeline(butler, request, ExecutionSettings(), executor=InlineExecutor())
    return report.run


def calexp_config(butler: Butler, run: str) -> dict:
    ref = butler.registry.find_dataset("calexp_config", {}, [run])
    assert ref is not None
    return dict(butler.get(ref))


def test_resume_with_changed_config_is_refused_unless_forced(
    sqlite_repo: Butler, caplog: pytest.LogCaptureFixture
) -> None:
    run = first_run(sqlite_repo, ("calexp", "fail_on", [[9, 0]]))
    request = RunRequest("out", str(PIPELINE), ["raw"], overrides=[("calexp", "scale", 3.0)])
    resume = ExecutionSettings(resume=True)
    with pytest.raises(
        RunMismatchError,
        match=rf"cannot continue run '{run}': task calexp config differs in fail_on, scale; "
        "use --force",
    ):
        run_pipeline(sqlite_repo, request, resume, executor=InlineExecutor())
    assert calexp_config(sqlite_repo, run)["fail_on"] == [[9, 0]]
    with caplog.at_level(logging.WARNING, logger="quanta.exec"):
        report = run_pipeline(
            sqlite_repo,
            request,
            ExecutionSettings(resume=True, force=True),
            executor=InlineExecutor(),
        )
    assert report.ok and report.run == run
    # The stored config is the one the quanta run from now on used, and a warning says so.
    config = calexp_config(sqlite_repo, run)
    assert config["fail_on"] == [] and config["scale"] == 3.0
    assert "config field(s) fail_on, scale differ" in caplog.text
    assert len(sqlite_repo.query_datasets("calexp_config", [run])) == 1


def test_resume_with_other_tasks_is_refused(sqlite_repo: Butler, tmp_path: Path) -> None:
    run = first_run(sqlite_repo)
    only_calexp = tmp_path / "calexp.yaml"
    only_calexp.write_text("tasks:\n  calexp: exec.tasks.Scale\n")
    other_class = tmp_path / "other.yaml"
    other_class.write_text(
        "tasks:\n  calexp: exec.tasks.Scale\n  summary: exec.group_tasks.GroupSummary\n"
    )
    root = sqlite_repo.root
    fewer = invoke("run", root, "-p", only_calexp, "-i", "raw", "-o", "out", "--resume")
    assert fewer.exit_code == 2, fewer.output
    assert fewer.stderr.strip().splitlines() == [
        f"error: cannot continue run '{run}': tasks differ (removed: summary); use --force to "
        "continue it anyway (its stored configs then become the new ones)"
    ]
    changed = invoke("run", root, "-p", other_class, "-i", "raw", "-o", "out", "--resume")
    assert changed.exit_code == 2, changed.output
    assert (
        "task summary is exec.group_tasks.GroupSummary, was quanta.pipe.examples.SummaryTask"
        in changed.stderr
    )
    same = invoke("run", root, "-p", PIPELINE, "-i", "raw", "-o", "out", "--resume")
    assert same.exit_code == 0, same.output


def test_output_chain_with_other_inputs_is_refused(sqlite_repo: Butler) -> None:
    first_run(sqlite_repo)
    sqlite_repo.registry.register_run("extra")
    chain = sqlite_repo.get_collection_chain("out")
    root = sqlite_repo.root
    for flags in ([], ["--resume"]):
        result = invoke("run", root, "-p", PIPELINE, "-i", "raw,extra", "-o", "out", *flags)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().splitlines() == [
            "error: output 'out' was made from inputs raw, not raw, extra; use a new output "
            "collection (mixing them would mix products)"
        ]
    graph = invoke("qgraph", root, "-p", PIPELINE, "-i", "extra,raw", "-o", "out")
    assert graph.exit_code == 2 and "made from inputs raw, not extra, raw" in graph.stderr
    assert sqlite_repo.get_collection_chain("out") == chain
    request = RunRequest("out", str(PIPELINE), ["raw"])
    report = run_pipeline(sqlite_repo, request, ExecutionSettings(), executor=InlineExecutor())
    assert report.ok and sqlite_repo.get_collection_chain("out")[1:] == chain
    with pytest.raises(ConflictError):
        run_pipeline(sqlite_repo, RunRequest("out", str(PIPELINE), ["extra"]), ExecutionSettings())
