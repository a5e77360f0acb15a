"""The ``quanta`` group: help, version, and how errors reach the user."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest

from cli.small_repo import Invoke
from quanta.cli import operations
from quanta.cli.main import cli

COMMANDS = {
    "create",
    "register-dataset-type",
    "query-collections",
    "query-dataset-types",
    "query-datasets",
    "query-data-ids",
    "query-dimension-records",
    "collection-chain",
    "certify",
    "decertify",
    "associate",
    "disassociate",
    "prune-datasets",
    "remove-collections",
    "remove-runs",
    "verify",
    "transfer",
    "run",
    "report",
    "provenance",
    "qgraph",
    "pipeline",
    "register-instrument",
    "ingest-raws",
    "new-task",
    "scan",
    "define-visits",
    "define-groups",
    "write-curated-calibrations",
    "demo",
    "simulate",
    "check",
    "compare",
    "sites",
    "export",
    "import",
    "ingest-files",
    "convert",
    "demo-legacy",
}


def test_help_lists_every_command(invoke: Invoke) -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line}
    assert listed == COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_has_help(name: str) -> None:
    command = cli.commands[name]
    assert command.help
    assert len(command.get_short_help_str(limit=45)) < 45, "short help should not be truncated"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help text"


def test_version_is_the_installed_one(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"quanta {version('quanta')}\n"


def quanta_executable() -> str:
    """The installed console script, next to this interpreter or on PATH."""
    beside = Path(sys.executable).with_name("quanta")
    found = str(beside) if beside.exists() else shutil.which("quanta")
    assert found, "the quanta console script is not installed"
    return found


def test_entry_point_turns_a_bad_where_into_one_line_and_exit_2(cli_repo: Path) -> None:
    proc = subprocess.run(
        [quanta_executable(), "query-datasets", str(cli_repo), "raw", "--where", "exposure.id >"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ")
    assert "column" in proc.stderr and "Traceback" not in proc.stderr


def test_click_usage_errors_keep_exit_code_2(invoke: Invoke) -> None:
    result = invoke("query-datasets")
    assert result.exit_code == 2
    assert "Missing argument 'REPO'" in result.stderr


def test_a_bug_keeps_its_traceback(
    invoke: Invoke, cli_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(operations, "dataset_type_rows", broken)
    result = invoke("query-dataset-types", cli_repo)
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
    assert "error:" not in result.stderr


def test_a_user_error_in_a_subprocess_is_not_a_traceback_even_verbose(cli_repo: Path) -> None:
    proc = subprocess.run(
        [quanta_executable(), "-vv", "query-datasets", str(cli_repo), "nosuchtype"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "error: unknown dataset type 'nosuchtype'; known: bias, raw"
    )
