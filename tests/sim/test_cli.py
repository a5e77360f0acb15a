"""``quanta simulate``: wiring, summary and errors (the function itself is tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from quanta.cli.commands_sim import PRESET_NAMES
from quanta.cli.main import cli
from quanta.sim import PRESETS
from sim.raws import load_truth


def run(*args: object) -> Result:
    """Invoke ``quanta`` in-process with string arguments."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_simulate_prints_files_by_type_and_the_truth_path(tmp_path: Path) -> None:
    result = run("simulate", tmp_path, "--detectors", 1, "--amps", 2, "--amp-size", "16x12",
                 "--seed", 7, "--zero-noise")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "preset quick, layout simcam: 1 detector(s) x 2 amplifier(s) of 16x12 pixels, seed 7, "
        "zero noise"
    )
    assert lines[1].startswith(f"wrote 24 raw files to {tmp_path} in ")
    assert lines[1].endswith(": 5 bias, 5 dark, 12 flat, 2 science")
    assert lines[2] == f"truth: {tmp_path / 'truth.json'}"
    truth = load_truth(tmp_path)
    assert (truth["seed"], truth["zero_noise"], truth["camera"]["amp_width"]) == (7, True, 16)


def test_bad_amp_size_and_amps_are_one_line_errors(tmp_path: Path) -> None:
    result = run("simulate", tmp_path, "--amp-size", "16by12")
    assert result.exit_code == 2
    assert "'16by12' is not WIDTHxHEIGHT" in result.stderr
    result = run("simulate", tmp_path, "--amps", 3)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: SimCam detectors have 1 or an even number of amplifiers, not 3\n"
    )


def test_cli_offers_exactly_the_library_presets() -> None:
    assert tuple(PRESETS) == PRESET_NAMES
