"""Saving and loading quantum graphs: versioned, gzip-compressed JSON, never pickle.

Large integer columns are plain JSON lists; dataset IDs are one base64 string of
16-byte IDs per dataset type, which keeps files compact and loading fast. Saving writes
one array at a time and loading parses the text as it is decompressed, so neither holds
the whole text.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..core.dataset_type import DatasetType
from ..core.errors import ConfigError
from ..core.universe import DimensionUniverse
from .columns import DataIdColumns
from .header import GRAPH_FORMAT_VERSION, GraphHeader, check_format_version
from .model import DatasetNodes, Edges, QuantumGraph, TaskNodes, TaskStats
from .stream_json import JsonStream, Layout

FORMAT_NAME = "quanta-graph"
_SEPARATORS = (",", ":")


def _edges_json(edges: dict[str, Edges], lists: bool) -> dict[str, Any]:
    return {
        name: {
            "dataset_type": e.dataset_type,
            "offsets": _list(e.offsets, lists),
            "indices": _list(e.indices, lists),
        }
        for name, e in edges.items()
    }


def _list(values: np.ndarray, lists: bool) -> Any:
    return values.tolist() if lists else values


def graph_to_json(graph: QuantumGraph) -> dict[str, Any]:
    """The JSON-safe form of a graph."""
    return _graph_json(graph, lists=True)


def _graph_json(graph: QuantumGraph, lists: bool) -> dict[str, Any]:
    """The JSON form of a graph; with ``lists`` false, NumPy arrays are left as they are
    (``_write_json`` converts them one at a time)."""
    return {
        "format": FORMAT_NAME,
        "version": GRAPH_FORMAT_VERSION,
        "header": graph.header.to_json(),
        "runs": graph.runs,
        "datasets": {
            name: {
                "dimensions": list(nodes.dataset_type.dimensions.required),
                "storage_class": nodes.dataset_type.storage_class,
                "is_calibration": nodes.dataset_type.is_calibration,
                "data_ids": nodes.data_ids.to_json(lists),
                "ids": base64.b64encode(nodes.ids.tobytes()).decode("ascii"),
                "runs": _list(nodes.runs, lists),
                "producers": _list(nodes.producers, lists),
            }
            for name, nodes in graph.datasets.items()
        },
        "tasks": [
            {
                "label": t.label,
                "first": t.first,
                "data_ids": t.data_ids.to_json(lists),
                "inputs": _edges_json(t.inputs, lists),
                "outputs": _edges_json(t.outputs, lists),
            }
            for t in graph.tasks
        ],
        "stats": [vars(s) for s in graph.stats],
    }


def graph_from_json(data: dict[str, Any], universe: DimensionUniverse) -> QuantumGraph:
    """Rebuild a graph from ``graph_to_json`` output."""
    if data.get("format") != FORMAT_NAME:
        raise ConfigError("not a quanta quantum graph file")
    check_format_version(data.get("version"))
    header = GraphHeader.from_json(data["header"], universe)
    datasets = {}
    for name, d in data["datasets"].items():
        dataset_type = DatasetType(
            name, universe.group(d["dimensions"]), d["storage_class"], d["is_calibration"]
        )
        datasets[name] = DatasetNodes(
            dataset_type,
            DataIdColumns.from_json(dataset_type.dimensions, d["data_ids"]),
            _ids(d["ids"]),
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
    return QuantumGraph(header, data["runs"], datasets, tasks, stats)


def _ids(ids: str | np.ndarray) -> np.ndarray:
    """Dataset IDs as 16-byte values: decoded already when loaded, base64 in plain JSON."""
    if isinstance(ids, np.ndarray):
        return ids
    return np.frombuffer(base64.b64decode(ids), dtype="V16").copy()


def _edges(data: dict[str, Any]) -> Edges:
    return Edges(
        data["dataset_type"],
        np.asarray(data["offsets"], dtype=np.int64),
        np.asarray(data["indices"], dtype=np.int64),
    )


def _write_json(stream: TextIO, value: Any) -> None:
    """Write ``value`` as ``json.dump(value, stream, separators=(",", ":"))`` does, but
    with the C encoder of ``json.dumps`` (``json.dump`` runs the pure-Python one, several
    times slower) and converting each array to a list only when it is written, so that
    the graph is never held as lists all at once."""
    if isinstance(value, np.ndarray):
        stream.write(json.dumps(value.tolist(), separators=_SEPARATORS))
    elif isinstance(value, dict) and _has_arrays(value):
        stream.write("{")
        for position, (key, item) in enumerate(value.items()):
            stream.write(("," if position else "") + json.dumps(key) + ":")
            _write_json(stream, item)
        stream.write("}")
    elif isinstance(value, list) and _has_arrays(value):
        stream.write("[")
        for position, item in enumerate(value):
            stream.write("," if position else "")
            _write_json(stream, item)
        stream.write("]")
    else:
        stream.write(json.dumps(value, separators=_SEPARATORS))


def _has_arrays(value: Any) -> bool:
    """Whether arrays are nested in a dict (with string keys) or list."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) for k in value) and any(map(_has_arrays, value.values()))
    if isinstance(value, list):
        return any(map(_has_arrays, value))
    return False


