"""``quanta define-groups`` end to end, and groups seen by ``query-dimension-records``.

The repository holds ``repo_data``'s records: instrument Cam, exposures 1-12 of one
night, 5-8 flats with exposure times 1, 1, 2, 2 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.small_repo import Invoke, assert_user_error
from quanta.cli.operations import open_butler
from repo_data import INSTRUMENT, NIGHT, fill_dimensions

SUMMARY = (
    "group system ptc (Cam, rule 'flat-pairs --tolerance 0.005', groups of 2, exclusive): "
    "{total} groups ({new} new, {existing} existing), 4 members, 0 exposures left out\n"
)


@pytest.fixture
def repo(tmp_path: Path, invoke: Invoke) -> Path:
    root = tmp_path / "repo"
    assert invoke("create", root).exit_code == 0
    with open_butler(root) as butler:
        fill_dimensions(butler)
    return root


def records(invoke: Invoke, repo: Path, element: str, *args: str) -> list[dict]:
    result = invoke("query-dimension-records", repo, element, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_flat_pairs_then_query_the_groups(invoke: Invoke, repo: Path) -> None:
    result = invoke("define-groups", repo, "--system", "ptc", "--exclusive", "--rule", "flat-pairs")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == SUMMARY.format(total=2, new=2, existing=0)
    again = invoke("define-groups", repo, "--system", "ptc", "--exclusive", "--rule", "flat-pairs")
    assert again.stdout == SUMMARY.format(total=2, new=0, existing=2)
    assert records(invoke, repo, "group") == [
        {"instrument": INSTRUMENT, "group_system": "ptc", "name": "5+6", "n_members": 2},
        {"instrument": INSTRUMENT, "group_system": "ptc", "name": "7+8", "n_members": 2},
    ]
    chosen = records(
        invoke, repo, "group", "--where", "group.system = 'ptc' AND exposure IN (5, 6)"
    )
    assert [g["name"] for g in chosen] == ["5+6"]
    assert records(invoke, repo, "group_system") == [
        {
            "instrument": INSTRUMENT,
            "name": "ptc",
            "exclusive": True,
            "group_size": 2,
            "rule": "flat-pairs --tolerance 0.005",
        }
    ]
    members = records(invoke, repo, "exposure", "-d", "group = '7+8'")
    assert [e["id"] for e in members] == [7, 8]


def test_left_out_exposures_are_listed_then_counted(invoke: Invoke, repo: Path) -> None:
    with open_butler(repo) as butler:
        butler.insert_dimension_records(
            "exposure",
            [
                {"instrument": INSTRUMENT, "id": 100 + i, "obs_id": f"X{i}", "day_obs": NIGHT}
                for i in range(25)
            ],
        )
    result = invoke(
        "define-groups", repo, "--system", "ids", "--rule", "by-keyword group_name", "-d",
        "exposure >= :first", "--bind", "first=100",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "group system ids (Cam, rule 'by-keyword group_name'): 0 groups (0 new, 0 existing), "
        "0 members, 25 exposures left out"
    )
    assert lines[1] == "  left out 100: no group_name value in its exposure record"
    assert len(lines) == 22
    assert lines[-1] == "  ... and 5 more"


def test_from_file_keeps_the_order_of_the_file(invoke: Invoke, repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "pairs.yaml"
    path.write_text("groups:\n  - {name: swapped, exposures: [8, 5]}\n")
    result = invoke("define-groups", repo, "--system", "manual", "--from-file", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("group system manual (Cam, rule 'from-file'): 1 groups")
    with open_butler(repo) as butler:
        data_ids = butler.query_data_ids(["group", "exposure"], where="group = 'swapped'")
    assert [d["exposure"] for d in data_ids] == [8, 5]


def test_a_bad_file_exits_2_naming_the_line(invoke: Invoke, repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("group,exposures\na,5,6\nb,6,7\n")
    result = invoke("define-groups", repo, "--system", "ptc", "--exclusive", "--from-file", path)
    assert_user_error(
        result,
        f"{path}:3: exposure 6 of group 'b' is already in group 'a' of the exclusive system 'ptc'",
    )
    assert records(invoke, repo, "group") == []
    assert records(invoke, repo, "group_system") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give either a rule (--rule) or a group file (--from-file)"),
        (("--rule", "pairs"), "unknown grouping rule 'pairs'; known rules: by-keyword"),
        (("--rule", "consecutive x"), "needs an integer group size, got 'x'"),
        (("--rule", "flat-pairs", "--instrument", "NoCam"), "no instrument 'NoCam'"),
        (("--rule", "flat-pairs", "--group-size", "2"), "--group-size applies to --from-file"),
        (("--from-file", "{tmp}/g.csv", "-d", "exposure > 1"), "--bind, --stats and --tolerance"),
        (("--from-file", "{tmp}/missing.csv"), "missing.csv: cannot read"),
    ],
)
def test_user_errors_exit_2(
    invoke: Invoke, repo: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "g.csv").write_text("group,exposures\na,5,6\n")
    arguments = [a.format(tmp=tmp_path) for a in args]
    assert_user_error(invoke("define-groups", repo, "--system", "ptc", *arguments), message)


def test_a_negative_tolerance_is_a_usage_error(invoke: Invoke, repo: Path) -> None:
    result = invoke(
        "define-groups", repo, "--system", "ptc", "--rule", "flat-pairs", "--tolerance", "-1"
    )
    assert result.exit_code == 2
    assert "-1.0 is not in the range x>=0" in result.stderr
    assert records(invoke, repo, "group_system") == []
