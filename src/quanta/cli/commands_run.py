"""Running pipelines and reading back what ran: ``run``, ``report``, ``provenance``, ``sites``.

``run`` exits with 0 when every task got quanta and every quantum ran (or had no work, or
was already done), 1 when any failed or was blocked, and 2 on a user error (a task left
without quanta, a refused resume...).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from quanta.core.status import QuantumStatus

from .option_groups import execution_options, graph_request_options
from .params import (
    BindValue,
    bind_option,
    collections_option,
    repo_argument,
    where_option,
)

if TYPE_CHECKING:
    from quanta.butler import Butler
    from quanta.exec.driver import ExecutionReport, ExecutionSettings
    from quanta.exec.executor_choice import ExecutorChoice
    from quanta.exec.reports import QuantumLog, RunSummary
    from quanta.graph.planning import RunRequest

#: Columns of the per-task summary, and the status each one counts.
SUMMARY_COLUMNS = {
    "done": QuantumStatus.DONE,
    "no work": QuantumStatus.NO_WORK,
    "skipped": QuantumStatus.SKIPPED_EXISTING,
    "failed": QuantumStatus.FAILED,
    "blocked": QuantumStatus.BLOCKED,
}


@click.command("run")
@repo_argument
@graph_request_options(save_flag="--save-qgraph", load=True)
@execution_options
def run(
    repo: Path, request: RunRequest, settings: ExecutionSettings, executor: ExecutorChoice
) -> None:
    """Run a pipeline.

    Build the graph of PIPELINE over the INPUT collections (constrained by
    --where), or load it with --qgraph, and execute it into a new RUN
    OUTPUT/YYYYMMDDTHHMMSSZ; OUTPUT becomes a CHAINED collection of that run
    followed by the inputs. Exit code 0 if every task got quanta and every
    quantum ran, 1 if any failed or was blocked, 2 on a user error (a task
    without quanta unless --allow-empty, a resume with changed configs
    unless --force, an OUTPUT made from other inputs).

    --resume continues the last run of OUTPUT, --extend-run another of its
    runs; --skip-existing-in leaves out quanta done in other collections;
    --rerun-failed RUN redoes what RUN did not finish, in a new run.

    With --executor parsl the quanta run on a Parsl site: workers read and write
    files in the repository (a filesystem they all see) and never open the
    registry; --cluster-by groups quanta into longer jobs.
    """
    from quanta.exec.workflow import run_pipeline

    from .operations import open_butler

    with open_butler(repo) as butler:
        report = run_pipeline(butler, request, settings, executor=executor)
    _print_report(report)
    if not report.ok:
        click.get_current_context().exit(1)


def _print_report(report: ExecutionReport) -> None:
    from .output import Rows, show

    rows = [
        [label, *(counts[s] for s in SUMMARY_COLUMNS.values())]
        for label, counts in report.counts.items()
    ]
    show(Rows(["task", *SUMMARY_COLUMNS], rows), "table")
    for failure in report.failures:
        click.echo(f"failed: {failure.label} {failure.data_id}: {_first_line(failure.message)}")
    click.echo(f"run: {report.run}" + (f"; output: {report.output}" if report.output else ""))
    if not report.ok:
        click.echo("not everything ran: see `quanta report` for the failures")


@click.command("report")
@repo_argument
@click.argument("collection")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tables for people, or one JSON object for programs.",
)
@click.option("--logs", is_flag=True, help="Also show each selected quantum's log records.")
@click.option(
    "--task",
    "labels",
    multiple=True,
    metavar="LABEL",
    help="Show the logs of this task's quanta only (repeatable).",
)
@where_option
@bind_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([status.value for status in SUMMARY_COLUMNS.values()]),
    help="Show the logs of quanta with this status only (repeatable).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Also write a self-contained HTML page to FILE: the task graph with counts, "
    "failures, durations per task and the run's plots.",
)
def report(
    repo: Path,
    collection: str,
    fmt: str,
    logs: bool,
    labels: tuple[str, ...],
    where: str | None,
    binds: dict[str, BindValue],
    statuses: tuple[str, ...],
    html_path: Path | None,
) -> None:
    """Summarize a run.

    COLLECTION is a RUN, or an OUTPUT chain whose first run is meant. Prints
    the quanta of each task by status, then every failure with its error.
    Exits with 1 when any quantum failed or was blocked.
    With --logs, then each quantum selected by --task, --where and --status:
    its provenance, log records, and the error of a failure or the reason it
    was blocked.
    """
    from quanta.exec.reports import quantum_logs, summarize_run

    from .errors import CommandError
    from .operations import open_butler

    if not logs and (labels or where or binds or statuses):
        raise CommandError("--task, --where, --bind and --status select quanta for --logs")
    with open_butler(repo) as butler:
        summary = summarize_run(butler, collection)
        selected = (
            quantum_logs(butler, summary.run, labels, where, binds, statuses) if logs else None
        )
        if html_path is not None:
            _write_run_html(butler, collection, html_path)
    unfinished = any(
        counts[QuantumStatus.FAILED] or counts[QuantumStatus.BLOCKED]
        for counts in summary.counts.values()
    )
    if fmt == "json":
        data = _summary_json(summary)
        if selected is not None:
            data["logs"] = [_log_json(log) for log in selected]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        _show_report(summary, selected)
    if unfinished:
        click.get_current_context().exit(1)


def _write_run_html(butler: Butler, collection: str, path: Path) -> None:
    """The run's HTML page, written to ``path``."""
    from quanta.reports import gather_run, write_run_html

    from .errors import CommandError

    try:
        write_run_html(gather_run(butler, collection), path)
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror or err}") from err


