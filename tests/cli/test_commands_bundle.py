"""quanta export, import and ingest-files: what they print, and one-line user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli.small_repo import Invoke, assert_user_error
from quanta.cli.operations import open_butler


@pytest.fixture
def certified(invoke: Invoke, cli_repo: Path) -> Path:
    """The small repository with its biases certified into Cam/calib."""
    result = invoke("certify", cli_repo, "Cam/calib/run1", "Cam/calib", "bias")
    assert result.exit_code == 0, result.output
    return cli_repo


@pytest.mark.parametrize("name", ["bundle", "bundle.zip"])
def test_export_then_import_twice(
    invoke: Invoke, certified: Path, tmp_path: Path, name: str
) -> None:
    bundle = tmp_path / name
    result = invoke("export", certified, bundle, "--collections", "Cam/raw,Cam/calib")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"exported 3 collection(s), 10 dataset(s) in 10 file(s) to {bundle}\n"
    target = tmp_path / "target"
    assert invoke("create", target).exit_code == 0
    first = invoke("import", target, bundle)
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        "imported 10 dataset(s) (0 already present), 3 new collection(s), 2 certification(s)\n"
    )
    again = invoke("import", target, bundle)
    assert again.stdout == (
        "imported 0 dataset(s) (10 already present), 0 new collection(s), 0 certification(s)\n"
    )
    with open_butler(target) as butler:
        got = butler.get("bias", instrument="Cam", detector=1, exposure=2, collections="Cam/calib")
        assert got.tolist() == [1, 1, 1, 1]
    assert invoke("verify", target).exit_code == 0


def test_export_of_an_unknown_collection_suggests_names(
    invoke: Invoke, cli_repo: Path, tmp_path: Path
) -> None:
    assert_user_error(
        invoke("export", cli_repo, tmp_path / "b", "--collections", "Cam/rav"),
        "collection 'Cam/rav' does not exist; did you mean 'Cam/raw'?",
    )
    assert not (tmp_path / "b").exists()


def test_import_of_a_bundle_missing_a_file_names_it(
    invoke: Invoke, cli_repo: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "b"
    assert invoke("export", cli_repo, bundle, "--collections", "Cam/raw").exit_code == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    (bundle / manifest["files"][5]["path"]).unlink()
    target = tmp_path / "target"
    assert invoke("create", target).exit_code == 0
    assert_user_error(
        invoke("import", target, bundle),
        f"files[5] {manifest['files'][5]['path']}: missing from the bundle",
    )
    with open_butler(target) as butler:
        assert butler.registry.query_collections() == []


def test_ingest_files_reports_and_names_a_bad_row(
    invoke: Invoke, cli_repo: Path, tmp_path: Path
) -> None:
    for detector in (0, 1):
        np.save(tmp_path / f"f{detector}.npy", np.arange(3) + detector)
    table = tmp_path / "files.csv"
    table.write_text("file,instrument,detector\nf0.npy,Cam,0\nf1.npy,Cam,1\n")
    args = ("ingest-files", cli_repo, "flatness", "u/flat", table)
    result = invoke(*args, "--storage-class", "NumpyArray")
    assert result.exit_code == 0, result.output
    assert result.stdout == "registered flatness; ingested: 2, already present: 0\n"
    assert invoke(*args).stdout == "ingested: 0, already present: 2\n"
    table.write_text("file,instrument,detector\nf0.npy,Cam,0\nf1.npy,Cam,7\n")
    assert_user_error(invoke(*args), "row 2: no detector record for instrument='Cam', detector=7")
