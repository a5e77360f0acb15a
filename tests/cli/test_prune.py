"""remove-runs with its dependency report, associate, disassociate, prune-datasets and
remove-collections, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.small_repo import DETECTORS, Invoke, assert_user_error, fill
from quanta.butler import Butler
from quanta.cli import removal
from quanta.cli.operations import open_butler
from undeletable import undeletable


def rows(invoke: Invoke, repo: Path, dataset_type: str, collection: str) -> list[dict]:
    """What query-datasets finds, as JSON rows."""
    result = invoke(
        "query-datasets", repo, dataset_type, "--collections", collection, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def files_of(butler: Butler, dataset_type: str, collection: str) -> list[Path]:
    """The files of a collection's datasets, by exposure then detector."""
    refs = butler.query_datasets(dataset_type, collection, find_first=False)
    refs.sort(key=lambda r: (r.data_id["exposure"], r.data_id["detector"]))
    files = butler.registry.get_files([r.id for r in refs])
    return [butler.datastore.path(files[r.id]) for r in refs]


def certify_biases(invoke: Invoke, repo: Path) -> None:
    result = invoke("certify", repo, "Cam/calib/run1", "Cam/calib", "bias")
    assert result.exit_code == 0, result.output


# -- remove-runs ----------------------------------------------------------------------------


def test_remove_runs_of_certified_biases_on_each_backend(
    invoke: Invoke, tmp_path: Path, db_url: str
) -> None:
    repo = tmp_path / "repo"
    assert invoke("create", repo, "--db", db_url).exit_code == 0
    with open_butler(repo) as butler:
        fill(butler)
    certify_biases(invoke, repo)
    refused = invoke("remove-runs", repo, "Cam/calib/*", "--yes")
    assert_user_error(refused, "certified in CALIBRATION collection(s) Cam/calib (2)")
    assert "--decertify" in refused.stderr
    assert len(rows(invoke, repo, "bias", "Cam/calib")) == len(DETECTORS)
    result = invoke("remove-runs", repo, "Cam/calib/*", "--yes", "--decertify")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "runs to remove:\n"
        "  Cam/calib/run1\n"
        "datasets to remove: 2\n"
        "depending on them:\n"
        "  certified in CALIBRATION collection(s): Cam/calib (2)\n"
        "removed 1 run(s): Cam/calib/run1; deleted 2 file(s)\n"
    )
    assert rows(invoke, repo, "bias", "Cam/calib") == []
    assert len(rows(invoke, repo, "raw", "Cam/raw")) == 8


