"""Graphviz DOT output of a quantum graph: quanta as boxes, datasets as ellipses."""

from __future__ import annotations

from typing import TextIO

from .model import QuantumGraph


def _quote(text: str) -> str:
    """A DOT string literal; newlines become DOT line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def write_dot(graph: QuantumGraph, stream: TextIO) -> None:
    """Write every quantum, every dataset it touches and the edges between them."""
    stream.write("digraph quanta {\n  rankdir=LR;\n  node [fontsize=10];\n")
    seen: set[str] = set()
    for task in graph.tasks:
        for local in range(len(task)):
            q = f"q{task.first + local}"
            label = f"{task.label}\n{task.data_ids.data_id(local)}"
            stream.write(
                f"  {q} [shape=box, style=filled, fillcolor=lightblue, label={_quote(label)}];\n"
            )
            for edges, incoming in ((task.inputs, True), (task.outputs, False)):
                for name, e in edges.items():
                    if name.startswith("_"):
                        continue
                    nodes = graph.datasets[e.dataset_type]
                    for i in e.of(local):
                        d = f"d_{e.dataset_type}_{int(i)}".replace(".", "_")
                        if d not in seen:
                            seen.add(d)
                            text = f"{e.dataset_type}\n{nodes.data_ids.data_id(int(i))}"
                            stream.write(f"  {d} [shape=ellipse, label={_quote(text)}];\n")
                        stream.write(f"  {d} -> {q};\n" if incoming else f"  {q} -> {d};\n")
    stream.write("}\n")
