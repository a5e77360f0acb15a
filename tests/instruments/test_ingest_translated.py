"""Ingest of cameras whose headers astro-metadata-translator reads, through instruments
built on ``TranslatedInstrument``: header corrections from ``--header-corrections`` and
from the repository's configuration, and files of many detectors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from instruments.real_headers import header, write_raw
from instruments.toy_packages import CAMERAS_ENTRY_POINTS, CAMERAS_MODULE, CAMERAS_SOURCE
from quanta.butler.config import CONFIG_NAME, RepoConfig
from quanta.cli.main import cli
from quanta.cli.operations import open_butler

Install = Callable[[dict[str, str], str], None]
#: A correction file for the stored HSC-I exposure: a dome flat, not a science frame.
HSC_FIX = ("HSC-HSCA90402400.yaml", "DATA-TYP: DOMEFLAT\nOBJECT: DOMEFLAT\n")


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def repo(tmp_path: Path, install_package: Install) -> Path:
    """A repository with the test HSC and DECam instruments installed and registered."""
    install_package({CAMERAS_MODULE: CAMERAS_SOURCE}, CAMERAS_ENTRY_POINTS)
    root = tmp_path / "repo"
    assert invoke("create", root).exit_code == 0
    for name in ("HSC", "DECam"):
        assert invoke("register-instrument", root, name).exit_code == 0
    return root


def fixes(directory: Path) -> Path:
    """A correction directory holding ``HSC_FIX``."""
    directory.mkdir(parents=True)
    (directory / HSC_FIX[0]).write_text(HSC_FIX[1])
    return directory


def exposure(root: Path, instrument: str) -> tuple[str, str | None]:
    """The observation type and target of the instrument's only exposure."""
    with open_butler(root) as butler:
        (record,) = butler.query_dimension_records("exposure", data_id={"instrument": instrument})
        return record.observation_type, record.target_name


def set_corrections(root: Path, paths: list[str]) -> None:
    """List header correction directories in the repository's ``quanta.yaml``."""
    config = yaml.safe_load((root / CONFIG_NAME).read_text())
    config["instruments"] = {"header_corrections": paths}
    (root / CONFIG_NAME).write_text(yaml.safe_dump(config))


def test_ingest_without_corrections(repo: Path, tmp_path: Path) -> None:
    raw = write_raw(tmp_path / "raws" / "hsc.fits", header("fitsheader-hsc.yaml"))
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stdout) == (0, "ingested: 1, already present: 0, refused: 0\n")
    assert exposure(repo, "HSC") == ("science", "STRIPE82L")


def test_ingest_applies_corrections_from_the_option(repo: Path, tmp_path: Path) -> None:
    raw = write_raw(tmp_path / "raws" / "hsc.fits", header("fitsheader-hsc.yaml"))
    result = invoke("ingest-raws", repo, raw, "--header-corrections", fixes(tmp_path / "fixes"))
    assert result.exit_code == 0, result.output
    assert exposure(repo, "HSC") == ("flat", "DOMEFLAT")


def test_ingest_applies_corrections_listed_in_the_repository_config(
    repo: Path, tmp_path: Path
) -> None:
    fixes(repo / "corrections")
    set_corrections(repo, ["corrections"])
    assert RepoConfig.load(repo).header_corrections(repo) == [repo / "corrections"]
    raw = write_raw(tmp_path / "raws" / "hsc.fits", header("fitsheader-hsc.yaml"))
    result = invoke("ingest-raws", repo, raw)
    assert result.exit_code == 0, result.output
    assert exposure(repo, "HSC") == ("flat", "DOMEFLAT")


def test_a_missing_correction_directory_in_the_config_is_a_user_error(
    repo: Path, tmp_path: Path
) -> None:
    set_corrections(repo, ["nowhere"])
    raw = write_raw(tmp_path / "raws" / "hsc.fits", header("fitsheader-hsc.yaml"))
    result = invoke("ingest-raws", repo, raw)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: header correction directory '{repo / 'nowhere'}' does not exist\n",
    )


def test_a_detector_in_a_file_of_many_is_the_same_raw_as_its_own_file(
    repo: Path, tmp_path: Path
) -> None:
    values = header("fitsheader-decam.yaml")
    write_raw(tmp_path / "raws" / "decam_s1.fits", values)
    other = {"CCDNUM": 1, "DETPOS": "S29", "EXTNAME": "S29"}
    mef = write_raw(tmp_path / "raws" / "decam_mef.fits", values, extensions=[{}, other])
    result = invoke("ingest-raws", repo, tmp_path / "raws")
    assert result.exit_code == 1
    assert result.stdout == "ingested: 2, already present: 0, refused: 1\n"
    assert result.stderr == (
        f"refused: {tmp_path / 'raws' / 'decam_s1.fits'}: HDU 1: the same raw as {mef}[1] "
        "(obs_id and detector)\n"
    )
    with open_butler(repo) as butler:
        refs = butler.query_datasets("raw", "DECam/raw/all")
    assert sorted(ref.data_id["detector"] for ref in refs) == [1, 25]


def test_config_files_without_instrument_settings_stay_valid(tmp_path: Path) -> None:
    old = RepoConfig.model_validate({"version": 1, "registry": {"db": "sqlite:///r.sqlite3"}})
    assert old.header_corrections(tmp_path) == []
    new = RepoConfig.model_validate(
        {"instruments": {"header_corrections": ["fixes", str(tmp_path / "elsewhere")]}}
    )
    assert new.header_corrections(tmp_path / "repo") == [
        tmp_path / "repo" / "fixes",
        tmp_path / "elsewhere",
    ]
