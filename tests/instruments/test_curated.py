"""Curated calibrations: a directory of defects, linearity, crosstalk and gains files
ingested and certified, each valid until superseded; bad files refused with nothing
written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.errors import ConfigError, ConflictError
from quanta.core.timespan import Timespan, tai_ns_from_iso
from quanta.instruments.curated import curated_run, write_curated_calibrations
from quanta.instruments.simcam import SimCam

#: The ECSV header of a defects table: four integer columns.
DEFECTS = "\n".join(
    [
        "# %ECSV 1.0",
        "# ---",
        "# datatype:",
        *(f"# - {{name: {c}, datatype: int64}}" for c in ("x0", "y0", "width", "height")),
        "# schema: astropy-2.0",
        "x0 y0 width height",
        "",
    ]
)


def _defects(path: Path, *boxes: tuple[int, int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEFECTS + "".join(" ".join(map(str, box)) + "\n" for box in boxes))


def _yaml(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path):
    butler = Butler.create(tmp_path / "repo")
    SimCam().register(butler)
    yield butler
    butler.close()


@pytest.fixture
def curated(tmp_path: Path) -> Path:
    root = tmp_path / "curated"
    _defects(root / "defects" / "S00" / "2025-01-01.ecsv", (1, 2, 3, 4))
    _defects(root / "defects" / "S00" / "2025-06-01.ecsv", (1, 2, 3, 4), (10, 10, 1, 50))
    _defects(root / "defects" / "S01" / "2025-01-01T12:00:00.ecsv")
    _yaml(
        root / "linearity" / "S00" / "2025-01-01.yaml",
        "amplifiers:\n  C00: {polynomial: [0.0, 1.0, 2.0e-7]}\n",
    )
    _yaml(root / "crosstalk" / "S00" / "2025-03-01.yaml", "coefficients: {C00: {C01: 1.0e-4}}\n")
    _yaml(
        root / "gains" / "S00" / "2025-01-01.yaml",
        "amplifiers:\n  C00: {gain: 1.5, read_noise: 4.0}\n  C01: {gain: 1.6}\n",
    )
    return root


def _at(date: str) -> Timespan:
    moment = tai_ns_from_iso(date)
    return Timespan(moment, moment + 1)


def test_each_file_is_valid_until_the_next_of_its_type_and_detector(
    repo: Butler, curated: Path
) -> None:
    report = write_curated_calibrations(repo, "SimCam", curated)
    assert len(report.written) == 6 and report.already_present == 0
    assert report.collection == "SimCam/calib"
    jan, jun = tai_ns_from_iso("2025-01-01"), tai_ns_from_iso("2025-06-01")
    assert report.ranges[("defects", 0)] == [Timespan(jan, jun), Timespan(jun, None)]
    data_id = {"instrument": "SimCam", "detector": 0}
    early = repo.get("defects", data_id, collections="SimCam/calib", timespan=_at("2025-03-01"))
    late = repo.get("defects", data_id, collections="SimCam/calib", timespan=_at("2026-01-01"))
    assert early.equals(pa.table({"x0": [1], "y0": [2], "width": [3], "height": [4]}))
    assert late.num_rows == 2
    before = _at("2024-12-31")
    with pytest.raises(LookupError):
        repo.find_dataset("defects", data_id, collections="SimCam/calib", timespan=before)
    gains = repo.get("gains", data_id, collections="SimCam/calib", timespan=_at("2025-02-01"))
    assert gains == {"amplifiers": {"C00": {"gain": 1.5, "read_noise": 4.0}, "C01": {"gain": 1.6}}}
    crosstalk = repo.find_dataset(
        "crosstalk", data_id, collections="SimCam/calib", timespan=_at("2025-03-01")
    )
    assert crosstalk.run == curated_run("SimCam", tai_ns_from_iso("2025-03-01"))
    assert crosstalk.run == "SimCam/calib/curated/20250301T000000"


def test_running_again_changes_nothing_and_a_new_file_supersedes(
    repo: Butler, curated: Path
) -> None:
    first = write_curated_calibrations(repo, "SimCam", curated)
    again = write_curated_calibrations(repo, "SimCam", curated)
    assert again.written == [] and again.already_present == 6 and again.ranges == first.ranges
    later = curated.parent / "later"
    _defects(later / "defects" / "S00" / "2025-09-01.ecsv", (0, 0, 1, 1))
    report = write_curated_calibrations(repo, "SimCam", later)
    jan, jun, sep = (tai_ns_from_iso(f"2025-{m}-01") for m in ("01", "06", "09"))
    assert report.ranges[("defects", 0)] == [
        Timespan(jan, jun),
        Timespan(jun, sep),
        Timespan(sep, None),
    ]


def test_a_changed_file_for_a_start_already_ingested_is_refused(
    repo: Butler, curated: Path
) -> None:
    write_curated_calibrations(repo, "SimCam", curated)
    _defects(curated / "defects" / "S00" / "2025-01-01.ecsv", (5, 5, 1, 1))
    with pytest.raises(ConflictError, match="differs from the defects already in"):
        write_curated_calibrations(repo, "SimCam", curated)


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("flats/S00/2025-01-01.yaml", "x: 1\n", "not a curated calibration type"),
        ("gains/S99/2025-01-01.yaml", "x: 1\n", "no detector of that name"),
        ("gains/S00/January.yaml", "x: 1\n", "expected <valid start>.yaml"),
        ("gains/S00/2025-13-01.yaml", "x: 1\n", "2025-13-01"),
        ("gains/S00/2025-01-01.yaml", "amplifiers: {C00: {gain: 0}}\n", "gain must be positive"),
        (
            "linearity/S00/2025-01-01.yaml",
            "amplifiers: {C00: {polynomial: [1.0]}}\n",
            "polynomial must be a list of 2 or more numbers",
        ),
        ("crosstalk/S00/2025-01-01.yaml", "coefficients: {C00: 3}\n", "coefficients must map"),
        ("defects/S00/2025-01-01.ecsv", "x0 y0\n1 2\n", "cannot read as ECSV"),
        (
            "defects/S00/2025-01-01.ecsv",
            DEFECTS.replace("height, datatype: int64", "height, datatype: float64") + "1 2 3 4.5\n",
            "a defects table has columns x0, y0, width, height",
        ),
    ],
)
def test_a_bad_file_is_refused_by_name_and_nothing_is_written(
    repo: Butler, tmp_path: Path, path: str, text: str, message: str
) -> None:
    root = tmp_path / "bad"
    _yaml(root / "gains" / "S01" / "2025-01-01.yaml", "amplifiers: {C00: {gain: 1.0}}\n")
    _yaml(root / path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        write_curated_calibrations(repo, "SimCam", root)
    assert "\n" not in str(caught.value)
    assert repo.registry.find_collection("SimCam/calib") is None
    assert not [c for c in repo.registry.query_collections("SimCam/calib/*")]


def test_the_command_line_writes_and_reports(repo: Butler, curated: Path) -> None:
    runner = CliRunner()
    args = ["write-curated-calibrations", str(repo.root), "SimCam", str(curated)]
    result = runner.invoke(cli, [*args, "--collection", "SimCam/curated"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == "wrote 6 curated calibrations (0 already present); certified into SimCam/curated:"
    )
    assert "  defects detector 0: from 2025-01-01T00:00:00, 2025-06-01T00:00:00" in lines
    missing = runner.invoke(
        cli, ["write-curated-calibrations", str(repo.root), "NoCam", str(curated)]
    )
    assert missing.exit_code == 2 and "register it first" in missing.stderr
