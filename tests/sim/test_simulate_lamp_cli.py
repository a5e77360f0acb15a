"""``quanta simulate --lamp-drift --photodiode``: the options reach the simulator and its
truth, and a bad fraction is refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

from astropy.io import fits
from click.testing import CliRunner

from quanta.cli.main import cli


def test_a_drifting_lamp_with_a_photodiode_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "raws"
    args = ["simulate", str(out), "--lamp-drift", "0.02", "--photodiode", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    exposures = json.loads((out / "truth.json").read_text())["exposures"]
    flats = [e for e in exposures if e["imgtype"] == "flat"]
    first, second, third = flats[:3]
    assert first["exptime"] == second["exptime"] == third["exptime"]
    assert second["lamp_flux"] == third["lamp_flux"]
    assert abs(second["lamp_flux"] / first["lamp_flux"] - 1.02) < 1e-9
    header = fits.getheader(out / second["files"]["0"])
    assert header["PHOTODIO"] == second["photodiode"] > first["photodiode"]


def test_a_lamp_drift_that_is_not_a_fraction_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "raws"
    result = CliRunner().invoke(cli, ["simulate", str(out), "--lamp-drift", "1.5"])
    assert result.exit_code == 2
    assert "invalid lamp drift 1.5" in result.output
    assert not out.exists()
