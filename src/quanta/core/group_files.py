"""Group files: groups written by hand, as CSV or YAML, read with the line of each group.

CSV (``.csv``): a header line ``group,exposures``, then one line per group: its name,
then its exposure ids in order (``1001+1002,1001,1002``). Blank lines and lines
starting with ``#`` are skipped.

YAML (``.yaml``, ``.yml``)::

    groups:
      - {name: 1001+1002, exposures: [1001, 1002]}

This module checks the file's own form (header, integers, names given once); what
needs the repository (unknown exposures, sizes, exclusivity) is checked by its users:
``quanta define-groups`` and the ``pairs_file`` of the PTC pair task. It lives in
``core`` because both (an instrument command and a calibration task) read it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .text import read_utf8
from .yaml_io import LineDict, config_error, line_of, load_yaml


@dataclass(frozen=True, slots=True)
class Group:
    """One group: its name and its member exposure ids, in order."""

    name: str
    members: tuple[int, ...]


#: A group and where it was read, as ``path:line``.
Located = tuple[Group, str]

CSV_HEADER = ["group", "exposures"]
YAML_KEYS = {"name", "exposures"}


def read_group_file(path: Path) -> list[Located]:
    """The groups of a CSV or YAML file, in file order; a ``ConfigError`` names the line
    of the first problem (and counts the others)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise ConfigError(f"{path}: unknown group file type {suffix!r}; use .csv, .yaml or .yml")
    if suffix != ".csv":
        return _read_yaml(path)
    return _read_csv(path, read_utf8(path))


def raise_problems(problems: list[str], error: type[Exception] = ConfigError) -> None:
    """Raise the first problem, saying how many more there are."""
    if problems:
        more = len(problems) - 1
        suffix = f" (and {more} more problem{'s' * (more != 1)})" if more else ""
        raise error(problems[0] + suffix)


def _read_csv(path: Path, text: str) -> list[Located]:
    reader = csv.reader(io.StringIO(text))
    groups: list[Located] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    header_seen = False
    for row in reader:
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not header_seen:
            if [c.lower() for c in cells] != CSV_HEADER:
                raise ConfigError(
                    f"{path}:{line}: the first line must be the header 'group,exposures', "
                    f"got {','.join(cells)!r}"
                )
            header_seen = True
            continue
        while cells and not cells[-1]:
            cells.pop()
        name, values = cells[0], cells[1:]
        members = _csv_members(f"{path}:{line}", name, values, problems)
        if len(members) == len(values):
            _add(groups, seen, problems, path, line, name, members)
    if not header_seen:
        raise ConfigError(f"{path}: no header line 'group,exposures' and no groups")
    raise_problems(problems)
    return groups


def _csv_members(where: str, name: str, values: list[str], problems: list[str]) -> tuple[int, ...]:
    members = []
    for column, value in enumerate(values, start=2):
        try:
            members.append(int(value))
        except ValueError:
            problems.append(
                f"{where}: exposure {value!r} (column {column}) of group {name!r} is not an "
                "integer id"
            )
    return tuple(members)


def _read_yaml(path: Path) -> list[Located]:
    data = load_yaml(path)
    if not isinstance(data, LineDict) or set(data) != {"groups"}:
        raise config_error(path, data, [], "a group file holds one key, 'groups'")
    items = data["groups"]
    if not isinstance(items, list):
        raise config_error(path, data, ["groups"], "'groups' must be a list")
    groups: list[Located] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        line = line_of(data, ["groups", index]) or 0
        if not isinstance(item, LineDict) or set(item) != YAML_KEYS:
            problems.append(
                f"{path}:{line}: each group is a mapping with the keys 'name' and 'exposures'"
            )
            continue
        name, values = item["name"], item["exposures"]
        if isinstance(name, int) and not isinstance(name, bool):
            name = str(name)
        if not isinstance(name, str):
            problems.append(f"{path}:{line}: group name {name!r} is not a string")
            continue
        if not isinstance(values, list) or not all(_is_int(v) for v in values):
            problems.append(
                f"{path}:{line}: exposures of group {name!r} must be a list of integer ids, "
                f"got {values!r}"
            )
            continue
        _add(groups, seen, problems, path, line, name, tuple(values))
    raise_problems(problems)
    return groups


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _add(
    groups: list[Located],
    seen: dict[str, int],
    problems: list[str],
    path: Path,
    line: int,
    name: str,
    members: tuple[int, ...],
) -> None:
    """Keep a group, refusing a name given before or a group without members."""
    if name in seen:
        problems.append(f"{path}:{line}: group {name!r} is already defined on line {seen[name]}")
    elif not members:
        problems.append(f"{path}:{line}: group {name!r} has no exposures")
    else:
        seen[name] = line
        groups.append((Group(name, members), f"{path}:{line}"))