def _show_report(summary: RunSummary, selected: Sequence[QuantumLog] | None) -> None:
    """The report as tables: quanta by task and status, failures, selected logs."""
    from .output import Rows, show

    click.echo(f"run: {summary.run}")
    rows = [
        [label, *(c[s] for s in SUMMARY_COLUMNS.values()), sum(c.values())]
        for label, c in summary.counts.items()
    ]
    show(Rows(["task", *SUMMARY_COLUMNS, "total"], rows), "table")
    if summary.failures:
        click.echo("failures:")
        failures = [[f.label, f.data_id_key, _first_line(f.error)] for f in summary.failures]
        show(Rows(["task", "data ID", "error"], failures), "table")
    for log in selected or ():
        click.echo("\n".join(_log_lines(log)))


def _log_lines(log: QuantumLog) -> list[str]:
    """A header with the quantum's provenance, its log records, then why it failed or was
    blocked: all a person needs to debug one quantum."""
    q = log.quantum
    facts = [f"attempts {q.attempts}"]
    if q.host:
        facts.append(f"host {q.host}")
    if log.duration_s is not None:
        facts.append(f"{log.duration_s:.2f} s")
    lines = [f"== {q.label} {{{q.data_id_key}}}: {q.status} ({', '.join(facts)})"]
    for record in log.records:
        clock = datetime.fromtimestamp(record["time"]).strftime("%H:%M:%S")
        lines.append(f"{clock} {record['level']} {record['name']}: {record['message']}")
        lines.extend(_indented(record.get("exception")))
    if q.error:
        lines.append(f"{'error' if q.status == QuantumStatus.FAILED else 'reason'}: {q.error}")
        lines.extend(_indented(q.traceback))
    return lines


def _indented(text: str | None) -> list[str]:
    """Lines of a traceback or exception, indented to set them off from the records."""
    return ["    " + line for line in (text or "").rstrip().splitlines()]


def _log_json(log: QuantumLog) -> dict[str, Any]:
    """One quantum's provenance and log records as JSON-ready values, for programs."""
    q = log.quantum
    return {
        "task": q.label,
        "data_id": q.data_id_key,
        "status": q.status,
        "attempts": q.attempts,
        "host": q.host,
        "duration_s": log.duration_s,
        "records": log.records,
        "error": q.error,
        "traceback": q.traceback,
    }


def _summary_json(summary: RunSummary) -> dict[str, Any]:
    """The run's counts by task and its failures; ``schema`` first names the shape."""
    from .output import SCHEMA_VERSION

    return {
        "schema": f"quanta.report/{SCHEMA_VERSION}",
        "run": summary.run,
        "tasks": [{"task": label, **counts} for label, counts in summary.counts.items()],
        "failures": [
            {
                "task": f.label,
                "data_id": f.data_id_key,
                "error": f.error,
                "traceback": f.traceback,
                "attempts": f.attempts,
                "host": f.host,
            }
            for f in summary.failures
        ],
    }


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