def test_remove_runs_dry_run_changes_nothing_and_needs_no_terminal(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    certify_biases(invoke, cli_repo)
    result = invoke("remove-runs", cli_repo, "Cam/*", "--dry-run", "--decertify")
    assert result.exit_code == 0, result.output
    assert "datasets to remove: 10\n" in result.stdout
    assert result.stdout.endswith("dry run: nothing changed\n")
    assert len(repo_butler.query_datasets("raw", "Cam/raw")) == 8
    assert len(repo_butler.query_datasets("bias", "Cam/calib")) == 2
    refused = invoke("remove-runs", cli_repo, "Cam/calib/*", "--dry-run")
    assert refused.exit_code == 0, refused.output
    assert "  certified in CALIBRATION collection(s): Cam/calib (2)\n" in refused.stdout
    assert "as asked, this would be refused: run(s) Cam/calib/run1 include 2" in refused.stdout
    assert len(repo_butler.query_datasets("bias", "Cam/calib")) == 2


def test_remove_runs_prompt_lists_tags_and_chains(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(removal, "stdin_is_terminal", lambda: True)
    assert invoke("associate", cli_repo, "picked", "raw", "--collections", "Cam/raw").exit_code == 0
    repo_butler.set_collection_chain("Cam/defaults", ["Cam/raw", "Cam/calib/run1"])
    result = invoke("remove-runs", cli_repo, "Cam/raw", input="n\n")
    assert result.exit_code == 1
    assert "  members of TAGGED collection(s): picked (8)\n" in result.stdout
    assert "which lose them: Cam/defaults (Cam/raw)\n" in result.stdout
    assert len(repo_butler.query_datasets("raw", "picked")) == 8


def test_remove_runs_with_an_undeletable_file_removes_nothing(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    files = files_of(repo_butler, "raw", "Cam/raw")
    with undeletable(files[0].parent):
        result = invoke("remove-runs", cli_repo, "Cam/raw", "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot delete ")
    assert "nothing was removed" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "removed 1 run" not in result.stdout
    assert all(f.exists() for f in files)
    assert len(repo_butler.query_datasets("raw", "Cam/raw")) == 8


# -- associate and disassociate -------------------------------------------------------------


def test_associate_is_idempotent_and_disassociate_takes_out(invoke: Invoke, cli_repo: Path) -> None:
    args = ("associate", cli_repo, "best", "raw", "--collections", "Cam/raw")
    first = invoke(*args, "-d", "exposure IN (:e)", "--bind", "e=1")
    assert first.stdout == "associated 2 raw dataset(s) with best (0 already there)\n"
    again = invoke(*args, "-d", "exposure <= 2")
    assert again.stdout == "associated 4 raw dataset(s) with best (2 already there)\n"
    tagged = rows(invoke, cli_repo, "raw", "best")
    assert sorted((r["exposure"], r["detector"]) for r in tagged) == [
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
    ]
    out = invoke("disassociate", cli_repo, "best", "raw", "-d", "detector = 0")
    assert out.stdout == "removed 2 raw dataset(s) from best\n"
    assert [r["detector"] for r in rows(invoke, cli_repo, "raw", "best")] == [1, 1]
    assert len(rows(invoke, cli_repo, "raw", "Cam/raw")) == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("associate", "Cam/raw", "raw", "--collections", "Cam/raw"), "already exists as RUN"),
        (("associate", "t", "raw", "--collections", "Cam/raw", "-d", "exposure = 9"), "no raw"),
        (("disassociate", "Cam/raw", "raw"), "TAGGED collection is needed"),
        (("disassociate", "nothere", "raw"), "does not exist"),
    ],
)
def test_tagging_user_errors(
    invoke: Invoke, cli_repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_user_error(invoke(args[0], cli_repo, *args[1:]), message)


# -- prune-datasets -------------------------------------------------------------------------


def test_prune_purge_deletes_the_matching_datasets_and_files(
    invoke: Invoke, cli_repo: Path, repo_butler: Butler
) -> None:
    files = files_of(repo_butler, "raw", "Cam/raw")
    base = ("prune-datasets", cli_repo, "raw", "--collections", "Cam/raw", "-d", "exposure = 1")
    dry = invoke(*base, "--purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "datasets to purge:\n  Cam/raw: " in dry.stdout
    assert "nothing else depends on them\n" in dry.stdout
    assert all(f.exists() for f in files)
    result = invoke(*base, "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("purged 2 raw dataset(s); deleted 2 file(s)\n")
    assert [f.exists() for f in files] == [False, False] + [True] * 6
    assert sorted({r["exposure"] for r in rows(invoke, cli_repo, "raw", "Cam/raw")}) == [2, 3, 4]


def test_prune_purge_refuses_tagged_and_certified_unless_asked(
    invoke: Invoke, cli_repo: Path
) -> None:
    certify_biases(invoke, cli_repo)
    invoke("associate", cli_repo, "best", "bias", "--collections", "Cam/calib/run1")
    base = ("prune-datasets", cli_repo, "bias", "--collections", "Cam/calib/run1", "--purge")
    assert_user_error(invoke(*base, "--yes"), "Cam/calib (2); pass --decertify")
    assert_user_error(invoke(*base, "--yes", "--decertify"), "best (2); pass --untag")
    assert len(rows(invoke, cli_repo, "bias", "Cam/calib")) == 2
    result = invoke(*base, "--yes", "--decertify", "--untag")
    assert result.exit_code == 0, result.output
    assert "certified in CALIBRATION collection(s): Cam/calib (2)" in result.stdout
    assert "members of TAGGED collection(s): best (2)" in result.stdout
    assert rows(invoke, cli_repo, "bias", "Cam/calib/run1") == []
    assert rows(invoke, cli_repo, "bias", "best") == []


def test_prune_disassociate_from_a_calibration_collection_decertifies(
    invoke: Invoke, cli_repo: Path
) -> None:
    certify_biases(invoke, cli_repo)
    result = invoke(
        "prune-datasets", cli_repo, "bias", "--collections", "Cam/calib", "-d", "detector = 1",
        "--disassociate", "Cam/calib", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("decertified bias in Cam/calib: removed 1 validity range(s)\n")
    assert [r["detector"] for r in rows(invoke, cli_repo, "bias", "Cam/calib")] == [0]
    assert len(rows(invoke, cli_repo, "bias", "Cam/calib/run1")) == 2


def test_prune_disassociate_from_a_tagged_collection(invoke: Invoke, cli_repo: Path) -> None:
    invoke("associate", cli_repo, "best", "raw", "--collections", "Cam/raw")
    result = invoke(
        "prune-datasets", cli_repo, "raw", "--collections", "best", "--find-all",
        "-d", "exposure > 2", "--disassociate", "best", "--yes",
    )  # fmt: skip
    assert result.stdout.endswith("removed 4 raw dataset(s) from best\n")
    assert len(rows(invoke, cli_repo, "raw", "best")) == 4
    assert len(rows(invoke, cli_repo, "raw", "Cam/raw")) == 8


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ((), "exactly one of --disassociate COLLECTION and --purge"),
        (("--purge", "--disassociate", "x"), "exactly one of"),
        (("--disassociate", "Cam/raw", "--decertify"), "go with --purge"),
        (("--disassociate", "Cam/raw"), "'Cam/raw' is RUN"),
        (("--purge",), "pass --yes"),
    ],
)
def test_prune_user_errors(
    invoke: Invoke, cli_repo: Path, flags: tuple[str, ...], message: str
) -> None:
    result = invoke("prune-datasets", cli_repo, "raw", "--collections", "Cam/raw", *flags)
    assert_user_error(result, message)


def test_prune_matching_nothing_does_nothing(invoke: Invoke, cli_repo: Path) -> None:
    result = invoke(
        "prune-datasets", cli_repo, "raw", "--collections", "Cam/raw", "-d", "exposure = 9",
        "--purge",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == "no raw datasets match; nothing to do\n"


# -- remove-collections ---------------------------------------------------------------------


def test_remove_collections(invoke: Invoke, cli_repo: Path, repo_butler: Butler) -> None:
    certify_biases(invoke, cli_repo)
    invoke("associate", cli_repo, "Cam/best", "raw", "--collections", "Cam/raw")
    repo_butler.set_collection_chain("Cam/defaults", ["Cam/raw", "Cam/calib", "Cam/best"])
    assert_user_error(invoke("remove-collections", cli_repo, "Cam/*", "--yes"), "use remove-runs")
    assert_user_error(
        invoke("remove-collections", cli_repo, "Cam/best", "--yes"),
        "named by chained collection(s) Cam/defaults",
    )
    assert_user_error(
        invoke("remove-collections", cli_repo, "Cam/calib", "Cam/defaults", "--yes"),
        "Cam/calib (2) still certify datasets; pass --decertify",
    )
    dry = invoke("remove-collections", cli_repo, "Cam/defaults", "Cam/best", "--dry-run")
    assert dry.stdout == (
        "collections to remove:\n"
        "  Cam/defaults (CHAINED, 3 child(ren))\n"
        "  Cam/best (TAGGED, 8 dataset(s))\n"
        "dry run: nothing changed\n"
    )
    result = invoke("remove-collections", cli_repo, "Cam/defaults", "Cam/best", "--yes")
    assert result.stdout.endswith("removed 2 collection(s): Cam/defaults, Cam/best\n")
    remaining = [r.name for r in repo_butler.registry.query_collections()]
    assert remaining == ["Cam/calib", "Cam/calib/run1", "Cam/raw"]
    assert len(repo_butler.query_datasets("raw", "Cam/raw")) == 8
    assert_user_error(invoke("remove-collections", cli_repo, "Other*", "--yes"), "no collection")
