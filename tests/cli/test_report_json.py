"""``--format json`` of check, verify, ingest-raws and report: one object on stdout, with the
documented keys (docs/reference/json.md), and the exit codes of the text output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from exec.conftest import DETECTORS, EXPOSURES, PIPELINE, put_raws
from quanta.cli.main import cli
from quanta.compare import CompareReport
from quanta.sim import simulate
from repo_data import make_repo


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def parsed(result: Result, schema: str) -> dict[str, Any]:
    """The one JSON object on stdout, after checking that it names ``schema`` first."""
    data = json.loads(result.stdout)
    assert next(iter(data)) == "schema"
    assert data["schema"] == f"quanta.{schema}/1"
    return data


@pytest.fixture(scope="module")
def run_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A repository with the execution tests' raws and one run of their pipeline in which
    exposure 10 of detector 0 fails (so its summary is blocked); and the run's name."""
    butler = make_repo(tmp_path_factory.mktemp("json") / "repo")
    put_raws(butler)
    butler.close()
    result = invoke(
        "run", butler.root, "-p", PIPELINE, "-i", "raw", "-o", "out", "--no-progress",
        "-c", "calexp:fail_on=[[10, 0]]",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    yield butler.root, result.stdout.split("run: ")[1].split(";")[0]


def test_check_json_holds_every_expectation_and_keeps_exit_code_1(
    run_repo: tuple[Path, str],
) -> None:
    root, run = run_repo
    result = invoke("check", root, "out", "--format", "json", "--limit", "1")
    assert result.exit_code == 1
    data = parsed(result, "check")
    assert set(data) == {"schema", "collection", "ok", "runs", "checked", "failed", "expectations"}
    assert (data["collection"], data["ok"], data["runs"]) == ("out", False, [run])
    assert (data["checked"], data["failed"]) == (1, 1)
    [outcome] = data["expectations"]
    assert outcome["ok"] is False
    assert outcome["expectation"] == f"predicted outputs of run {run}"
    # --limit shortens the text only: JSON holds all 6 missing outputs of the failure
    # (calexpLike and calexp_metadata of 10/0, summary and its metadata of detector 0).
    assert len(outcome["problems"]) == 6
    assert all("exposure=10" in p or "summary" in p for p in outcome["problems"])


def test_report_json_names_its_schema_and_counts_by_task(run_repo: tuple[Path, str]) -> None:
    root, run = run_repo
    result = invoke("report", root, "out", "--format", "json")
    assert result.exit_code == 1
    data = parsed(result, "report")
    assert data["run"] == run
    tasks = {t["task"]: t for t in data["tasks"]}
    n = len(EXPOSURES) * len(DETECTORS)
    assert (tasks["calexp"]["done"], tasks["calexp"]["failed"]) == (n - 1, 1)
    assert (tasks["summary"]["done"], tasks["summary"]["blocked"]) == (len(DETECTORS) - 1, 1)
    [failure] = data["failures"]
    assert failure["task"] == "calexp"
    assert "injected failure for exposure 10 detector 0" in failure["error"]


def test_verify_json_lists_each_kind_of_problem(run_repo: tuple[Path, str]) -> None:
    root, _ = run_repo
    clean = invoke("verify", root, "--format", "json")
    assert clean.exit_code == 0, clean.output
    data = parsed(clean, "verify")
    assert set(data) == {
        "schema", "repo", "ok", "checked", "missing", "corrupt", "orphans", "temporaries",
        "removed",
    }  # fmt: skip
    assert data["ok"] is True and data["checked"] > 0
    orphan = root / "stray.txt"
    orphan.write_text("no dataset")
    try:
        found = invoke("verify", root, "--format", "json")
        assert found.exit_code == 1
        data = parsed(found, "verify")
        assert (data["ok"], data["orphans"], data["missing"]) == (False, ["stray.txt"], [])
    finally:
        orphan.unlink()


def test_ingest_raws_json_lists_raws_with_files_and_refusals(tmp_path: Path) -> None:
    sim = simulate(tmp_path / "sim", "quick", detectors=1)
    (tmp_path / "sim" / "broken.fits").write_bytes(b"SIMPLE  = T" + b" " * 100)
    repo = tmp_path / "repo"
    assert invoke("create", repo).exit_code == 0
    assert invoke("register-instrument", repo, "SimCam").exit_code == 0
    result = invoke("ingest-raws", repo, tmp_path / "sim", "--format", "json")
    assert result.exit_code == 1
    data = parsed(result, "ingest-raws")
    assert data["counts"] == {"ingested": sim.n_files, "already_present": 0, "refused": 1}
    assert data["ok"] is False
    [refused] = data["refused"]
    assert refused["file"].endswith("broken.fits") and refused["reason"]
    first = data["ingested"][0]
    assert set(first) == {"id", "run", "data_id", "file"}
    assert first["run"] == "SimCam/raw/all"
    assert set(first["data_id"]) == {"instrument", "detector", "exposure"}
    assert Path(first["file"]).name in {p.name for ps in sim.files.values() for p in ps}
    assert f"refused: {refused['file']}" in result.stderr

    again = invoke("ingest-raws", repo, *sorted(sim.files["bias"]), "--format", "json")
    assert again.exit_code == 0, again.output
    counts = parsed(again, "ingest-raws")["counts"]
    assert counts == {"ingested": 0, "already_present": len(sim.files["bias"]), "refused": 0}


def test_compare_json_file_names_its_schema_and_reads_back(run_repo: tuple[Path, str]) -> None:
    root, run = run_repo
    path = root.parent / "compare.json"
    result = invoke("compare", f"{root}:{run}", f"{root}:raw", "calexpLike", "--json", path)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    data = json.loads(text)
    assert next(iter(data)) == "schema" and data["schema"] == "quanta.compare/1"
    report = CompareReport.model_validate_json(text)
    [summary] = report.dataset_types
    assert (summary.name, summary.n_a, summary.n_b) == ("calexpLike", 7, 0)
