"""``quanta run``, ``report`` and ``provenance`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exec.conftest import PIPELINE
from quanta.butler import Butler
from quanta.cli.main import cli


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def root(sqlite_repo: Butler) -> Path:
    return sqlite_repo.root


def test_run_fail_report_resume_and_provenance(root: Path, tmp_path: Path) -> None:
    graph_file = tmp_path / "graph.json.gz"
    failing = invoke(
        "run", root, "-p", PIPELINE, "-i", "raw", "-o", "out", "-c", "calexp:fail_on=[[10, 0]]",
        "--save-qgraph", graph_file,
    )  # fmt: skip
    assert failing.exit_code == 1, failing.output
    assert "failed: calexp {instrument=Cam,detector=0,exposure=10}: RuntimeError" in failing.stdout
    run = failing.stdout.split("run: ")[1].split(";")[0]
    assert run.startswith("out/") and run.endswith("Z") and graph_file.exists()

    report = invoke("report", root, "out")
    assert report.exit_code == 1, report.output
    assert f"run: {run}" in report.stdout
    assert "injected failure for exposure 10 detector 0" in report.stdout
    data = json.loads(invoke("report", root, run, "--format", "json").stdout)
    counts = {t["task"]: t for t in data["tasks"]}
    assert counts["calexp"]["failed"] == 1 and counts["summary"]["blocked"] == 1
    assert data["failures"][0]["data_id"] == "instrument=Cam,detector=0,exposure=10"

    refused = invoke("run", root, "-p", PIPELINE, "-i", "raw", "-o", "out", "--resume")
    assert refused.exit_code == 2, refused.output
    assert "task calexp config differs in fail_on" in refused.stderr
    resumed = invoke(
        "run", root, "-p", PIPELINE, "-i", "raw", "-o", "out", "--resume", "--force", "-j", "2"
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert f"run: {run}; output: out" in resumed.stdout
    finished = invoke("report", root, "out", "--format", "json")
    assert finished.exit_code == 0, finished.output
    data = json.loads(finished.stdout)
    assert [(t["task"], t["done"]) for t in data["tasks"]] == [("calexp", 8), ("summary", 2)]
    assert data["failures"] == []

    tree = invoke("provenance", root, "summary", "--collections", "out", "-d", "detector = 0")
    assert tree.exit_code == 0, tree.output
    lines = tree.stdout.splitlines()
    assert lines[0] == f"summary {{instrument=Cam,detector=0}} [{run}]"
    assert lines[1] == "└─ summary {instrument=Cam,detector=0}: done"
    assert sum("raw {instrument=Cam,detector=0,exposure=" in line for line in lines) == 4
    assert lines[-1].endswith("└─ raw {instrument=Cam,detector=0,exposure=12} [raw]")
    (root_node,) = json.loads(
        invoke(
            "provenance", root, "summary", "--collections", "out", "-d", "detector = 0",
            "--format", "json",
        ).stdout
    )  # fmt: skip
    calexps = root_node["produced_by"]["inputs"]
    assert [c["data_id"].split("exposure=")[1] for c in calexps] == ["9", "10", "11", "12"]
    raw = calexps[0]["produced_by"]["inputs"][0]
    assert raw["dataset_type"] == "raw" and raw["produced_by"] is None
    by_id = invoke("provenance", root, calexps[0]["id"])
    assert by_id.stdout.splitlines()[-1].strip().startswith("└─ raw {instrument=Cam")


def test_user_errors_exit_with_2(root: Path, tmp_path: Path) -> None:
    missing = invoke("run", root, "-p", PIPELINE, "-i", "raw", "-o", "never", "--resume")
    assert missing.exit_code == 2 and "cannot resume" in missing.stderr
    both = invoke("run", root, "-p", PIPELINE, "--qgraph", PIPELINE)
    assert both.exit_code == 2 and "cannot be combined" in both.stderr
    unknown = invoke("run", root, "-p", PIPELINE, "-i", "raw", "-o", "x", "-c", "calexp:nope=1")
    assert unknown.exit_code == 2 and "nope" in unknown.stderr
    bad = invoke("provenance", root, "summary")
    assert bad.exit_code == 2 and "--collections" in bad.stderr
