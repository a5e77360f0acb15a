"""``quanta demo``: the whole calibration flow from the command line, on the quick preset."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from quanta.cli.main import cli


def test_demo_runs_the_flow_and_prints_gain_and_noise_beside_the_truth(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = CliRunner().invoke(
        cli, ["demo", str(target), "--preset", "quick", "--design", "inline", "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    for step in ("simulating", "defining flat pairs", "master bias", "master flat", "ptc_inline"):
        assert step in result.output
    assert "6 groups (6 new, 0 existing)" in result.output
    assert "true gain" in result.output and "C11" in result.output
    plots = sorted(target.glob("repo/**/ptcPlot*.png"))
    assert len(plots) == 2
    assert all(str(p) in result.output for p in plots)
    assert (target / "raws" / "truth.json").exists()

    again = CliRunner().invoke(cli, ["demo", str(target), "--preset", "quick"])
    assert again.exit_code == 2
    assert f"{target / 'repo'} already exists; give the demo a new directory" in again.output


def test_demo_checks_its_parsl_site_before_starting(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    local = CliRunner().invoke(cli, ["demo", str(target), "--site", "local"])
    assert local.exit_code == 2 and "--site needs --executor parsl" in local.stderr
    bad = tmp_path / "site.yaml"
    bad.write_text("provider: local\nworkers_per_node: many\n")
    parsl = CliRunner().invoke(
        cli, ["demo", str(target), "--executor", "parsl", "--site", str(bad)]
    )
    assert parsl.exit_code == 2 and f"{bad}:2: field 'workers_per_node'" in parsl.stderr
    assert not target.exists()
