"""The parity check of the README: a legacy night converted and its masters rebuilt in
quanta are identical; built another way, the report says where they are not."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from quanta.cli.main import cli


def invoke(*args: object) -> Result:
    """``quanta`` in-process, with stdout and stderr apart."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def _compare(legacy: Path, repo: Path, output: str, report: Path) -> dict:
    """The bias comparison of the legacy masters with a quanta run's, as JSON."""
    result = invoke(
        "compare",
        f"{legacy}:SimCam/calib/2026-03-01",
        f"{repo}:{output}",
        "bias",
        "--json",
        report,
    )
    assert result.exit_code == 0, result.output + result.stderr
    (summary,) = json.loads(report.read_text())["dataset_types"]
    return summary


def test_rebuilt_masters_match_the_legacy_ones_until_the_algorithm_changes(
    tmp_path: Path,
) -> None:
    made = invoke("demo-legacy", tmp_path / "night", "--preset", "quick")
    assert made.exit_code == 0, made.output + made.stderr
    legacy, repo = tmp_path / "night" / "legacy", tmp_path / "repo"
    converted = invoke("convert", repo, legacy)
    assert converted.exit_code == 0, converted.stderr
    assert "SimCam/calib/2026-03-01: 6 new" in converted.output
    bias = ("-p", "cp_bias", "-i", "SimCam/raw/all", "-d", "exposure.observation_type = 'bias'")
    assert invoke("run", repo, *bias, "-o", "u/me/bias").exit_code == 0
    same = _compare(legacy, repo, "u/me/bias", tmp_path / "same.json")
    assert same["n_identical"] == same["n_a"] == same["n_b"] == 2
    median = ("-c", "cpBiasCombine:statistic=median")
    assert invoke("run", repo, *bias, *median, "-o", "u/me/median").exit_code == 0
    other = _compare(legacy, repo, "u/me/median", tmp_path / "other.json")
    assert other["n_different"] == 2
    for dataset in other["datasets"]:
        planes = {plane["name"]: plane for plane in dataset["detail"]["planes"]}
        # A median and a clipped mean of the same frames differ at most pixels, by a few ADU.
        assert planes["image"]["n_differ"] > planes["image"]["n_total"] // 2
        assert 0 < planes["image"]["max_abs"] < 50
        assert planes["mask"]["n_differ"] == 0
