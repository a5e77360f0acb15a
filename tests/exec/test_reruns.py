"""Continuing and redoing runs without mixing products: resume checks, output chain inputs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exec.conftest import PAIRS_PIPELINE, PIPELINE
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.errors import ConflictError
from quanta.exec import ExecutionSettings, InlineExecutor
from quanta.exec.workflow import run_pipeline
from quanta.graph.builder import EmptyGraphError
from quanta.graph.output_checks import RunMismatchError
from quanta.graph.planning import RunRequest, plan
from repo_data import INSTRUMENT


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
    repo: Butler, caplog: pytest.LogCaptureFixture
) -> None:
    """On both databases: a forced resume replaces the run's config dataset."""
    run = first_run(repo, ("calexp", "fail_on", [[9, 0]]))
    request = RunRequest("out", str(PIPELINE), ["raw"], overrides=[("calexp", "scale", 3.0)])
    resume = ExecutionSettings(resume=True)
    with pytest.raises(
        RunMismatchError,
        match=rf"cannot continue run '{run}': task calexp config differs in fail_on, scale; "
        "use --force",
    ):
        run_pipeline(repo, request, resume, executor=InlineExecutor())
    assert calexp_config(repo, run)["fail_on"] == [[9, 0]]
    with caplog.at_level(logging.WARNING, logger="quanta.exec"):
        report = run_pipeline(
            repo,
            request,
            ExecutionSettings(resume=True, force=True),
            executor=InlineExecutor(),
        )
    assert report.ok and report.run == run
    # The stored config is the one the quanta run from now on used, and a warning says so.
    config = calexp_config(repo, run)
    assert config["fail_on"] == [] and config["scale"] == 3.0
    assert "config field(s) fail_on, scale differ" in caplog.text
    assert len(repo.query_datasets("calexp_config", [run])) == 1


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


def outputs_in(butler: Butler, dataset_type: str, run: str) -> list[tuple[int, int]]:
    """(exposure, detector) or (0, detector) of the datasets of one type in one run."""
    refs = butler.registry.query_datasets(dataset_type, [run])
    return sorted((int(r.data_id.get("exposure", 0)), int(r.data_id["detector"])) for r in refs)


def test_extend_run_writes_into_an_older_run_of_the_chain(sqlite_repo: Butler) -> None:
    root = sqlite_repo.root
    args = ["run", root, "-p", PIPELINE, "-i", "raw", "-o", "out"]
    first = invoke(*args, "-d", "exposure IN (9, 10)")
    assert first.exit_code == 0, first.output
    older = first.stdout.split("run: ")[1].split(";")[0]
    assert invoke(*args).exit_code == 0
    chain = sqlite_repo.get_collection_chain("out")
    assert chain[1:] == [older, "raw"]
    extended = invoke(*args, "--extend-run", older)
    assert extended.exit_code == 0, extended.output
    assert f"run: {older}; output: out" in extended.stdout
    # Exposures 9 and 10 were there already (skipped), 11 and 12 are new; the chain's order
    # is unchanged.
    assert outputs_in(sqlite_repo, "calexpLike", older) == [
        (e, d) for e in (9, 10, 11, 12) for d in (0, 1)
    ]
    assert sqlite_repo.get_collection_chain("out") == chain
    not_a_run = invoke(*args, "--extend-run", "raw")
    assert not_a_run.exit_code == 2
    assert (
        "cannot extend 'raw': it is not a RUN of the output chain 'out'; "
        f"its runs: {chain[0]}, {older}" in not_a_run.stderr
    )
    both = invoke(*args, "--extend-run", older, "--resume")
    assert both.exit_code == 2 and "--extend-run names another" in both.stderr
    changed = invoke(*args, "--extend-run", older, "-c", "calexp:scale=5")
    assert changed.exit_code == 2 and "task calexp config differs in scale" in changed.stderr


def test_skip_existing_in_reads_the_outputs_found_there(sqlite_repo: Butler) -> None:
    first = first_run(sqlite_repo, ("calexp", "fail_on", [[9, 0]]))
    request = RunRequest("again", str(PIPELINE), ["raw"], skip_existing_in=["out"])
    graph = plan(sqlite_repo, request, resume=False)
    calexp, summary = graph.tasks
    assert [len(calexp), len(summary)] == [1, 1]
    assert calexp.data_ids.row(0) == (INSTRUMENT, 0, 9)
    assert "task 'calexp': 8 data ID rows; candidates {raw: 8}; 1 quanta; 7 done already" in (
        graph.explain()
    )
    inputs = graph.quantum(summary.first).inputs["calexp"]
    assert sorted((r.data_id["exposure"], r.run) for r in inputs) == [
        (9, graph.output_run), (10, first), (11, first), (12, first)
    ]  # fmt: skip
    report = run_pipeline(sqlite_repo, request, ExecutionSettings(), executor=InlineExecutor())
    assert report.ok
    (ref,) = sqlite_repo.registry.query_datasets("summary", [report.run])
    assert ref.data_id["detector"] == 0 and sqlite_repo.get(ref)["n_inputs"] == 4
    # Everything is done in both runs now: nothing left to build.
    nothing = RunRequest("third", str(PIPELINE), ["raw"], skip_existing_in=["out", "again"])
    with pytest.raises(
        EmptyGraphError, match=r"0 quanta; 8 done already; task 'summary'.* 0 quanta; 2 done"
    ):
        plan(sqlite_repo, nothing, resume=False)


