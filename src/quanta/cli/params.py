"""Arguments and options shared by several commands, and parsing of ``--bind`` values."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from .errors import CommandError
from .output import FORMATS

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")

BindValue = int | float | str

#: How collection-chain changes a chain.
CHAIN_MODES = ("redefine", "prepend", "extend", "remove")


def parse_bind_value(text: str) -> BindValue:
    """An int or float when ``text`` looks like one, else the string itself."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def parse_binds(items: Sequence[str]) -> dict[str, BindValue]:
    """``NAME=VALUE`` strings as a mapping; a malformed or repeated name is a user error."""
    binds: dict[str, BindValue] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _NAME.match(name):
            raise CommandError(
                f"invalid --bind {item!r}: expected NAME=VALUE with NAME a letter or '_' "
                "followed by letters, digits or '_'"
            )
        if name in binds:
            raise CommandError(f"--bind {name!r} is given more than once")
        binds[name] = parse_bind_value(value)
    return binds


def _binds_callback(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> dict[str, BindValue]:
    return parse_binds(value)


repo_argument = click.argument("repo", type=click.Path(path_type=Path))

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format: a table for people, or JSON (a list of objects) or CSV for programs.",
)

header_corrections_option = click.option(
    "--header-corrections",
    "corrections",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of per-observation header corrections (files named "
    "<instrument>-<obs_id>.yaml, each a mapping of keywords to the values that replace "
    "them), searched before any other. Repeatable.",
)

where_option = click.option(
    "--where",
    "-d",
    "where",
    metavar="EXPR",
    help='Constraint in the quanta query language, e.g. "exposure.exposure_time > 10 AND '
    'detector IN (1..4)"; name values with :NAME and give them with --bind.',
)

bind_option = click.option(
    "--bind",
    "binds",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_binds_callback,
    help="Value of :NAME in --where; values that look like integers or floats become numbers, "
    "anything else a string. Repeatable.",
)


def deprecated_spelling(
    old: str, new: str, dest: str, *, multiple: bool = False, **option: Any
) -> Callable[[F], F]:
    """Accept the hidden flag ``old`` as a spelling of ``new`` (parameter ``dest``) for one
    more release: its values join ``new``'s, and stderr gets one line saying so."""
    hidden = f"deprecated_{dest}"

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(hidden)
            if value:
                click.echo(
                    f"warning: {old} is deprecated and will be removed in the next release; "
                    f"use {new}",
                    err=True,
                )
                current = kwargs.get(dest)
                kwargs[dest] = (*(current or ()), *value) if multiple else current or value
            return func(*args, **kwargs)

        help = f"Deprecated spelling of {new}."
        declare = click.option(old, hidden, hidden=True, multiple=multiple, help=help, **option)
        return cast(F, declare(wrapper))

    return decorate


def collections_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """A repeatable ``--collections`` option with a command-specific help text (``-c``, its
    old short form, still works for one release: ``-c`` now always means ``--config``)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if required and not kwargs["collections"]:
                raise click.UsageError("Missing option '--collections'.")
            return func(*args, **kwargs)

        option = click.option(
            "--collections",
            "collections",
            multiple=True,
            metavar="COLLECTION",
            help=help
            + " A glob (u/me/*) stands for every collection it matches."
            + (" Required." if required else ""),
        )
        old = deprecated_spelling("-c", "--collections", "collections", multiple=True)
        return cast(F, option(old(checked)))

    return decorate


def timespan_options(action: str) -> Callable[[F], F]:
    """``--begin`` and ``--end`` options (ISO times, TAI unless marked UTC) for certify and
    decertify."""

    def decorate(func: F) -> F:
        end = click.option(
            "--end",
            metavar="ISO",
            help=f"End (exclusive) of the range to {action}: YYYY-MM-DD[THH:MM[:SS[.fff]]] "
            "with Z or ' UTC' for UTC, ' TAI' or nothing for TAI; unbounded when omitted.",
        )
        begin = click.option(
            "--begin",
            metavar="ISO",
            help=f"Start of the range to {action}, written as --end; unbounded when omitted.",
        )
        return begin(end(func))

    return decorate


def executor_options(func: F) -> F:
    """``--executor local|parsl`` and ``--site``, for the commands that run pipelines."""
    executor = click.option(
        "--executor",
        type=click.Choice(["local", "parsl"]),
        default="local",
        show_default=True,
        help="Run quanta on this machine, or on a Parsl site (--site).",
    )
    site = click.option(
        "--site",
        metavar="NAME|FILE.yaml",
        help="Parsl site: local, slurm, pbs, condor (see `quanta sites`) or a site file.",
    )
    return executor(site(func))


pipeline_option = click.option(
    "--pipeline", "-p", "pipeline_ref", metavar="PIPELINE", help="Pipeline file or name."
)
inputs_option = click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="COLLECTION",
    help="Input collections, searched in order (repeatable, or comma-separated); a glob "
    "(u/me/*) stands for the collections it matches, in name order.",
)
output_option = click.option(
    "--output", "-o", metavar="COLLECTION", help="Output CHAINED collection."
)


def split_collections(values: Sequence[str]) -> list[str]:
    """Collections from repeated and comma-separated option values."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]
