"""Option groups: the options of one concern declared once and parsed into one typed object.

``graph_request_options`` gives ``run`` and ``qgraph`` a ``RunRequest`` (which graph to
build or load), ``execution_options`` gives ``run`` its ``ExecutionSettings`` and
``ExecutorChoice`` (how and where quanta run), and ``jobs_option`` is the one ``-j``.
``progress_option`` and ``report_format_option`` are the ``--progress/--no-progress`` and
``--format text|json`` of every command that works long or reports.
The typed objects are made when the command runs, so importing the CLI stays light.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from .params import (
    bind_option,
    executor_options,
    inputs_option,
    output_option,
    pipeline_option,
    split_collections,
    where_option,
)

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "-c",
    "overrides",
    multiple=True,
    metavar="LABEL:FIELD=VALUE",
    help="Override one config field of one task; VALUE is read as a YAML scalar "
    "(3 is a number, true a boolean). Repeatable; applied after the pipeline's own config.",
)

data_id_table_option = click.option(
    "--data-id-table",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Only data IDs agreeing with a row of this ECSV or CSV table (columns are "
    "dimension names, e.g. instrument,exposure), joined into the graph's queries.",
)

allow_empty_option = click.option(
    "--allow-empty",
    "allow_empty",
    multiple=True,
    metavar="LABEL",
    help="Let this task (and the tasks that read its outputs) have no quanta; without it "
    "a task with no quanta is an error. Repeatable.",
)

skip_existing_in_option = click.option(
    "--skip-existing-in",
    "skip_existing_in",
    multiple=True,
    metavar="COLLECTIONS",
    help="Leave out quanta whose outputs (or metadata) exist in these collections and read "
    "those outputs downstream (repeatable, or comma-separated).",
)

progress_option = click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show progress on stderr: bars on a terminal, a line now and then otherwise.",
)

report_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Text for people, or one JSON object on stdout for programs (its shape is named "
    "by its 'schema' key).",
)

rerun_failed_option = click.option(
    "--rerun-failed",
    metavar="RUN",
    help="Into a new run of OUTPUT, redo the quanta of RUN (a run of OUTPUT) that failed, "
    "were blocked or never ran, and everything downstream of them; RUN's inputs and "
    "query are used, and its pipeline unless --pipeline gives a corrected one.",
)


def jobs_option(help: str, default: int | None = None) -> Callable[[F], F]:
    """``-j/--jobs N``: how many workers, in every command that has them."""
    return click.option(
        "--jobs",
        "-j",
        "jobs",
        type=click.IntRange(min=1),
        default=default,
        show_default=default is not None,
        help=help,
    )


def graph_request_options(*, save_flag: str, load: bool) -> Callable[[F], F]:
    """The options that say which graph to build (``--pipeline``, ``--input``,
    ``--output``, ``--where``, ``--bind``, ``--config``) and where to save it (``save_flag``)
    or, with ``load``, which saved graph to use (``--qgraph``); the command gets them as
    one ``request: RunRequest``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from quanta.graph.planning import RunRequest
            from quanta.pipe.config import parse_override

            kwargs["request"] = RunRequest(
                output=kwargs.pop("output"),
                pipeline=kwargs.pop("pipeline_ref"),
                inputs=split_collections(kwargs.pop("inputs")),
                where=kwargs.pop("where"),
                binds=kwargs.pop("binds"),
                overrides=[parse_override(o) for o in kwargs.pop("overrides")],
                qgraph=kwargs.pop("qgraph", None),
                save_qgraph=kwargs.pop("save_qgraph"),
                allow_empty=kwargs.pop("allow_empty"),
                data_id_table=kwargs.pop("data_id_table"),
                skip_existing_in=split_collections(kwargs.pop("skip_existing_in")),
                rerun_failed=kwargs.pop("rerun_failed"),
                jobs=_build_jobs(kwargs, own=not load),
            )
            return func(*args, **kwargs)

        options = [pipeline_option, inputs_option, output_option, where_option, bind_option]
        options.extend([config_option, data_id_table_option, allow_empty_option])
        options.extend([skip_existing_in_option, rerun_failed_option])
        if not load:
            options.append(
                jobs_option("Processes that build the graph (output IDs hashed in parallel).", 1)
            )
        if load:
            options.append(
                click.option(
                    "--qgraph",
                    type=click.Path(exists=True, dir_okay=False, path_type=Path),
                    help="Execute this saved graph instead of building one.",
                )
            )
        options.append(
            click.option(
                save_flag,
                "save_qgraph",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Save the graph (gzip-compressed JSON)"
                + (" before executing it." if load else " for 'quanta run --qgraph'."),
            )
        )
        decorated: Any = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        return cast(F, decorated)

    return decorate


def _build_jobs(kwargs: dict[str, Any], own: bool) -> int:
    """The processes that build a graph: the command's own ``-j``, or, where ``-j`` says how
    many local processes execute it, that many (on Parsl, one: ``-j`` is per node)."""
    if own:
        return int(kwargs.pop("jobs"))
    local = kwargs.get("executor") in (None, "local", "inline", "pool") and not kwargs.get("site")
    return int(kwargs.get("jobs") or 1) if local else 1


def execution_options(func: F) -> F:
    """The options that say how and where quanta run (``-j``, ``--executor``, ``--site``,
    ``--cluster-by``, ``--resume``, ``--retries``, ``--timeout``, ``--fail-fast``,
    ``--progress``); the command gets them as ``settings: ExecutionSettings`` and
    ``executor: ExecutorChoice``, checked before anything is built or started."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from quanta.exec.driver import ExecutionSettings
        from quanta.exec.executor_choice import choose_executor

        timeout = kwargs.pop("timeout")
        kwargs["executor"] = choose_executor(
            kwargs.pop("executor"), kwargs.pop("jobs"), timeout, kwargs.pop("site")
        )
        cluster_by = kwargs.pop("cluster_by") or ""
        kwargs["settings"] = ExecutionSettings(
            retries=kwargs.pop("retries"),
            timeout=timeout,
            fail_fast=kwargs.pop("fail_fast"),
            resume=kwargs.pop("resume"),
            force=kwargs.pop("force"),
            extend_run=kwargs.pop("extend_run"),
            progress=kwargs.pop("progress"),
            cluster_by=tuple(d.strip() for d in cluster_by.split(",") if d.strip()),
        )
        return func(*args, **kwargs)

    options = [
        jobs_option(
            "Worker processes (default 1: quanta run in this process); on Parsl, workers per node."
        ),
        executor_options,
        click.option(
            "--cluster-by",
            metavar="DIMENSIONS",
            help="Run the quanta of a task that share these dimensions' values "
            "(comma-separated, e.g. detector) as one job.",
        ),
        click.option(
            "--resume",
            is_flag=True,
            help="Continue the last run of OUTPUT, skipping quanta whose outputs exist; "
            "refused if the pipeline, its tasks or their configs changed.",
        ),
        click.option(
            "--extend-run",
            metavar="RUN",
            help="Write into RUN, an existing run of OUTPUT, skipping quanta whose outputs "
            "exist there; refused if the pipeline, its tasks or their configs changed.",
        ),
        click.option(
            "--force",
            is_flag=True,
            help="With --resume or --extend-run: continue a run with changed configs or tasks "
            "anyway; its stored configs become the new ones, with a warning.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Attempts to add to a failing quantum before it counts as failed.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Kill a quantum running longer than this (runs quanta in worker processes).",
        ),
        click.option("--fail-fast", is_flag=True, help="Start no quantum after the first failure."),
        progress_option,
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return cast(F, decorated)
