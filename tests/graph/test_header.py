"""The typed graph header: what the builder puts in it, its saved form, and what loading refuses."""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from graph.helpers import put_raws, resolved
from graph.tasks import PerDetector, PerExposure
from quanta.butler import Butler
from quanta.cli.main import cli
from quanta.core.errors import ConfigError
from quanta.graph.builder import build_graph
from quanta.graph.header import GRAPH_FORMAT_VERSION, UniverseVersion
from quanta.graph.io import load_graph, save_graph
from quanta.graph.model import QuantumGraph
from quanta.pipe.resolved import ResolvedPipeline
from repo_data import make_repo

WHERE = "detector < :d"


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Butler]:
    """A SQLite repository with raws."""
    butler = make_repo(tmp_path / "repo")
    put_raws(butler)
    yield butler
    butler.close()


def _pipeline(butler: Butler) -> ResolvedPipeline:
    return resolved(butler, ("calexp", PerExposure, {}), ("summary", PerDetector, {}))


def _graph(butler: Butler, pipeline: ResolvedPipeline | None = None) -> QuantumGraph:
    pipeline = pipeline or _pipeline(butler)
    return build_graph(butler, pipeline, ["raw"], "out/run1", "out", WHERE, {"d": 2})


def _saved(butler: Butler, path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Save the test graph to ``path`` with its JSON form changed by ``change``."""
    save_graph(_graph(butler), path)
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        data = json.load(stream)
    change(data)
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        json.dump(data, stream)
    return path


def test_the_builder_fills_every_field_and_keeps_the_pipeline_object(
    repo: Butler, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("building a graph must not serialise its pipeline")

    pipeline = _pipeline(repo)
    monkeypatch.setattr(ResolvedPipeline, "to_json", refuse)
    monkeypatch.setattr(ResolvedPipeline, "from_json", refuse)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    header = _graph(repo, pipeline).header
    assert header.pipeline is pipeline
    assert (header.run, header.output, header.inputs) == ("out/run1", "out", ("raw",))
    assert (header.where, header.binds) == (WHERE, {"d": 2})
    universe = repo.universe
    assert header.universe == UniverseVersion(
        namespace=universe.namespace, version=universe.version
    )
    assert str(header.universe) == f"{universe.namespace}:{universe.version}"
    assert header.format_version == GRAPH_FORMAT_VERSION == 2
    assert before <= header.created <= datetime.datetime.now(datetime.UTC)
    assert header.created.microsecond == 0
    with pytest.raises(ValidationError, match="frozen"):
        header.run = "other"  # type: ignore[misc]


def test_the_saved_header_is_json_with_the_pipeline_description(
    repo: Butler, tmp_path: Path
) -> None:
    graph = _graph(repo)
    path = tmp_path / "g.json.gz"
    save_graph(graph, path)
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        data = json.load(stream)
    assert data["version"] == GRAPH_FORMAT_VERSION
    universe = repo.universe
    assert data["header"] == {
        "format_version": GRAPH_FORMAT_VERSION,
        "run": "out/run1",
        "output": "out",
        "inputs": ["raw"],
        "where": WHERE,
        "binds": {"d": 2},
        "data_ids": None,
        "skip_existing_in": [],
        "pipeline": graph.header.pipeline.to_json(),
        "universe": {"namespace": universe.namespace, "version": universe.version},
        "created": graph.header.created.isoformat(),
    }
    assert data["header"]["created"].endswith("+00:00")
    loaded = load_graph(path, universe).header
    assert loaded.to_json() == data["header"]
    assert loaded.pipeline == graph.header.pipeline
    assert loaded.pipeline is not graph.header.pipeline
    assert loaded.pipeline.labels == ["calexp", "summary"]


def test_a_graph_of_another_universe_version_is_refused(repo: Butler, tmp_path: Path) -> None:
    path = tmp_path / "g.json.gz"
    save_graph(_graph(repo), path)
    universe = repo.universe
    newer = dataclasses.replace(universe, version=universe.version + 1)
    saved, here = f"{universe.namespace}:{universe.version}", f"{newer.namespace}:{newer.version}"
    message = f"built for dimension universe {saved}, but this repository's is {here}; rebuild"
    with pytest.raises(ConfigError, match=message):
        load_graph(path, newer)
    other = dataclasses.replace(universe, namespace="elsewhere")
    with pytest.raises(ConfigError, match=f"universe {saved}, but this repository's is elsewhere:"):
        load_graph(path, other)


def test_running_a_graph_of_another_universe_is_a_one_line_error(
    repo: Butler, tmp_path: Path
) -> None:
    def newer_universe(data: dict[str, Any]) -> None:
        data["header"]["universe"]["version"] += 1

    path = _saved(repo, tmp_path / "g.json.gz", newer_universe)
    result = CliRunner().invoke(cli, ["run", str(repo.root), "--qgraph", str(path)])
    assert result.exit_code == 2
    version = repo.universe.version
    assert result.stderr.splitlines() == [
        f"error: the quantum graph was built for dimension universe "
        f"{repo.universe.namespace}:{version + 1}, but this repository's is "
        f"{repo.universe.namespace}:{version}; rebuild the graph"
    ]
    assert repo.registry.find_collection("out") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(version=1),
            r"^quantum graph format version 1 is not supported \(this quanta reads version 2\); "
            "rebuild the graph$",
        ),
        (
            lambda d: d["header"].update(format_version=3),
            "quantum graph format version 3 is not supported",
        ),
        (
            lambda d: d["header"].update(run=None),
            "invalid quantum graph header: run: Input should be a valid string",
        ),
        (
            lambda d: d["header"]["universe"].pop("version"),
            "invalid quantum graph header: universe.version: Field required",
        ),
        (
            lambda d: d["header"].update(pipeline={"description": "no tasks"}),
            "invalid quantum graph header: pipeline: no list of tasks",
        ),
    ],
    ids=["file version", "header version", "run", "universe", "pipeline"],
)
def test_loading_refuses_a_bad_header_in_one_line(
    repo: Butler, tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = _saved(repo, tmp_path / "g.json.gz", change)
    with pytest.raises(ConfigError, match=message) as info:
        load_graph(path, repo.universe)
    assert "\n" not in str(info.value)


def test_a_loaded_pipeline_is_parsed_when_first_used(
    repo: Butler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(data: dict[str, Any]) -> None:
        data["header"]["pipeline"]["tasks"][0]["class"] = "graph.tasks.Gone"

    path = _saved(repo, tmp_path / "g.json.gz", gone)
    with monkeypatch.context() as patched:
        patched.setattr(ResolvedPipeline, "from_json", None)
        graph = load_graph(path, repo.universe)
        again = tmp_path / "again.json.gz"
        save_graph(graph, again)
    assert len(graph) == 26 and graph.header.run == "out/run1"
    assert load_graph(again, repo.universe).header.to_json() == graph.header.to_json()
    with pytest.raises(ConfigError, match=r"saved pipeline .*task 'calexp'.*'Gone'"):
        graph.header.pipeline  # noqa: B018
