"""The instrument commands: register-instrument, ingest-raws and define-visits."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from instruments.simcam_raws import (
    exposure_ids,
    header,
    write_bad_files,
    write_exposures,
    write_raw,
)
from quanta.cli.main import cli
from quanta.cli.operations import open_butler


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    assert invoke("create", root).exit_code == 0
    return root


def test_register_instrument_twice(repo: Path) -> None:
    first = invoke("register-instrument", repo, "SimCam")
    assert (first.exit_code, first.stdout) == (0, "registered SimCam: 26 new dimension records\n")
    again = invoke("register-instrument", repo, "SimCam")
    assert (again.exit_code, again.stdout) == (0, "registered SimCam: 0 new dimension records\n")


def test_register_unknown_instrument_is_a_user_error(repo: Path) -> None:
    result = invoke("register-instrument", repo, "NoCam")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown instrument 'NoCam'; known instruments: SimCam\n"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ingest_names_refused_files_and_exits_1(repo: Path, tmp_path: Path, jobs: str) -> None:
    directory = tmp_path / "night"
    write_exposures(directory, seqs=(1, 2))
    expected = write_bad_files(directory)
    invoke("register-instrument", repo, "SimCam")
    result = invoke("ingest-raws", repo, directory, "-j", jobs, "--transfer", "symlink")
    assert result.exit_code == 1
    assert result.stdout == f"ingested: 4, already present: 0, refused: {len(expected)}\n"
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected)
    for line, name in zip(lines, sorted(expected), strict=True):
        assert line.startswith(f"refused: {directory / name}: {expected[name]}")
    again = invoke("ingest-raws", repo, directory)
    assert again.exit_code == 1
    assert again.stdout == f"ingested: 0, already present: 4, refused: {len(expected)}\n"
    with open_butler(repo) as butler:
        assert len(exposure_ids(butler)) == 2


def test_ingest_and_define_visits(repo: Path, tmp_path: Path) -> None:
    files = write_exposures(tmp_path / "raws", seqs=(1, 2), detectors=(0,))
    files.append(write_raw(tmp_path / "bias.fits", header(3, 0, "bias", exptime=0.0)))
    invoke("register-instrument", repo, "SimCam")
    result = invoke("ingest-raws", repo, *files)
    assert (result.exit_code, result.stdout) == (0, "ingested: 3, already present: 0, refused: 0\n")
    assert result.stderr == ""
    result = invoke("define-visits", repo, "--instrument", "SimCam", "-d", "exposure.seq_num > 1")
    assert (result.exit_code, result.stdout) == (0, "defined 1 new visits\n")
    result = invoke("define-visits", repo)
    assert (result.exit_code, result.stdout) == (0, "defined 1 new visits\n")


def test_ingest_user_errors_exit_2(repo: Path, tmp_path: Path) -> None:
    result = invoke("ingest-raws", repo, tmp_path / "missing")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot ingest") and result.stderr.count("\n") == 1
    assert invoke("ingest-raws", repo, tmp_path, "--transfer", "teleport").exit_code == 2
    assert invoke("ingest-raws", repo, tmp_path, "-j", "0").exit_code == 2