@click.command("provenance")
@repo_argument
@click.argument("target", metavar="DATASET_ID_OR_TYPE")
@where_option
@bind_option
@collections_option("Collections to search when TARGET is a dataset type (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tree", "json"]),
    default="tree",
    show_default=True,
    help="An indented tree for people, or JSON for programs.",
)
def provenance(
    repo: Path,
    target: str,
    where: str | None,
    binds: dict[str, BindValue],
    collections: tuple[str, ...],
    fmt: str,
) -> None:
    """Show where datasets came from.

    TARGET is a dataset ID, or a dataset type whose datasets in --collections
    (constrained by --where) are meant. Walks back through the quanta that
    wrote each dataset to the datasets nothing here wrote (the raws), showing
    each quantum's task, data ID (free-form keys included) and status.
    """
    import uuid

    from quanta.core.errors import ConfigError, DatasetNotFoundError
    from quanta.exec.reports import lineage_trees

    from .operations import open_butler

    with open_butler(repo) as butler:
        try:
            ids = [uuid.UUID(target)]
        except ValueError:
            if not collections:
                raise ConfigError(f"{target!r} is a dataset type: give --collections") from None
            refs = butler.query_datasets(target, list(collections), where=where, binds=binds)
            if not refs:
                raise DatasetNotFoundError(
                    f"no {target} dataset in {', '.join(collections)} matches"
                ) from None
            ids = [ref.id for ref in refs]
        trees = lineage_trees(butler, ids)
    if fmt == "json":
        sys.stdout.write(json.dumps(trees, indent=2) + "\n")
    else:
        for tree in trees:
            click.echo("\n".join(_tree_lines(tree)))


def _tree_lines(root: dict[str, Any]) -> list[str]:
    """An indented text tree: datasets, each with the quantum that wrote it below."""
    lines: list[str] = []
    pending: list[tuple[dict[str, Any], str, str]] = [(root, "", "")]
    while pending:
        node, lead, rest = pending.pop()
        if node["dataset_type"] is None:
            lines.append(f"{lead}{node['id']} (not in this repository)")
        else:
            lines.append(f"{lead}{node['dataset_type']} {{{node['data_id']}}} [{node['run']}]")
        quantum = node["produced_by"]
        if quantum is None:
            continue
        seen = " (shown above)" if quantum.get("repeated") else ""
        lines.append(
            f"{rest}└─ {quantum['task']} {{{quantum['data_id']}}}: {quantum['status']}{seen}"
        )
        inputs = quantum.get("inputs", [])
        inner = rest + "   "
        for i in reversed(range(len(inputs))):
            last = i == len(inputs) - 1
            pending.append(
                (inputs[i], inner + ("└─ " if last else "├─ "), inner + ("   " if last else "│  "))
            )
    return lines


@click.command("sites")
@click.argument("name", required=False)
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Validate this site file and summarize it.",
)
def sites(name: str | None, check_file: Path | None) -> None:
    """List the built-in Parsl sites, or print one to copy.

    With NAME (local, slurm, pbs, condor), print that site's YAML template,
    every field explained; edit a copy and give it to `quanta run --executor
    parsl --site FILE.yaml`. With --check, validate a site file as `run` would
    before submitting anything.
    """
    from quanta.exec.sites import BUILTIN_SITES, load_site, template_text

    if check_file is not None:
        site = load_site(str(check_file))
        click.echo(
            f"{check_file}: {site.provider} site, {site.workers} worker(s) at most "
            f"({site.workers_per_node} per node, {site.nodes_per_block} node(s) per block, "
            f"{site.max_blocks} block(s)), {site.in_flight} job(s) in flight"
        )
    elif name is not None:
        click.echo(template_text(name), nl=False)
    else:
        for builtin in BUILTIN_SITES:
            first = template_text(builtin).splitlines()[0].removeprefix("# quanta site: ")
            click.echo(f"{builtin:8} {first.split('.')[0]}")


COMMANDS = (run, report, provenance, sites)
