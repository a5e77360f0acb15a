"""Building quantum graphs without running them: ``qgraph``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .option_groups import graph_request_options
from .params import repo_argument

if TYPE_CHECKING:
    from quanta.graph.planning import RunRequest


@click.command("qgraph")
@repo_argument
@graph_request_options(save_flag="--save", load=False)
@click.option("--show", is_flag=True, help="List every quantum with its inputs and outputs.")
@click.option(
    "--dot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the graph in Graphviz DOT format (for small graphs).",
)
def qgraph(repo: Path, request: RunRequest, show: bool, dot: Path | None) -> None:
    """Build a quantum graph.

    Build the graph of PIPELINE over the INPUT collections (constrained by
    --where) with outputs predicted in a new RUN OUTPUT/YYYYMMDDTHHMMSSZ, print
    how many quanta each task got and why others were skipped, and optionally
    save it, list it or draw it. An empty graph is an error that says, task by
    task, where the candidates were lost; so is a task without quanta, unless
    --allow-empty names it.
    """
    from quanta.graph.planning import plan

    from .operations import open_butler

    with open_butler(repo) as butler:
        graph = plan(butler, request, resume=False)
    click.echo(f"{len(graph)} quanta for run {graph.output_run}")
    for stat in graph.stats:
        click.echo(f"  {stat.explain()}")
    if show:
        for index in range(len(graph)):
            quantum = graph.quantum(index)
            click.echo(f"{index}: {quantum.label} {quantum.data_id}")
            for name, refs in {**quantum.inputs, **quantum.outputs}.items():
                arrow = "<-" if name in quantum.inputs else "->"
                for ref in refs:
                    click.echo(f"    {arrow} {name}: {ref.dataset_type.name} {ref.data_id}")
    if dot is not None:
        from quanta.graph.dot import write_dot

        with dot.open("w") as stream:
            write_dot(graph, stream)
        click.echo(f"wrote {dot}")
    if request.save_qgraph is not None:
        click.echo(f"saved {request.save_qgraph}")


COMMANDS = (qgraph,)
