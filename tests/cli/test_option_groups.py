"""Option groups and flag letters: ``-j`` is a worker count and ``-c`` a config override in
every command, ``run`` and ``qgraph`` get one typed request, and old spellings still work
for one release with a warning line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from quanta.cli.main import cli
from quanta.cli.option_groups import execution_options, graph_request_options
from quanta.cli.params import collections_option
from quanta.exec.driver import ExecutionSettings
from quanta.exec.executor_choice import ExecutorChoice
from quanta.graph.planning import RunRequest


def _commands(group: click.Group) -> list[click.Command]:
    """Every command of the CLI, subcommands of groups included."""
    found: list[click.Command] = []
    for command in group.commands.values():
        if isinstance(command, click.Group):
            found.extend(_commands(command))
        else:
            found.append(command)
    return found


def _short(command: click.Command, flag: str) -> list[click.Option]:
    return [
        p for p in command.params if isinstance(p, click.Option) and not p.hidden and flag in p.opts
    ]


def test_every_short_flag_means_one_thing_in_every_command() -> None:
    meanings: dict[str, set[str]] = {}
    for command in _commands(cli):
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    if len(opt) == 2:
                        meanings.setdefault(opt, set()).add(param.name or "")
    assert meanings["-j"] == {"jobs"}
    assert meanings["-c"] == {"overrides"}
    assert all(len(names) == 1 for names in meanings.values()), meanings


def _probe(*decorators: Any) -> tuple[click.Command, dict[str, Any]]:
    """A command with the given option groups that records what it was called with."""
    seen: dict[str, Any] = {}

    def body(**kwargs: Any) -> None:
        seen.update(kwargs)

    command = body
    for decorate in reversed(decorators):
        command = decorate(command)
    return click.command("probe")(command), seen


def test_run_options_become_one_request_and_typed_execution_settings(tmp_path: Path) -> None:
    command, seen = _probe(
        graph_request_options(save_flag="--save-qgraph", load=True), execution_options
    )
    saved = tmp_path / "g.json.gz"
    args = ["-p", "pipe.yaml", "-i", "a,b", "-i", "c", "-o", "out", "-d", "detector = 1"]
    args += ["--bind", "x=3", "-c", "isr:scale=2", "--save-qgraph", str(saved)]
    args += ["-j", "2", "--timeout", "5", "--retries", "1", "--cluster-by", "detector, exposure"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    request, settings, executor = seen["request"], seen["settings"], seen["executor"]
    assert set(seen) == {"request", "settings", "executor"}
    assert isinstance(request, RunRequest) and isinstance(settings, ExecutionSettings)
    assert request.inputs == ["a", "b", "c"] and request.output == "out"
    assert request.pipeline == "pipe.yaml" and request.where == "detector = 1"
    assert dict(request.binds) == {"x": 3} and request.save_qgraph == saved
    assert list(request.overrides) == [("isr", "scale", 2)]
    assert (settings.timeout, settings.retries) == (5.0, 1)
    assert settings.cluster_by == ("detector", "exposure")
    assert isinstance(executor, ExecutorChoice) and executor.name == "pool"


def test_bad_execution_options_are_refused_before_the_repository_is_opened(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "no-repo"
    args = ["run", repo, "-p", "p.yaml", "-i", "a", "-o", "o", "--executor", "parsl"]
    result = CliRunner().invoke(cli, [*map(str, args), "--timeout", "3"])
    assert result.exit_code == 2 and "cannot stop a quantum" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not repo.exists()
    command, seen = _probe(execution_options)
    result = CliRunner().invoke(command, ["--site", "local"])
    assert result.exit_code != 0 and seen == {}


def test_the_old_short_form_of_collections_still_works_with_a_warning() -> None:
    seen: dict[str, Any] = {}

    @click.command()
    @collections_option("Where to look.")
    def probe(collections: tuple[str, ...]) -> None:
        seen["collections"] = collections

    result = CliRunner().invoke(probe, ["--collections", "a", "-c", "b"])
    assert result.exit_code == 0
    assert seen["collections"] == ("a", "b")
    assert result.stderr.strip().splitlines() == [
        "warning: -c is deprecated and will be removed in the next release; use --collections"
    ]
    result = CliRunner().invoke(probe, ["--collections", "a"])
    assert result.stderr == "" and seen["collections"] == ("a",)


def test_a_required_collections_option_counts_the_old_spelling() -> None:
    @click.command()
    @collections_option("Where to look.", required=True)
    def probe(collections: tuple[str, ...]) -> None:
        click.echo(json.dumps(collections))

    assert CliRunner().invoke(probe, []).exit_code == 2
    result = CliRunner().invoke(probe, ["-c", "x"])
    assert result.exit_code == 0 and json.loads(result.stdout) == ["x"]


@pytest.mark.parametrize("flag", ["-j", "--jobs", "--processes"])
def test_demo_takes_its_worker_count_as_jobs(flag: str, tmp_path: Path) -> None:
    demo = cli.commands["demo"]
    context = demo.make_context("demo", [str(tmp_path / "d"), flag, "3"])
    params = dict(context.params)
    assert params.get("jobs") == 3 or params.get("deprecated_jobs") == 3
    assert _short(demo, "-j")[0].name == "jobs"
