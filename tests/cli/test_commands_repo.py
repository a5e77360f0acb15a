"""create, register-dataset-type, remove-runs, verify and transfer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli.small_repo import DETECTORS, EXPOSURES, Invoke, assert_user_error, fill
from quanta.butler import Butler
from quanta.cli import removal
from quanta.cli.operations import open_butler

# -- create and register-dataset-type --------------------------------------------------------


def test_create_on_each_backend(invoke: Invoke, tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "repo"
    result = invoke("create", root, "--db", db_url)
    assert result.exit_code == 0, result.output
    assert str(root) in result.stdout
    registered = invoke("register-dataset-type", root, "flat", "Image", "exposure", "detector")
    assert registered.exit_code == 0, registered.output
    result = invoke("query-dataset-types", root, "--format", "json")
    assert json.loads(result.stdout)[0]["dimensions"] == ["instrument", "detector", "exposure"]
    with open_butler(root) as butler:
        assert butler.registry.dialect == db_url.split(":")[0].split("+")[0]
        assert butler.config.registry.db == db_url


def test_query_and_certify_on_each_backend(invoke: Invoke, tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "repo"
    assert invoke("create", root, "--db", db_url).exit_code == 0
    with open_butler(root) as butler:
        fill(butler)
    result = invoke(
        "query-datasets", root, "raw", "-d", "band = :b AND detector = 1", "--bind", "b=r",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["exposure"] for r in json.loads(result.stdout)] == [3, 4]
    assert invoke("certify", root, "Cam/calib/run1", "Cam/calib", "bias").exit_code == 0
    certified = invoke(
        "query-datasets", root, "bias", "--collections", "Cam/calib", "--format", "csv"
    )
    in_run = invoke(
        "query-datasets", root, "bias", "--collections", "Cam/calib/run1", "--format", "csv"
    )
    assert certified.stdout == in_run.stdout
    assert len(certified.stdout.splitlines()) == 1 + len(DETECTORS)
    assert_user_error(invoke("query-datasets", root, "raw", "-d", "detector = 'x'"), "int values")


def test_create_unreachable_server_hides_the_password(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("create", tmp_path / "r", "--db", "postgresql://me:s3cret@127.0.0.1:1/x")
    assert_user_error(result, "cannot connect to postgresql+psycopg://me:***@127.0.0.1:1/x")
    assert "s3cret" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_create_defaults_to_sqlite_inside_the_repository(invoke: Invoke, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    result = invoke("create", root)
    assert result.exit_code == 0
    assert "sqlite:///registry.sqlite3" in result.stdout
    assert (root / "registry.sqlite3").is_file()


def test_create_refuses_a_non_empty_directory(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    assert_user_error(invoke("create", tmp_path), "directory is not empty")


def test_create_refuses_an_unknown_database(invoke: Invoke, tmp_path: Path) -> None:
    assert_user_error(
        invoke("create", tmp_path / "r", "--db", "mysql://x/y"), "unsupported database"
    )
    assert not (tmp_path / "r").exists()


def test_register_dataset_type_new_then_same_then_conflicting(
    invoke: Invoke, cli_repo: Path
) -> None:
    args = ("register-dataset-type", cli_repo, "flat", "Image", "exposure", "detector")
    first = invoke(*args, "--calibration")
    assert first.exit_code == 0
    assert first.stdout.startswith(
        "registered: flat(instrument, detector, exposure) Image, calibration"
    )
    again = invoke(*args, "--calibration")
    assert again.exit_code == 0 and again.stdout.startswith("already registered")
    assert_user_error(invoke(*args), "already registered with different is_calibration")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x", "Picture", "detector"), "unknown storage class 'Picture'"),
        (("x", "Image", "detectors"), "unknown dimension 'detectors'"),
        (("9x", "Image", "detector"), "invalid dataset type name '9x'"),
    ],
)
def test_register_dataset_type_user_errors(
    invoke: Invoke, cli_repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_user_error(invoke("register-dataset-type", cli_repo, *args), message)


# -- remove-runs ---------------------------------------------------------------------------


def run_files(butler: Butler, run: str) -> list[Path]:
    """Paths of the files of every dataset in a run."""
    refs = butler.query_datasets("raw", run, find_first=False)
    files = butler.registry.get_files([r.id for r in refs])
    return [butler.datastore.path(f) for f in files.values()]


def test_remove_runs_refuses_without_yes_and_without_a_terminal(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    assert_user_error(invoke("remove-runs", cli_repo, "Cam/*"), "pass --yes")
    assert len(repo_butler.query_datasets("raw", "Cam/raw")) == 8


def test_remove_runs_with_yes_deletes_rows_files_and_chain_links(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    repo_butler.set_collection_chain("Cam/defaults", ["Cam/raw", "Cam/calib/run1"])
    files = run_files(repo_butler, "Cam/raw")
    assert len(files) == 8 and all(f.exists() for f in files)
    result = invoke("remove-runs", cli_repo, "Cam/r*", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("removed 1 run(s): Cam/raw; deleted 8 file(s)\n")
    assert "named by CHAINED collection(s), which lose them: Cam/defaults (Cam/raw)" in (
        result.stdout
    )
    assert not any(f.exists() for f in files)
    assert [r.name for r in repo_butler.registry.query_collections("Cam/raw")] == []
    assert repo_butler.get_collection_chain("Cam/defaults") == ["Cam/calib/run1"]


def test_remove_runs_no_unstore_leaves_orphans_for_verify(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    files = run_files(repo_butler, "Cam/raw")
    result = invoke("remove-runs", cli_repo, "Cam/raw", "--yes", "--no-unstore")
    assert result.exit_code == 0
    assert all(f.exists() for f in files)
    report = invoke("verify", cli_repo)
    assert report.exit_code == 1
    assert "orphans: 8" in report.stdout


@pytest.mark.parametrize(("answer", "removed"), [("y\n", True), ("n\n", False)])
def test_remove_runs_asks_on_a_terminal(
    invoke: Invoke,
    cli_repo: Path,
    repo_butler: Butler,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    removed: bool,
) -> None:
    monkeypatch.setattr(removal, "stdin_is_terminal", lambda: True)
    result = invoke("remove-runs", cli_repo, "Cam/raw", "Cam/calib/*", input=answer)
    assert "runs to remove:\n  Cam/raw\n  Cam/calib/run1\n" in result.stdout
    assert result.exit_code == (0 if removed else 1)
    remaining = [r.name for r in repo_butler.registry.query_collections()]
    assert remaining == ([] if removed else ["Cam/calib/run1", "Cam/raw"])


def test_remove_runs_pattern_matching_nothing_is_an_error(invoke: Invoke, cli_repo: Path) -> None:
    assert_user_error(
        invoke("remove-runs", cli_repo, "Other/*", "--yes"), "no RUN collection matches"
    )


# -- verify --------------------------------------------------------------------------------


def test_verify_clean_repository(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke("verify", cli_repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"checked: {len(EXPOSURES) * len(DETECTORS) + len(DETECTORS)}",
        "missing: 0",
        "corrupt: 0",
        "orphans: 0",
        "temporaries: 0",
        "removed: 0",
    ]


def test_verify_detects_a_deleted_file(invoke: Invoke, cli_repo: Path, repo_butler: Butler) -> None:
    deleted = run_files(repo_butler, "Cam/raw")[0]
    deleted.unlink()
    for flag in ("--checksums", "--no-checksums"):
        result = invoke("verify", cli_repo, flag)
        assert result.exit_code == 1
        assert "missing: 1" in result.stdout
        assert f"  {deleted.relative_to(cli_repo.resolve()).as_posix()}" in result.stdout
        assert result.stderr == "problems found\n"


def test_verify_checksums_catch_a_changed_file_of_the_same_size(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    changed = run_files(repo_butler, "Cam/raw")[0]
    data = bytearray(changed.read_bytes())
    data[-1] ^= 0xFF
    changed.write_bytes(bytes(data))
    assert invoke("verify", cli_repo, "--no-checksums").exit_code == 0
    result = invoke("verify", cli_repo)
    assert result.exit_code == 1 and "corrupt: 1" in result.stdout


def test_verify_repair_removes_an_orphan(invoke: Invoke, cli_repo: Path) -> None:
    orphan = cli_repo / "Cam" / "raw" / "leftover.npy"
    orphan.write_bytes(b"not a dataset")
    found = invoke("verify", cli_repo)
    assert found.exit_code == 1
    assert "orphans: 1\n  Cam/raw/leftover.npy\n" in found.stdout
    assert orphan.exists()
    repaired = invoke("verify", cli_repo, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "removed: 1\n  Cam/raw/leftover.npy\n" in repaired.stdout
    assert not orphan.exists()
    assert invoke("verify", cli_repo).exit_code == 0


# -- transfer ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_transfer_copies_datasets_into_a_second_repository(
    invoke: Invoke, cli_repo: Path, tmp_path: Path, mode: str
) -> None:
    target = tmp_path / "target"
    assert invoke("create", target).exit_code == 0
    args = (
        "transfer",
        cli_repo,
        target,
        "raw",
        "--collections",
        "Cam/raw",
        "-d",
        "exposure.id >= 3",
    )
    result = invoke(*args, "--transfer", mode)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"transferred 4 dataset(s) (0 already in {target})\n"
    again = invoke(*args)
    assert again.stdout == f"transferred 0 dataset(s) (4 already in {target})\n"
    with open_butler(cli_repo) as source, open_butler(target) as copy:
        refs = copy.query_datasets("raw", "Cam/raw")
        assert sorted(r.data_id["exposure"] for r in refs) == [3, 3, 4, 4]
        for ref in refs:
            assert ref == source.find_dataset("raw", ref.data_id, collections="Cam/raw")
            assert copy.get(ref).tolist() == source.get(ref).tolist()
            path = copy.datastore.path(copy.registry.get_files([ref.id])[ref.id])
            assert path.is_symlink() == (mode == "symlink")
    assert invoke("verify", target).exit_code == 0


def test_transfer_needs_collections_and_known_types(
    invoke: Invoke, cli_repo: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    assert invoke("create", target).exit_code == 0
    missing = invoke("transfer", cli_repo, target, "raw")
    assert missing.exit_code == 2 and "Missing option '--collections'" in missing.stderr
    assert_user_error(
        invoke("transfer", cli_repo, target, "dark", "--collections", "Cam/raw"),
        "unknown dataset type 'dark'",
    )
    assert_user_error(
        invoke("transfer", cli_repo, tmp_path / "nowhere", "raw", "--collections", "Cam/raw"),
        "is not a quanta repository",
    )


def test_transfer_of_arrays_keeps_values(invoke: Invoke, cli_repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    invoke("create", target)
    invoke(
        "transfer",
        cli_repo,
        target,
        "bias",
        "raw",
        "--collections",
        "Cam/calib/run1",
        "--collections",
        "Cam/raw",
    )
    with open_butler(target) as copy:
        bias = copy.get("bias", instrument="Cam", detector=1, collections="Cam/calib/run1")
        assert np.array_equal(bias, np.full(4, 1))
        assert len(copy.query_datasets("raw", "Cam/raw")) == 8
