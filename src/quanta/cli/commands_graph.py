"""Building quantum graphs without running them: ``qgraph``."""

from __future__ import annotations

from pathlib import Path

import click

from .commands_pipeline import config_option
from .params import (
    BindValue,
    bind_option,
    inputs_option,
    output_option,
    pipeline_option,
    repo_argument,
    where_option,
)


@click.command("qgraph")
@repo_argument
@pipeline_option
@inputs_option
@output_option
@where_option
@bind_option
@config_option
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the graph here (gzip-compressed JSON) for 'quanta run --qgraph'.",
)
@click.option("--show", is_flag=True, help="List every quantum with its inputs and outputs.")
@click.option(
    "--dot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the graph in Graphviz DOT format (for small graphs).",
)
def qgraph(
    repo: Path,
    pipeline_ref: str | None,
    inputs: tuple[str, ...],
    output: str | None,
    where: str | None,
    binds: dict[str, BindValue],
    overrides: tuple[str, ...],
    save: Path | None,
    show: bool,
    dot: Path | None,
) -> None:
    """Build a quantum graph.

    Build the graph of PIPELINE over the INPUT collections (constrained by
    --where) with outputs predicted in a new RUN OUTPUT/YYYYMMDDTHHMMSSZ, print
    how many quanta each task got and why others were skipped, and optionally
    save it, list it or draw it. An empty graph is an error that says, task by
    task, where the candidates were lost.
    """
    from quanta.graph.planning import plan

    from .operations import open_butler, run_request

    request = run_request(pipeline_ref, inputs, output, where, binds, overrides, save_qgraph=save)
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
    if save is not None:
        click.echo(f"saved {save}")


COMMANDS = (qgraph,)
