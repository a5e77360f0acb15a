"""Exit codes that say whether everything ran: tasks left without quanta, failures, no work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exec.conftest import PIPELINE
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.graph.empty_tasks import EmptyTaskError
from quanta.graph.planning import RunRequest, plan
from repo_data import INSTRUMENT

#: Scale every raw, one quantum per group and detector, then one per detector.
GROUPS_PIPELINE = """\
tasks:
  calexp: exec.tasks.Scale
  groupStat: graph.tasks.PerGroup
  groupSummary: exec.group_tasks.GroupSummary
"""


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def groups_pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "groups.yaml"
    path.write_text(GROUPS_PIPELINE)
    return path


def define_groups(butler: Butler, system: str = "pairs") -> None:
    """Groups ``a`` (exposures 9, 10) and ``b`` (11, 12) of one group system."""
    butler.insert_dimension_records("group_system", [{"instrument": INSTRUMENT, "name": system}])
    butler.insert_dimension_records(
        "group", [{"instrument": INSTRUMENT, "group_system": system, "name": g} for g in "ab"]
    )
    members = {"a": (9, 10), "b": (11, 12)}
    butler.registry.insert_join_rows(
        "group_membership",
        [
            {"instrument": INSTRUMENT, "group_system": system, "group": g, "exposure": e,
             "position": i}
            for g, exposures in members.items()
            for i, e in enumerate(exposures)
        ],
    )  # fmt: skip


def test_task_without_groups_is_a_one_line_error(
    sqlite_repo: Butler, groups_pipeline: Path
) -> None:
    root = sqlite_repo.root
    for command in ("qgraph", "run"):
        result = invoke(command, root, "-p", groups_pipeline, "-i", "raw", "-o", "out")
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().splitlines() == [
            "error: task groupStat has no quanta: no group system exists in the repository; "
            "run define-groups (--allow-empty groupStat accepts an empty task)"
        ]
    # Nothing was written: no run, no output chain, no dataset of the pipeline.
    assert sqlite_repo.registry.find_collection("out") is None
    assert sqlite_repo.registry.query_collections("out*") == []


def test_group_system_missing_from_the_query_is_named(
    sqlite_repo: Butler, groups_pipeline: Path
) -> None:
    define_groups(sqlite_repo)
    args = ["qgraph", sqlite_repo.root, "-p", groups_pipeline, "-i", "raw", "-o", "out", "-d"]
    result = invoke(*args, "group.system = 'flatPairs'")
    assert result.exit_code == 2, result.output
    assert (
        "error: task calexp has no quanta: no group system named in the query exists; "
        "run define-groups" in result.stderr
    )
    good = invoke(*args, "group.system = 'pairs'")
    assert good.exit_code == 0, good.output
    assert "task 'groupStat': 8 data ID rows; candidates {members: 8}; 4 quanta" in good.stdout


def test_allow_empty_runs_the_rest_and_exits_0(sqlite_repo: Butler, groups_pipeline: Path) -> None:
    root = sqlite_repo.root
    args = ["-p", groups_pipeline, "-i", "raw"]
    result = invoke("run", root, *args, "-o", "out", "--allow-empty", "groupStat")
    assert result.exit_code == 0, result.output
    assert len(sqlite_repo.query_datasets("calexpLike", ["out"])) == 8
    # groupSummary, downstream of the allowed empty task, is allowed with it.
    assert sqlite_repo.query_datasets("groupSummary_config", ["out"]) != []
    unknown = invoke("qgraph", root, *args, "-o", "o2", "--allow-empty", "nope")
    assert unknown.exit_code == 2
    assert (
        "--allow-empty 'nope' names no task of the pipeline; tasks: calexp, groupStat, "
        "groupSummary" in unknown.stderr
    )


def test_task_after_an_empty_task_names_it(sqlite_repo: Butler, groups_pipeline: Path) -> None:
    define_groups(sqlite_repo)
    request = RunRequest(
        "out", str(groups_pipeline), ["raw"], where="group.system = 'pairs'", allow_empty=["calexp"]
    )
    assert [len(t) for t in plan(sqlite_repo, request, resume=False).tasks] == [8, 4, 2]
    # A where that leaves groupStat nothing: the first empty task is the one named.
    request = RunRequest(
        "out", str(groups_pipeline), ["raw"], where="group.system = 'pairs' AND exposure = 9"
    )
    with pytest.raises(
        EmptyTaskError,
        match="task groupStat has no quanta: every data ID was skipped: 2 with fewer than 2 raw",
    ):
        plan(sqlite_repo, request, resume=False)


def test_inputs_missing_from_the_collections_are_the_reason(sqlite_repo: Butler) -> None:
    sqlite_repo.registry.register_run("empty")
    request = RunRequest("out", str(PIPELINE), ["empty"])
    with pytest.raises(
        EmptyTaskError,
        match=r"task calexp has no quanta: no data ID has all of its inputs \(raw\) in empty",
    ):
        plan(sqlite_repo, request, resume=False)


def test_failures_exit_1_and_no_work_exits_0(sqlite_repo: Butler) -> None:
    args = ["run", sqlite_repo.root, "-p", PIPELINE, "-i", "raw"]
    no_work = invoke(*args, "-o", "a", "-c", "calexp:no_work_on=[[9, 0], [10, 1]]")
    assert no_work.exit_code == 0, no_work.output
    failed = invoke(*args, "-o", "b", "-c", "calexp:fail_on=[[9, 0]]")
    assert failed.exit_code == 1, failed.output
    assert "not everything ran" in failed.stdout
