"""``ptc_groups`` refuses, while the graph is built, pairs that share a flat: from two
group systems over the same flats, or from one system that is not exclusive. The
``quick`` preset's flow (6 flat pairs per detector, grouped as ``flatPairs``) is the
repository; every refusal is one line, exit code 2, and leaves no collection behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.demo import CALIB, RAW, run_calibration_flow
from quanta.instruments.groups.define import define_groups

FLATS = "exposure.observation_type = 'flat'"


@dataclass
class Repo:
    """The flow's repository and its flats in time order."""

    path: Path
    butler: Butler
    flats: list[int]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("overlap")
    result = run_calibration_flow(root, design="groups", preset="quick", processes=1)
    butler = Butler(result.repo)
    records = butler.registry.query_dimension_records("exposure", where=FLATS)
    flats = [r.id for r in sorted(records, key=lambda r: (r.timespan.begin, r.id))]
    define_groups(butler, "flatPairsToo", rule="flat-pairs", exclusive=True)
    return Repo(result.repo, butler, flats)


def ptc_groups(repo: Repo, command: str, output: str, *extra: str) -> Result:
    args = [command, str(repo.path), "-p", "ptc_groups", "-i", f"{RAW},{CALIB}", "-o", output]
    return CliRunner().invoke(cli, [*args, *extra])


def assert_refused(repo: Repo, result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output


@pytest.mark.parametrize("command", ["qgraph", "run"])
def test_two_group_systems_over_the_same_flats_are_refused_naming_both(
    repo: Repo, command: str
) -> None:
    before = {c.name for c in repo.butler.registry.query_collections()}
    result = ptc_groups(repo, command, f"u/test/both-{command}", "-d", FLATS)
    assert_refused(repo, result, "is in pairs of group systems 'flatPairs' and 'flatPairsToo'")
    assert {c.name for c in repo.butler.registry.query_collections()} == before


def test_one_system_with_a_flat_in_two_pairs_is_refused(repo: Repo, tmp_path: Path) -> None:
    e = repo.flats
    groups = tmp_path / "overlapping.csv"
    groups.write_text(f"group,exposures\nlow,{e[0]},{e[1]}\nshifted,{e[1]},{e[2]}\n")
    define_groups(repo.butler, "overlapping", from_file=groups)
    chosen = ["-d", "group.system = 'overlapping'", "-c", "ptcSolve:group_system=overlapping"]
    result = ptc_groups(repo, "qgraph", "u/test/overlapping", *chosen)
    assert_refused(
        repo,
        result,
        f"flat {e[1]} is in two pairs of group system 'overlapping' (groups 'low' and "
        "'shifted'); a flat may be in one pair only: define the pairs as an exclusive group system",
    )


def test_one_exclusive_system_builds(repo: Repo) -> None:
    result = ptc_groups(repo, "qgraph", "u/test/one", "-d", "group.system = 'flatPairs'")
    assert result.exit_code == 0, result.output
