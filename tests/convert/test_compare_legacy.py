"""``quanta compare`` across repositories, with a legacy repository read where it lives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from astropy.io import fits
from click.testing import CliRunner, Result

from convert.legacy_fixture import LegacyRepo
from quanta.cli.main import cli


def invoke(*args: object) -> Result:
    """``quanta`` in-process, with stdout and stderr apart."""
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def converted(legacy: LegacyRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The legacy fixture converted into a quanta repository."""
    root = tmp_path_factory.mktemp("compare") / "repo"
    assert invoke("convert", root, legacy.root).exit_code == 0
    return root


def _report(result: Result, path: Path) -> dict:
    """The JSON report of a comparison that ran."""
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(path.read_text())


def test_converted_outputs_equal_the_legacy_ones_where_they_live(
    legacy: LegacyRepo, converted: Path, tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    result = invoke(
        "compare",
        f"{converted}:u/alice",
        f"{legacy.root}:rerun/private/alice",
        "calexp",
        "--json",
        report,
        "--fail-on-diff",
    )
    assert result.exit_code == 0, result.output + result.stderr
    (summary,) = _report(result, report)["dataset_types"]
    files = legacy.reruns["rerun/shared/proc"].files.values()
    assert summary["n_identical"] == sum(1 for kind, _ in files if kind == "calexp")
    calibs = invoke(
        "compare",
        f"{converted}:SimCam/calib/2026-03-01",
        f"{legacy.root}:SimCam/calib/2026-03-01",
        "--fail-on-diff",
    )
    assert calibs.exit_code == 0, calibs.output + calibs.stderr


def test_a_changed_pixel_is_found_where_it_is(
    legacy: LegacyRepo, converted: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "legacy"
    shutil.copytree(legacy.root, changed)
    path, (_, data_id) = next(iter(legacy.reruns["rerun/private/alice"].files.items()))
    with fits.open(changed / "rerun/private/alice" / path, mode="update") as hdus:
        hdus["IMAGE"].data[2, 3] += 1.5
    report = tmp_path / "r.json"
    result = invoke(
        "compare",
        f"{converted}:u/alice",
        f"{changed}:rerun/private/alice",
        "calexp",
        "--json",
        report,
        "--fail-on-diff",
    )
    assert result.exit_code == 1
    (summary,) = _report(result, report)["dataset_types"]
    assert summary["n_different"] == 1
    (different,) = [d for d in summary["datasets"] if d["status"] == "different"]
    assert f"visit={data_id['visit']}" in different["data_id"]
    planes = {plane["name"]: plane for plane in different["detail"]["planes"]}
    assert planes["image"]["n_differ"] == 1
    assert planes["image"]["max_abs_at"] == [2, 3]
    assert planes["image"]["max_abs"] == pytest.approx(1.5)
    assert planes["mask"]["n_differ"] == planes["variance"]["n_differ"] == 0


def test_two_repositories_by_name_and_the_old_form_agree(converted: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(converted, copy)
    new = invoke("compare", f"{converted}:SimCam/legacy", f"{copy}:SimCam/legacy", "raw")
    old = invoke("compare", converted, "SimCam/legacy", "SimCam/legacy", "raw", "--repo-b", copy)
    assert new.exit_code == old.exit_code == 0, new.stderr + old.stderr
    assert new.stdout == old.stdout  # stderr may hold progress lines of a slow step
    bad = invoke("compare", f"{converted}:SimCam/legacy", "SimCam/legacy")
    assert bad.exit_code == 2
    assert "REPO_B:COLLECTION_B" in bad.stderr