def save_graph(graph: QuantumGraph, path: str | Path) -> None:
    """Write a graph atomically as gzip-compressed JSON."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as stream:
            _write_json(stream, _graph_json(graph, lists=False))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: How a saved graph starts (``save_graph`` writes the header first, compactly).
_HEADER_START = re.compile(r'\{"format":"quanta-graph","version":(-?\d+),"header":')


def load_header(path: str | Path, universe: DimensionUniverse) -> GraphHeader:
    """The header of a saved graph, read without the rest of the file: what a run was
    made from, for resuming or rerunning it, costs little however large its graph."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            text, size = "", 1 << 16
            while True:
                more = stream.read(size)
                text += more
                start = _HEADER_START.match(text)
                if start is None and (len(text) >= 128 or not more):
                    raise ValueError("not a quanta quantum graph file")
                if start is not None:
                    check_format_version(int(start.group(1)))
                    try:
                        data, _ = _DECODER.raw_decode(text, start.end())
                        break
                    except json.JSONDecodeError:
                        if not more:
                            raise
                size *= 2
    except ConfigError:
        raise
    except (OSError, EOFError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read quantum graph header: {err}") from None
    return GraphHeader.from_json(data, universe)


def load_graph(path: str | Path, universe: DimensionUniverse) -> QuantumGraph:
    """Read a graph written by ``save_graph``."""
    try:
        with gzip.open(path, "rb") as stream:
            data = JsonStream(stream.read).document(LAYOUT)
    except (OSError, EOFError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read quantum graph: {err}") from None
    return graph_from_json(data, universe)


# -- reading: the text is parsed as it is decompressed --------------------------------------

_DECODER = json.JSONDecoder()


def _read_json(text: str) -> Any:
    """``json.loads(text)``, except that the graph's integer and string lists and its
    base64 IDs are NumPy arrays (see ``JsonStream``, which ``load_graph`` runs on the
    decompressed stream itself)."""
    return JsonStream(io.BytesIO(text.encode("utf-8")).read).document(LAYOUT)


def _is_layout(path: tuple[Any, ...]) -> bool:
    """Whether ``path`` holds a dict or list of the graph's layout, parsed item by item."""
    match path:
        case () | ("datasets" | "tasks",) | ("datasets" | "tasks", _):
            return True
        case ("datasets" | "tasks", _, "data_ids") | (
            "datasets" | "tasks",
            _,
            "data_ids",
            "columns",
        ):
            return True
        case ("tasks", _, "inputs" | "outputs") | ("tasks", _, "inputs" | "outputs", _):
            return True
    return False


def _integer_dtype(path: tuple[Any, ...]) -> type | None:
    """The array type of an integer list at ``path``, as ``graph_from_json`` makes it."""
    match path:
        case ("datasets", _, "runs"):
            return np.int32
        case ("datasets", _, "producers") | ("datasets" | "tasks", _, "data_ids", "columns", _):
            return np.int64
        case ("tasks", _, "inputs" | "outputs", _, "offsets" | "indices"):
            return np.int64
    return None


def _base64_dtype(path: tuple[Any, ...]) -> str | None:
    """The array type of a base64 string at ``path``: the datasets' 16-byte IDs."""
    match path:
        case ("datasets", _, "ids"):
            return "V16"
    return None


#: Where a saved graph holds what, for ``JsonStream``.
LAYOUT = Layout(_is_layout, _integer_dtype, _base64_dtype)
