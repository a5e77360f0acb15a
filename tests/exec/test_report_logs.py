"""``quanta report --logs``: per-quantum provenance and log records, selected by task,
data ID and status.

The run fails ``calexp`` on exposure 10, detector 0, which blocks ``summary`` of
detector 0; the other 7 ``calexp`` and the ``summary`` of detector 1 are done.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exec.conftest import PAIRS_PIPELINE, PIPELINE
from exec.test_cli import invoke
from quanta.butler import Butler

FAILED = "calexp {instrument=Cam,detector=0,exposure=10}"
HEADER = re.compile(r"^== (\w+ \{[^}]*\}): (\w+) \((.*)\)$")


@pytest.fixture
def root(sqlite_repo: Butler) -> Path:
    """A repository whose output ``out`` holds one run with a failure and a blocked quantum
    (so ``report`` exits with 1 on it)."""
    result = invoke(
        "run", sqlite_repo.root, "-p", PIPELINE, "-i", "raw", "-o", "out",
        "-c", "calexp:fail_on=[[10, 0]]", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    return sqlite_repo.root


def headers(*args: object, code: int = 1) -> dict[str, str]:
    """The quanta ``report --logs`` shows, as ``{"<label> {<data ID>}": status}``; the
    report exits with ``code`` (1: the run has a failure)."""
    result = invoke("report", *args, "--logs")
    assert result.exit_code == code, result.output
    matches = (HEADER.match(line) for line in result.stdout.splitlines())
    return {m[1]: m[2] for m in matches if m}


def test_done_quantum_shows_its_log_records(root: Path) -> None:
    result = invoke(
        "report", root, "out", "--logs", "--task", "calexp",
        "--where", "exposure = 9 AND detector = 0",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("== ")))
    header = HEADER.match(lines[start])
    assert header is not None and header[2] == "done"
    assert header[1] == "calexp {instrument=Cam,detector=0,exposure=9}"
    assert re.fullmatch(r"attempts 1, host \S+, \d+\.\d\d s", header[3])
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO quanta\.task\.calexp: scaling exposure 9 detector 0",
        lines[start + 1],
    )
    assert len(lines) == start + 2


def test_failed_quantum_shows_error_and_traceback_and_blocked_its_reason(root: Path) -> None:
    result = invoke("report", root, "out", "--logs", "--status", "failed", "--status", "blocked")
    assert result.exit_code == 1, result.output
    text = result.stdout[result.stdout.index("\n== ") + 1 :]
    assert text.startswith(f"== {FAILED}: failed (attempts 1, host ")
    assert "\nerror: RuntimeError: injected failure for exposure 10 detector 0\n" in text
    assert "\n    Traceback (most recent call last):\n" in text
    # what the task logged before it raised is kept with the traceback
    assert "\n    log of the failed attempt:\n" in text
    assert "\n    INFO quanta.task.calexp: scaling exposure 10 detector 0\n" in text
    assert "\n== summary {instrument=Cam,detector=0}: blocked (attempts 0)\n" in text
    assert text.endswith(f"\nreason: blocked by failed quantum {FAILED}\n")


def test_task_where_and_status_select_quanta(root: Path) -> None:
    assert headers(root, "out", "--task", "summary") == {
        "summary {instrument=Cam,detector=0}": "blocked",
        "summary {instrument=Cam,detector=1}": "done",
    }
    by_detector = headers(root, "out", "--where", "detector = :d", "--bind", "d=1")
    assert len(by_detector) == 5 and all("detector=1" in quantum for quantum in by_detector)
    assert set(by_detector.values()) == {"done"}
    assert headers(root, "out", "--status", "failed") == {FAILED: "failed"}
    both = headers(root, "out", "--task", "calexp", "--task", "summary", "--where", "exposure = 10")
    assert both == {
        FAILED: "failed",
        "calexp {instrument=Cam,detector=1,exposure=10}": "done",
        "summary {instrument=Cam,detector=0}": "blocked",
        "summary {instrument=Cam,detector=1}": "done",
    }
    assert headers(root, "out", "--task", "calexp", "--status", "blocked") == {}


def test_where_keeps_every_quantum_of_a_data_id_with_free_form_keys(sqlite_repo: Butler) -> None:
    root = sqlite_repo.root
    ran = invoke("run", root, "-p", PAIRS_PIPELINE, "-i", "raw", "-o", "pairs", "--no-progress")
    assert ran.exit_code == 0, ran.output
    assert headers(root, "pairs", "--where", "detector = 1", code=0) == {
        "pairs {instrument=Cam,detector=1,pair=11+12}": "done",
        "pairs {instrument=Cam,detector=1,pair=9+10}": "done",
    }


def test_json_has_the_logs_only_when_asked(root: Path) -> None:
    assert "\n== " not in invoke("report", root, "out").stdout
    plain = json.loads(invoke("report", root, "out", "--format", "json").stdout)
    assert "logs" not in plain
    result = invoke(
        "report", root, "out", "--format", "json", "--logs", "--task", "calexp",
        "--where", "exposure IN (9, 10) AND detector = 0",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert {k: v for k, v in data.items() if k != "logs"} == plain
    failed, done = data["logs"]
    assert set(done) == {
        "task", "data_id", "status", "attempts", "host", "duration_s", "records", "error",
        "traceback",
    }  # fmt: skip
    assert (done["task"], done["data_id"], done["status"], done["attempts"]) == (
        "calexp",
        "instrument=Cam,detector=0,exposure=9",
        "done",
        1,
    )
    assert done["host"] and done["duration_s"] >= 0 and done["error"] is None
    (record,) = done["records"]
    assert record["level"] == "INFO" and record["message"] == "scaling exposure 9 detector 0"
    assert failed["status"] == "failed" and failed["records"] == []
    assert failed["error"].startswith("RuntimeError: injected failure")
    assert failed["traceback"].startswith("Traceback (most recent call last):")


def test_user_errors_exit_with_2(root: Path) -> None:
    unknown = invoke("report", root, "out", "--logs", "--task", "calexp", "--task", "nope")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    (line,) = unknown.stderr.splitlines()
    assert line.startswith("error: no task 'nope' in run 'out/") and "calexp, summary" in line
    without_logs = invoke("report", root, "out", "--status", "failed")
    assert without_logs.exit_code == 2 and "--logs" in without_logs.stderr
    bad_where = invoke("report", root, "out", "--logs", "--where", "nonsense = 1")
    assert bad_where.exit_code == 2 and len(bad_where.stderr.splitlines()) == 1
