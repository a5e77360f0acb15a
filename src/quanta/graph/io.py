"""Saving and loading quantum graphs: versioned, gzip-compressed JSON, never pickle.

Large integer columns are plain JSON lists; dataset IDs are one base64 string of
16-byte IDs per dataset type, which keeps files compact and loading fast.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core.dataset_type import DatasetType
from ..core.errors import ConfigError
from ..core.universe import DimensionUniverse
from .columns import DataIdColumns
from .model import GRAPH_FORMAT_VERSION, DatasetNodes, Edges, QuantumGraph, TaskNodes, TaskStats

FORMAT_NAME = "quanta-graph"


def _edges_json(edges: dict[str, Edges]) -> dict[str, Any]:
    return {
        name: {
            "dataset_type": e.dataset_type,
            "offsets": e.offsets.tolist(),
            "indices": e.indices.tolist(),
        }
        for name, e in edges.items()
    }


def graph_to_json(graph: QuantumGraph) -> dict[str, Any]:
    """The JSON-safe form of a graph."""
    return {
        "format": FORMAT_NAME,
        "version": GRAPH_FORMAT_VERSION,
        "header": graph.header,
        "runs": graph.runs,
        "datasets": {
            name: {
                "dimensions": list(nodes.dataset_type.dimensions.required),
                "storage_class": nodes.dataset_type.storage_class,
                "is_calibration": nodes.dataset_type.is_calibration,
                "data_ids": nodes.data_ids.to_json(),
                "ids": base64.b64encode(nodes.ids.tobytes()).decode("ascii"),
                "runs": nodes.runs.tolist(),
                "producers": nodes.producers.tolist(),
            }
            for name, nodes in graph.datasets.items()
        },
        "tasks": [
            {
                "label": t.label,
                "first": t.first,
                "data_ids": t.data_ids.to_json(),
                "inputs": _edges_json(t.inputs),
                "outputs": _edges_json(t.outputs),
            }
            for t in graph.tasks
        ],
        "stats": [vars(s) for s in graph.stats],
    }


def graph_from_json(data: dict[str, Any], universe: DimensionUniverse) -> QuantumGraph:
    """Rebuild a graph from ``graph_to_json`` output."""
    if data.get("format") != FORMAT_NAME:
        raise ConfigError("not a quanta quantum graph file")
    if data.get("version") != GRAPH_FORMAT_VERSION:
        raise ConfigError(
            f"quantum graph format version {data.get('version')} is not supported "
            f"(this quanta reads version {GRAPH_FORMAT_VERSION}); rebuild the graph"
        )
    datasets = {}
    for name, d in data["datasets"].items():
        dataset_type = DatasetType(
            name, universe.group(d["dimensions"]), d["storage_class"], d["is_calibration"]
        )
        datasets[name] = DatasetNodes(
            dataset_type,
            DataIdColumns.from_json(dataset_type.dimensions, d["data_ids"]),
            np.frombuffer(base64.b64decode(d["ids"]), dtype="V16").copy(),
            np.asarray(d["runs"], dtype=np.int32),
            np.asarray(d["producers"], dtype=np.int64),
        )
    tasks = []
    for t in data["tasks"]:
        group = universe.group(t["data_ids"]["dimensions"])
        tasks.append(
            TaskNodes(
                t["label"],
                t["first"],
                DataIdColumns.from_json(group, t["data_ids"]),
                {n: _edges(e) for n, e in t["inputs"].items()},
                {n: _edges(e) for n, e in t["outputs"].items()},
            )
        )
    stats = [TaskStats(**s) for s in data.get("stats", [])]
    return QuantumGraph(data["header"], data["runs"], datasets, tasks, stats)


def _edges(data: dict[str, Any]) -> Edges:
    return Edges(
        data["dataset_type"],
        np.asarray(data["offsets"], dtype=np.int64),
        np.asarray(data["indices"], dtype=np.int64),
    )


def save_graph(graph: QuantumGraph, path: str | Path) -> None:
    """Write a graph atomically as gzip-compressed JSON."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as stream:
            json.dump(graph_to_json(graph), stream, separators=(",", ":"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_graph(path: str | Path, universe: DimensionUniverse) -> QuantumGraph:
    """Read a graph written by ``save_graph``."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, EOFError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read quantum graph: {err}") from None
    return graph_from_json(data, universe)
