"""``quanta compare``: the summary printed, exit codes, the JSON and HTML reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.small_repo import Invoke
from compare.two_runs import RUN_A, RUN_B, make_two_runs
from quanta.compare import CompareReport


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare") / "repo"
    make_two_runs(root).close()
    return root


def test_identical_types_exit_0_even_with_fail_on_diff(invoke: Invoke, repo: Path) -> None:
    result = invoke("compare", repo, RUN_A, RUN_B, "summary", "plot", "--fail-on-diff")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["summary", "plot"]
    assert all(row.split("│")[3].strip() == "identical" for row in rows)
    assert "overall: identical" in result.stdout


def test_differences_exit_1_only_with_fail_on_diff(invoke: Invoke, repo: Path) -> None:
    plain = invoke("compare", repo, RUN_A, RUN_B)
    assert plain.exit_code == 0, plain.output
    assert "calexp {instrument=Cam,detector=0,exposure=6}: image: 1 of 80 differ" in plain.stdout
    assert "calexp: only in A: {instrument=Cam,detector=0,exposure=7}" in plain.stdout
    assert "pairTable: only in B: {instrument=Cam,detector=0,pair=7+8}" in plain.stdout
    assert "skipped by default (timings; name them to compare): task_metadata" in plain.stdout
    failing = invoke("compare", repo, RUN_A, RUN_B, "--fail-on-diff")
    assert failing.exit_code == 1
    assert failing.stdout == plain.stdout


def test_tolerances_make_differences_pass(invoke: Invoke, repo: Path) -> None:
    args = ("compare", repo, RUN_A, RUN_B, "calexp", "-d", "exposure = 6", "--fail-on-diff")
    assert invoke(*args).exit_code == 1
    result = invoke(*args, "--atol", "0.5")
    assert result.exit_code == 0, result.output
    assert "within_tolerance" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((RUN_A, "nope"), "error: collection 'nope' does not exist in repository B"),
        ((RUN_A, RUN_B, "--rtol", "-1"), "Invalid value for '--rtol'"),
        ((RUN_A, RUN_B, "-d", "pair = '5+6'"), "error: unknown name 'pair' at column 1"),
        (
            (RUN_A, RUN_B, "--match-columns", "amp", "--match-sky", "1"),
            "give --match-columns or --match-sky, not both",
        ),
    ],
)
def test_user_errors_exit_2(
    invoke: Invoke, repo: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke("compare", repo, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_missing_second_repository_is_a_user_error(
    invoke: Invoke, repo: Path, tmp_path: Path
) -> None:
    result = invoke("compare", repo, RUN_A, RUN_B, "--repo-b", tmp_path / "none")
    assert result.exit_code == 2 and "is not a quanta repository" in result.stderr


def test_json_and_html_reports(invoke: Invoke, repo: Path, tmp_path: Path) -> None:
    json_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    result = invoke(
        "compare",
        repo,
        RUN_A,
        "--repo-b",
        repo,
        RUN_B,
        "--match-columns",
        "amp",
        "--json",
        json_path,
        "--html",
        html_path,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text())
    assert data["collection_a"] == RUN_A and data["options"]["match_columns"] == ["amp"]
    report = CompareReport.model_validate_json(json_path.read_text())
    table = report.summary("pairTable").datasets[0].detail
    assert table is not None and table.kind == "table"
    assert table.column("mean").rows == ["amp=C01"]
    page = html_path.read_text()
    assert '<img src="data:image/png;base64,' in page
    assert "amp=C01" in page


def test_ignore_columns_replace_the_defaults(invoke: Invoke, repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    result = invoke(
        "compare",
        repo,
        RUN_A,
        RUN_B,
        "pairTable",
        "--ignore-columns",
        "mean",
        "--json",
        path,
        "--fail-on-diff",
    )
    assert result.exit_code == 1  # pair 7+8 is still only in B
    report = CompareReport.model_validate_json(path.read_text())
    table = report.summary("pairTable").datasets
    assert table == []  # with mean ignored, pair 5+6 is identical (start_ns is compared: equal)
    assert report.options.ignore_columns == ("mean",)


def test_an_unwritable_report_is_a_user_error(invoke: Invoke, repo: Path, tmp_path: Path) -> None:
    result = invoke("compare", repo, RUN_A, RUN_B, "plot", "--json", tmp_path / "no" / "r.json")
    assert result.exit_code == 2 and "error: cannot write" in result.stderr
