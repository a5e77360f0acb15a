"""``quanta qgraph``: counts and explanations, saving, listing, DOT, empty graphs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from graph.helpers import put_raws
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.graph.io import load_graph
from repo_data import make_repo


def _repo(tmp_path: Path) -> Butler:
    butler = make_repo(tmp_path / "repo")
    put_raws(butler, exposures=(1, 2, 3), detectors=(0, 1))
    return butler


def test_qgraph_saves_shows_and_draws(tmp_path: Path) -> None:
    butler = _repo(tmp_path)
    saved, dot = tmp_path / "g.json.gz", tmp_path / "g.dot"
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "raw", "-o", "out"]
    result = CliRunner().invoke(
        cli, [*args, "-d", "detector = 1", "--show", "--save", str(saved), "--dot", str(dot)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("4 quanta for run out/")
    assert "task 'calexp': 3 data ID rows; candidates {raw: 3}; 3 quanta" in result.output
    assert "<- raw: raw {instrument=Cam,detector=1,exposure=2}" in result.output
    graph = load_graph(saved, butler.universe)
    assert len(graph) == 4 and graph.header["output"] == "out"
    text = dot.read_text()
    assert text.startswith("digraph quanta {") and text.count("shape=box") == 4
    assert "-> q3;" in text


def test_empty_graph_is_a_one_line_error(tmp_path: Path) -> None:
    butler = _repo(tmp_path)
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "raw", "-o", "out", "-d", "detector = 3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "task 'calexp': 0 data ID rows" in result.output
    assert "task 'summary'" in result.output


def test_config_overrides_reach_the_graph(tmp_path: Path) -> None:
    butler = _repo(tmp_path)
    saved = tmp_path / "g.json.gz"
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "raw", "-o", "out"]
    result = CliRunner().invoke(cli, [*args, "-c", "calexp:scale=7", "--save", str(saved)])
    assert result.exit_code == 0, result.output
    tasks = load_graph(saved, butler.universe).header["pipeline"]["tasks"]
    assert next(t for t in tasks if t["label"] == "calexp")["config"]["scale"] == 7.0
