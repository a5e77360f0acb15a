"""``quanta qgraph``: counts and explanations, saving, listing, DOT, empty graphs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import quanta.cli.commands_graph
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
    assert len(graph) == 4 and graph.header.output == "out"
    text = dot.read_text()
    assert text.startswith("digraph quanta {") and text.count("shape=box") == 4
    assert "-> q3;" in text


def test_empty_graph_is_a_one_line_error(tmp_path: Path) -> None:
    butler = _repo(tmp_path)
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "raw", "-o", "out", "-d", "detector = 3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: task calexp has no quanta: no data ID matching the query has all of its "
        "inputs (raw) in raw (--allow-empty calexp accepts an empty task)"
    ]
    allowed = CliRunner().invoke(cli, [*args, "--allow-empty", "calexp"])
    assert allowed.exit_code == 2
    assert "task 'calexp': 0 data ID rows" in allowed.output
    assert "task 'summary'" in allowed.output


def test_config_overrides_reach_the_graph(tmp_path: Path) -> None:
    butler = _repo(tmp_path)
    saved = tmp_path / "g.json.gz"
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "raw", "-o", "out"]
    result = CliRunner().invoke(cli, [*args, "-c", "calexp:scale=7", "--save", str(saved)])
    assert result.exit_code == 0, result.output
    pipeline = load_graph(saved, butler.universe).header.pipeline
    assert pipeline.task("calexp").config.scale == 7.0


def _imported(module: ast.Module, package: str) -> set[str]:
    """Every module a file imports, statically (module level, in functions, in branches)."""
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(filter(None, [base, node.module]))
            names.update([target, *(f"{target}.{alias.name}" for alias in node.names)])
    return names


def test_qgraph_never_imports_execution(tmp_path: Path) -> None:
    source = Path(quanta.cli.commands_graph.__file__)
    imported = _imported(ast.parse(source.read_text()), "quanta.cli")
    assert "quanta.graph.planning.plan" in imported and "quanta.cli.operations" in imported
    assert not [n for n in imported if n == "quanta.exec" or n.startswith("quanta.exec.")]

    butler = _repo(tmp_path)
    saved = tmp_path / "g.json.gz"
    code = (
        "import json, sys\n"
        "from quanta.cli.commands_graph import qgraph\n"
        "qgraph.main(sys.argv[1:], standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    args = [str(butler.root), "-p", "w1", "-i", "raw", "-o", "out", "--save", str(saved)]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    *printed, modules = done.stdout.splitlines()
    assert printed[0].startswith("8 quanta for run out/") and printed[-1] == f"saved {saved}"
    loaded = set(json.loads(modules))
    assert {"quanta.graph.planning", "quanta.graph.builder", "quanta.graph.io"} <= loaded
    assert not [m for m in loaded if m == "quanta.exec" or m.startswith("quanta.exec.")]


def test_a_glob_input_is_saved_as_the_collections_it_matches(tmp_path: Path) -> None:
    butler = _repo(tmp_path)
    saved = tmp_path / "g.json.gz"
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "r?w*", "-o", "out", "--save", saved]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert list(load_graph(saved, butler.universe).header.inputs) == ["raw"]


def test_qgraph_with_two_jobs_builds_the_same_graph(tmp_path: Path, monkeypatch) -> None:
    import quanta.graph.builder

    # Every task's output IDs go to the worker processes, however small the graph.
    monkeypatch.setattr(quanta.graph.builder, "_PARALLEL_IDS", 1)
    butler = _repo(tmp_path)
    args = ["qgraph", str(butler.root), "-p", "w1", "-i", "raw", "-o", "out"]
    graphs = []
    for jobs in ("1", "2"):
        saved = tmp_path / f"g{jobs}.json.gz"
        result = CliRunner().invoke(cli, [*args, "-j", jobs, "--save", str(saved)])
        assert result.exit_code == 0, result.output
        graphs.append(load_graph(saved, butler.universe))
    one, two = graphs
    assert len(one) == len(two) == 8
    for name, nodes in one.datasets.items():
        assert nodes.ids.tobytes() == two.datasets[name].ids.tobytes(), name
    assert CliRunner().invoke(cli, [*args, "-j", "0"]).exit_code == 2