def test_rerun_failed_redoes_failed_and_blocked_quanta(sqlite_repo: Butler, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    overrides = [("calexp", "once_on", [[10, 1]]), ("calexp", "once_marker", str(marker))]
    failed = first_run(sqlite_repo, *overrides)
    assert outputs_in(sqlite_repo, "summary", failed) == [(0, 0)]
    root = sqlite_repo.root
    result = invoke("run", root, "-o", "out", "--rerun-failed", failed)
    assert result.exit_code == 0, result.output
    rerun = result.stdout.split("run: ")[1].split(";")[0]
    assert rerun != failed
    # Only the failed quantum and the summary it blocked ran again, reading the rest.
    assert outputs_in(sqlite_repo, "calexpLike", rerun) == [(10, 1)]
    assert outputs_in(sqlite_repo, "summary", rerun) == [(0, 1)]
    (ref,) = sqlite_repo.registry.query_datasets("summary", [rerun])
    assert sqlite_repo.get(ref)["n_inputs"] == 4
    assert sqlite_repo.get_collection_chain("out") == [rerun, failed, "raw"]
    again = invoke("run", root, "-o", "out", "--rerun-failed", rerun)
    assert again.exit_code == 2 and "nothing to rerun" in again.stderr
    mixed = invoke("run", root, "-o", "out", "--rerun-failed", failed, "-i", "raw")
    assert mixed.exit_code == 2 and "cannot be combined with input collections" in mixed.stderr
    resumed = invoke("run", root, "-o", "out", "--rerun-failed", failed, "--resume")
    assert resumed.exit_code == 2 and "takes no --resume or --extend-run" in resumed.stderr
    alone = invoke("run", root, "-p", PIPELINE, "-i", "raw", "-o", "new", "--force")
    assert alone.exit_code == 2 and "--force goes with --resume or --extend-run" in alone.stderr


def test_qgraph_skip_existing_in_takes_comma_separated_collections(sqlite_repo: Butler) -> None:
    args = ["qgraph", sqlite_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "again"]
    fresh = invoke(*args, "--skip-existing-in", "raw")  # no output type registered yet
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout.startswith("10 quanta for run again/")
    first_run(sqlite_repo, ("calexp", "fail_on", [[9, 0]]))
    sqlite_repo.registry.register_run("empty")
    result = invoke(*args, "--skip-existing-in", "empty,out")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 quanta for run again/")
    assert "1 quanta; 7 done already" in result.stdout
    assert "1 quanta; 1 done already" in result.stdout


def test_a_saved_graph_resumes_only_with_its_runs_configs(
    sqlite_repo: Butler, tmp_path: Path
) -> None:
    run = first_run(sqlite_repo, ("calexp", "fail_on", [[9, 0]]))
    request = RunRequest("out", str(PIPELINE), ["raw"], save_qgraph=tmp_path / "g.json.gz")
    graph = plan(sqlite_repo, request, resume=True, force=True)
    assert graph.output_run == run
    args = ["run", sqlite_repo.root, "--qgraph", tmp_path / "g.json.gz", "--resume"]
    refused = invoke(*args)
    assert refused.exit_code == 2 and "task calexp config differs in fail_on" in refused.stderr
    other = invoke(*args[:-1], "--extend-run", "out/other")
    assert other.exit_code == 2 and "differs from the graph's run" in other.stderr
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0, forced.output


def test_done_quanta_are_matched_with_their_free_form_keys(sqlite_repo: Butler) -> None:
    request = RunRequest("pairs", str(PAIRS_PIPELINE), ["raw"])
    done = run_pipeline(sqlite_repo, request, ExecutionSettings(), executor=InlineExecutor())
    assert done.ok and done.counts["pairs"]["done"] == 4
    again = RunRequest("again", str(PAIRS_PIPELINE), ["raw"], skip_existing_in=["pairs"])
    with pytest.raises(EmptyGraphError, match=r"task 'pairs': .* 0 quanta; 4 done already"):
        plan(sqlite_repo, again, resume=False)
