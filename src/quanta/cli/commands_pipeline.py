"""The ``pipeline`` commands: show a pipeline's tasks and dataset flow, or validate it.

PIPELINE is a YAML file or a shipped pipeline name, optionally followed by
``#subset`` or ``#label,label``. The pipeline layer (pydantic) loads only when a
command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .option_groups import config_option

if TYPE_CHECKING:
    from quanta.pipe.pipeline import Pipeline
    from quanta.pipe.resolved import ResolvedPipeline

pipeline_argument = click.argument("pipeline_ref", metavar="PIPELINE")


def load(pipeline_ref: str, overrides: tuple[str, ...]) -> tuple[Pipeline, ResolvedPipeline]:
    """Load the pipeline, apply ``-c`` overrides, resolve it against the default universe."""
    from quanta.core import DimensionUniverse
    from quanta.pipe.config import parse_override
    from quanta.pipe.pipeline import Pipeline

    pipeline = Pipeline.load(pipeline_ref).with_overrides(parse_override(o) for o in overrides)
    return pipeline, pipeline.resolve(DimensionUniverse.default())


def describe(pipeline: Pipeline, resolved: ResolvedPipeline) -> dict[str, Any]:
    """Everything ``show`` prints, as JSON-compatible values."""
    tasks = []
    for task in resolved.tasks:
        connections = [
            {
                "name": name,
                "kind": conn.kind.__name__,
                "dataset_type": conn.dataset_type.name,
                "dimensions": list(conn.dataset_type.dimensions.required),
                "storage_class": conn.dataset_type.storage_class,
                "is_calibration": conn.dataset_type.is_calibration,
                "multiple": conn.multiple,
                "minimum": conn.minimum,
                "defer_load": conn.defer_load,
            }
            for name, conn in task.connections.connections.items()
        ]
        tasks.append(
            {
                "label": task.label,
                "class": task.class_path,
                "dimensions": list(task.dimensions.required),
                "connections": connections,
                "config": task.config.model_dump(mode="json"),
            }
        )
    dataset_types = [
        {
            "name": name,
            "dimensions": list(dt.dimensions.required),
            "storage_class": dt.storage_class,
            "is_calibration": dt.is_calibration,
            "producer": resolved.producers.get(name),
            "consumers": resolved.consumers.get(name, []),
        }
        for name, dt in resolved.dataset_types.items()
    ]
    subsets = [
        {"name": s.name, "description": s.description, "tasks": list(s.tasks)}
        for s in pipeline.subsets.values()
    ]
    return {
        "source": pipeline.source,
        "description": pipeline.description,
        "tasks": tasks,
        "dataset_types": dataset_types,
        "overall_inputs": resolved.overall_inputs,
        "prerequisites": resolved.prerequisites,
        "subsets": subsets,
    }


def print_tables(info: dict[str, Any]) -> None:
    """``describe`` output as headed rich tables."""
    from .output import Rows, show

    def section(title: str, columns: list[str], rows: list[list[Any]]) -> None:
        click.echo(f"\n{title}")
        show(Rows(columns, rows), "table")

    click.echo(f"{info['source']}: {info['description'] or '(no description)'}")
    section(
        "Tasks, in order",
        ["label", "class", "dimensions"],
        [[t["label"], t["class"], t["dimensions"]] for t in info["tasks"]],
    )
    keys = ["kind", "dataset_type", "dimensions", "storage_class", "multiple", "minimum"]
    section(
        "Connections",
        ["task", "connection", *keys, "defer_load"],
        [
            [t["label"], c["name"], *(c[k] for k in keys), c["defer_load"]]
            for t in info["tasks"]
            for c in t["connections"]
        ],
    )
    section(
        "Dataset types: producer -> consumers",
        ["dataset_type", "dimensions", "storage_class", "producer", "consumers"],
        [
            [d["name"], d["dimensions"], d["storage_class"], d["producer"], d["consumers"]]
            for d in info["dataset_types"]
        ],
    )
    click.echo(f"\nOverall inputs: {', '.join(info['overall_inputs']) or '(none)'}")
    click.echo(f"Prerequisites: {', '.join(info['prerequisites']) or '(none)'}")
    if info["subsets"]:
        section(
            "Subsets",
            ["subset", "tasks", "description"],
            [[s["name"], s["tasks"], s["description"]] for s in info["subsets"]],
        )


@click.group("pipeline")
def pipeline() -> None:
    """Inspect and check pipelines.

    PIPELINE is a YAML file or a shipped name such as w1.
    """


@pipeline.command("show")
@pipeline_argument
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tables for people, or one JSON object for programs.",
)
def show_pipeline(pipeline_ref: str, overrides: tuple[str, ...], fmt: str) -> None:
    """Show a pipeline: tasks in order, connections, dataset flow, subsets.

    PIPELINE is a YAML file or a shipped name, optionally with #SUBSET or
    #LABEL,LABEL to keep only those tasks.
    """
    info = describe(*load(pipeline_ref, overrides))
    if fmt == "json":
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
    else:
        print_tables(info)


@pipeline.command("validate")
@pipeline_argument
@config_option
def validate_pipeline(pipeline_ref: str, overrides: tuple[str, ...]) -> None:
    """Check that a pipeline loads and resolves against the default universe.

    Prints "ok: N tasks", or one error line and exits with 2.
    """
    _, resolved = load(pipeline_ref, overrides)
    click.echo(f"ok: {len(resolved.tasks)} tasks")


@click.command("new-task")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to write the files (made if missing).",
)
@click.option("--force", is_flag=True, help="Overwrite files of the same names.")
def new_task(name: str, directory: Path, force: bool) -> None:
    """Write a new task, its pipeline and its test, ready to run and to change.

    NAME is the task's name, such as FlatStats or flat_stats. The files are
    NAME/__init__.py and NAME/tasks.py (connections, config and task: the median
    and spread of each ISR-corrected image), NAME.yaml (a pipeline of ISR and the
    task) and tests/test_NAME.py, with NAME in snake case. quanta finds the module
    beside the pipeline file, so the pipeline runs from anywhere with -p DIR/NAME.yaml.
    """
    from quanta.pipe.scaffold import TaskNames, write_task

    written = write_task(name, directory, overwrite=force)
    names = TaskNames.from_name(name)
    for path in written:
        click.echo(f"wrote {path}")
    pipeline_file = directory / f"{names.module}.yaml"
    click.echo(
        f"next: (cd {directory} && python -m pytest tests/test_{names.module}.py)\n"
        f"      quanta run REPO -p {pipeline_file} -i RAWS -o u/$USER/{names.module} "
        "-d \"exposure.observation_type = 'flat'\"",
        err=True,
    )


COMMANDS = (pipeline, new_task)
