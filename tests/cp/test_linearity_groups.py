"""Linearity over a group system (option B1, ``cp_linearity_groups``) gives the same
``linearity`` as over task-defined pairs (B3, ``cp_linearity``), and refuses, while the
graph is built, a second group system over the same flats. Non-linear ``quick`` raws,
one detector."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.demo import CALIB, RAW, certify_masters
from quanta.exec import ExecutionSettings
from quanta.exec.workflow import run_pipeline
from quanta.graph.planning import RunRequest
from quanta.instruments import get_instrument
from quanta.instruments.groups.define import define_groups
from quanta.instruments.ingest import ingest_raws
from quanta.sim import simulate
from quanta.sim.presets import PRESETS

FLATS = "exposure.observation_type = 'flat'"
PAIRS = "group.system = 'flatPairs'"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("linearity_groups")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(PRESETS, "quick", replace(PRESETS["quick"], nonlinearity=2e-7))
        summary = simulate(root / "raws", preset="quick", detectors=1)
    butler = Butler.create(root / "repo")
    get_instrument("SimCam").register(butler)
    ingest_raws(butler, [root / "raws"])
    define_groups(butler, "flatPairs", rule="flat-pairs", exclusive=True)
    certify_masters(butler)
    return root / "repo", json.loads(summary.truth_path.read_text())


def linearity(butler: Butler, pipeline: str, where: str) -> dict[str, Any]:
    request = RunRequest(f"u/test/{pipeline}", pipeline, [RAW, CALIB], where)
    report = run_pipeline(butler, request, ExecutionSettings(), 1)
    assert report.ok, report.failures
    result = butler.get("linearity", instrument="SimCam", detector=0, collections=[report.run])
    assert isinstance(result, dict)
    return result


def test_groups_and_task_defined_pairs_give_the_same_linearity(
    repo: tuple[Path, dict[str, Any]],
) -> None:
    path, truth = repo
    butler = Butler(path)
    groups = linearity(butler, "cp_linearity_groups", PAIRS)
    assert groups == linearity(butler, "cp_linearity", FLATS)
    amps = truth["detectors"]["0"]["amps"]
    for amp, fit in groups["amplifiers"].items():
        expected = -amps[amp]["nonlinearity"] * amps[amp]["gain"]
        assert fit["polynomial"][2] == pytest.approx(expected, rel=0.10), amp
        assert fit["quality"] == "good" and len(fit["pairs"]) == 6


def test_a_second_group_system_over_the_same_flats_is_refused(
    repo: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = repo
    define_groups(Butler(path), "flatPairsToo", rule="flat-pairs", exclusive=True)
    args = ["qgraph", str(path), "-p", "cp_linearity_groups", "-i", f"{RAW},{CALIB}"]
    result = CliRunner().invoke(cli, [*args, "-o", "u/test/twice", "-d", FLATS])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "pairs of group systems 'flatPairs' and 'flatPairsToo'" in result.output
    only = ["-d", "group.system = 'flatPairsToo'"]
    other = CliRunner().invoke(cli, [*args, "-o", "u/test/other", *only])
    assert other.exit_code == 2, other.output
    assert "linearitySolve of" in other.output
    assert "'flatPairsToo' (configured: 'flatPairs')" in other.output
