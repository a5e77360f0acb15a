"""Fixtures for the CLI tests: a runner, and a small repository made through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.small_repo import Invoke, fill
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.cli.operations import open_butler


@pytest.fixture
def invoke() -> Invoke:
    """Run ``quanta`` with string arguments in-process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def run(*args: object, input: str | None = None) -> Result:
        return runner.invoke(cli, [str(a) for a in args], input=input)

    return run


@pytest.fixture
def cli_repo(tmp_path: Path, invoke: Invoke) -> Path:
    """A SQLite repository created with ``quanta create`` and filled through the Butler."""
    root = tmp_path / "repo"
    result = invoke("create", root)
    assert result.exit_code == 0, result.output
    with open_butler(root) as butler:
        fill(butler)
    return root


@pytest.fixture
def repo_butler(cli_repo: Path) -> Iterator[Butler]:
    """A Butler on ``cli_repo`` for checking what the commands did."""
    with open_butler(cli_repo) as butler:
        yield butler
