"""Progress off a terminal: plain ``quanta: STEP: DONE/TOTAL`` lines on stderr, never on
stdout; nothing for quick steps or with --no-progress; ``run``'s counts per task."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest
from click.testing import Result

from cli.small_repo import Invoke
from exec.conftest import DETECTORS, EXPOSURES, PIPELINE, put_raws
from quanta.core.status import QuantumStatus
from quanta.exec import progress
from quanta.exec.progress import Progress, StepProgress
from repo_data import make_repo

LINE = re.compile(r"^quanta: (?P<step>[a-z ]+): (?P<done>\d+)(/(?P<total>\d+))?$")


def progress_lines(result: Result) -> list[tuple[str, int, int | None]]:
    """The progress lines of stderr as (step, done, total); stdout must hold none."""
    assert "quanta:" not in result.stdout
    found = []
    for line in result.stderr.splitlines():
        if (match := LINE.match(line)) is not None:
            total = match["total"]
            found.append((match["step"], int(match["done"]), None if total is None else int(total)))
    return found


@pytest.fixture
def every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line at every reported item, so that small tests see them."""
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)


def test_simulate_writes_lines_on_stderr_up_to_the_total(
    invoke: Invoke, tmp_path: Path, every_call: None
) -> None:
    result = invoke("simulate", tmp_path / "sim", "--detectors", "1")
    assert result.exit_code == 0, result.output
    lines = progress_lines(result)
    assert lines, result.stderr
    steps = {step for step, _, _ in lines}
    assert steps == {"simulating exposures"}
    total = lines[-1][2]
    assert [done for _, done, _ in lines] == list(range(1, (total or 0) + 1))
    assert result.stdout.startswith("preset quick")

    quiet = invoke("simulate", tmp_path / "quiet", "--detectors", "1", "--no-progress")
    assert quiet.exit_code == 0, quiet.output
    assert progress_lines(quiet) == []


def test_quick_steps_print_no_line(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("verify", cli_repo)
    assert result.exit_code == 0, result.output
    assert progress_lines(result) == []


def test_verify_and_export_report_their_files(
    invoke: Invoke, cli_repo: Path, tmp_path: Path, every_call: None
) -> None:
    verified = invoke("verify", cli_repo, "--format", "json")
    assert verified.exit_code == 0, verified.output
    checked = progress_lines(verified)
    # The file records are streamed: no total, and the last line is written at the end.
    assert checked[-1] == ("checking files", 10, None)
    exported = invoke("export", cli_repo, tmp_path / "bundle", "--collections", "Cam/raw")
    assert exported.exit_code == 0, exported.output
    assert progress_lines(exported)[-1] == ("writing files", 8, 8)
    imported = invoke("create", tmp_path / "other")
    assert imported.exit_code == 0
    result = invoke("import", tmp_path / "other", tmp_path / "bundle")
    assert result.exit_code == 0, result.output
    ends = {step: (done, total) for step, done, total in progress_lines(result)}
    assert ends == {"checking files": (8, 8), "placing files": (8, 8)}


def test_run_shows_counts_per_task(invoke: Invoke, tmp_path: Path) -> None:
    butler = make_repo(tmp_path / "repo")
    put_raws(butler)
    butler.close()
    fail = "calexp:fail_on=[[10, 0]]"
    result = invoke("run", butler.root, "-p", PIPELINE, "-i", "raw", "-o", "out", "-c", fail)
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("quanta: ")]
    n = len(EXPOSURES) * len(DETECTORS)
    total = n + len(DETECTORS)
    assert line.startswith(f"quanta: {total}/{total} finished (")
    assert f"calexp {n - 1}/{n} (1 failed)" in line
    assert f"summary {len(DETECTORS) - 1}/{len(DETECTORS)} (1 blocked)" in line
    assert "quanta:" not in result.stdout


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, so that rich draws on it."""

    def isatty(self) -> bool:
        return True


def test_run_bar_on_a_terminal_has_a_row_per_task() -> None:
    stream = _Terminal()
    shown = Progress(5, True, stream, tasks={"isr": 3, "ptc": 2})
    per_task = {
        "isr": {QuantumStatus.DONE: 2, QuantumStatus.FAILED: 1},
        "ptc": {QuantumStatus.DONE: 1, QuantumStatus.BLOCKED: 1},
    }
    totals = {QuantumStatus.DONE: 3, QuantumStatus.FAILED: 1, QuantumStatus.BLOCKED: 1}
    shown.update(5, totals, per_task)
    shown.close(5, totals, per_task)
    text = stream.getvalue()
    rows = [
        " ".join(line.split()) for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).split("\n")
    ]
    assert any(row.startswith("isr 2 1 0 3") for row in rows), rows
    assert any(row.startswith("ptc 1 0 1 2") for row in rows), rows


def test_step_lines_without_a_total_end_at_close() -> None:
    stream = io.StringIO()
    steps = StepProgress(True, stream, seconds=3600.0)
    for done in range(5):
        steps("reading", done, None)
    steps.close()
    assert stream.getvalue() == ""  # a quick step prints nothing
    slow = StepProgress(True, stream, seconds=0.0)
    for done in range(3):
        slow("reading", done, None)
    slow("other", 0, 2)
    slow.close()
    assert stream.getvalue().splitlines() == ["quanta: reading: 1", "quanta: reading: 2"]


def test_bars_on_a_terminal_start_no_thread() -> None:
    """A quantum's maps fork only while the process has one thread, so the bars redraw
    when updated instead of from a refresh thread of their own."""
    before = threading.active_count()
    stream = _Terminal()
    steps = StepProgress(True, stream)
    steps("reading", 1, 4)
    shown = Progress(4, True, _Terminal(), tasks={"isr": 4})
    shown.update(4, {QuantumStatus.DONE: 4}, {"isr": {QuantumStatus.DONE: 4}})
    assert threading.active_count() == before
    assert "reading" in stream.getvalue()
    shown.close(4, {QuantumStatus.DONE: 4})
    steps.close()
