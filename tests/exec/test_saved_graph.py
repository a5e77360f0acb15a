"""Every executed graph is saved in the repository, where ``quanta check`` finds it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from exec.conftest import PIPELINE
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.io import load_graph
from quanta.graph.planning import RunRequest
from quanta.pipe.resolved import ResolvedPipeline


def _run(butler: Butler, resume: bool = False, force: bool = False, **calexp: object) -> str:
    overrides = [("calexp", name, value) for name, value in calexp.items()]
    request = RunRequest("out", str(PIPELINE), ["raw"], overrides=overrides)
    return run_pipeline(butler, request, ExecutionSettings(resume=resume, force=force)).run


def test_run_saves_its_graph_inside_the_repository(repo: Butler) -> None:
    run = _run(repo)
    path = repo.graph_path(run)
    assert path == repo.root / ".graphs" / f"{run}.json.gz"
    graph = load_graph(path, repo.universe)
    assert graph.output_run == run and len(graph) == 10
    predicted = graph.datasets["calexpLike"]
    stored = {ref.id.bytes for ref in repo.query_datasets("calexpLike", run)}
    assert {bytes(i) for i in predicted.ids} == stored
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_one_process_plans_and_executes_without_parsing_the_pipeline_again(
    repo: Butler, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the pipeline was parsed from JSON in the process that built it")

    monkeypatch.setattr(ResolvedPipeline, "from_json", refuse)
    report = run_pipeline(repo, RunRequest("out", str(PIPELINE), ["raw"]), ExecutionSettings())
    assert report.ok and report.counts["calexp"]["done"] == 8
    assert report.output == "out" and repo.get_collection_chain("out") == [report.run, "raw"]
    monkeypatch.undo()
    graph = load_graph(repo.graph_path(report.run), repo.universe)
    assert graph.header.pipeline.labels == ["calexp", "summary"]
    assert graph.header.run == report.run and graph.header.output == "out"


def test_verify_sees_no_orphan_in_saved_graphs(sqlite_repo: Butler) -> None:
    run = _run(sqlite_repo)
    assert sqlite_repo.graph_path(run).is_file()
    result = CliRunner().invoke(cli, ["verify", str(sqlite_repo.root)])
    assert result.exit_code == 0, result.output
    assert "orphans: 0" in result.stdout and "missing: 0" in result.stdout


def test_resumed_run_overwrites_its_graph(repo: Butler) -> None:
    run = _run(repo, fail_on=[[10, 0]])
    path = repo.graph_path(run)
    path.write_bytes(b"stale")
    assert _run(repo, resume=True, force=True) == run
    graph = load_graph(path, repo.universe)
    assert graph.output_run == run and len(graph) == 10


def test_removing_a_run_removes_its_graph(repo: Butler) -> None:
    run = _run(repo)
    repo.remove_runs([run])
    assert not repo.graph_path(run).exists()


@pytest.mark.parametrize(
    ("run", "parts"),
    [
        ("plain", ("plain.json.gz",)),
        ("u/me/20250101T000000Z", ("u", "me", "20250101T000000Z.json.gz")),
        ("a/./b", ("a", "%2E", "b.json.gz")),
        ("a/.hidden", ("a", ".hidden.json.gz")),
    ],
)
def test_graph_paths_keep_slashes_as_directories(
    sqlite_butler: Butler, run: str, parts: tuple[str, ...]
) -> None:
    assert sqlite_butler.graph_path(run) == sqlite_butler.root.joinpath(".graphs", *parts)


def test_graph_path_refuses_names_that_leave_the_directory(sqlite_butler: Butler) -> None:
    with pytest.raises(ValueError, match="invalid collection name"):
        sqlite_butler.graph_path("a/../../b")
