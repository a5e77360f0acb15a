"""Reruns of a legacy repository: where they are, what they are called in quanta, and
which repositories each one searches after itself.

A rerun is a directory under ``ROOT/rerun`` holding ``repositoryCfg.yaml`` (whose
``_parents`` lists its parent repositories, relative to it) or a ``_parent`` link.
``rerun/private/X`` becomes ``u/X``; ``rerun/shared/X`` and ``rerun/X`` become
``<instrument>/runs/X``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..core.yaml_io import load_yaml
from .errors import LegacyRepositoryError

RERUN_DIR = "rerun"
CONFIG_FILE = "repositoryCfg.yaml"
PARENT_LINK = "_parent"
#: The parent name that stands for the repository root.
ROOT = ""


@dataclass(frozen=True)
class Rerun:
    """One rerun: its directory relative to the root, its quanta chain, and its parents
    (directories relative to the root, ``ROOT`` for the root itself) in search order."""

    directory: str
    chain: str
    parents: tuple[str, ...]


def chain_name(instrument: str, directory: str) -> str:
    """The quanta CHAINED collection of the rerun at ``directory`` (``rerun/...``)."""
    parts = directory.split("/")[1:]
    if parts[0] == "private" and len(parts) > 1:
        return "u/" + "/".join(parts[1:])
    if parts[0] == "shared" and len(parts) > 1:
        parts = parts[1:]
    return f"{instrument}/runs/" + "/".join(parts)


def find_reruns(root: Path, instrument: str, wanted: Sequence[str] = ()) -> list[Rerun]:
    """The reruns under ``root/rerun``, parents before children; ``wanted`` (names under
    ``rerun/``, such as ``private/alice``) keeps those and the reruns they sit on."""
    found = {d: _parents(root, d) for d in _rerun_dirs(root)}
    keep = set(found) if not wanted else set()
    for name in wanted:
        directory = f"{RERUN_DIR}/{name.strip('/')}"
        if directory not in found:
            known = ", ".join(d.split("/", 1)[1] for d in sorted(found)) or "none"
            raise LegacyRepositoryError(
                f"no rerun {name!r} under {root / RERUN_DIR}; found: {known}"
            )
        keep |= _ancestors(directory, found)
    return [
        Rerun(d, chain_name(instrument, d), found[d]) for d in _parents_first(sorted(keep), found)
    ]


def _rerun_dirs(root: Path) -> list[str]:
    """Directories under ``root/rerun`` with a configuration or a parent link, sorted."""
    base = root / RERUN_DIR
    if not base.is_dir():
        return []
    found = []
    for directory, subdirs, names in os.walk(base):
        subdirs.sort()
        if CONFIG_FILE in names or PARENT_LINK in names or PARENT_LINK in subdirs:
            found.append(Path(directory).relative_to(root).as_posix())
            subdirs.clear()
    return found


def _parents(root: Path, directory: str) -> tuple[str, ...]:
    """The parents a rerun names, each as a directory relative to the root."""
    here = root / directory
    config = here / CONFIG_FILE
    if config.is_file():
        listed = _read_config(config).get("_parents") or []
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            raise LegacyRepositoryError(f"{config}: _parents is not a list of paths")
    else:
        listed = [os.readlink(here / PARENT_LINK)]
    top = root.resolve()
    parents = []
    for entry in listed:
        target = (here / entry).resolve()
        if target == top:
            parents.append(ROOT)
        elif target.is_relative_to(top / RERUN_DIR):
            parents.append(target.relative_to(top).as_posix())
        else:
            raise LegacyRepositoryError(
                f"{here}: parent {entry} is not the repository or one of its reruns"
            )
    return tuple(parents) or (ROOT,)


def _read_config(path: Path) -> dict[str, Any]:
    """A rerun configuration: YAML whose top node carries the legacy class tag."""
    try:
        data = load_yaml(path, local_tags=True)
    except ConfigError as err:
        raise LegacyRepositoryError(str(err)) from None
    if not isinstance(data, dict):
        raise LegacyRepositoryError(f"{path}: a rerun configuration is a mapping")
    return data


def _ancestors(directory: str, found: dict[str, tuple[str, ...]]) -> set[str]:
    """``directory`` and every rerun it sits on."""
    seen: set[str] = set()
    todo = [directory]
    while todo:
        current = todo.pop()
        if current in seen or current == ROOT:
            continue
        if current not in found:
            raise LegacyRepositoryError(f"rerun parent {current} is not a rerun of the repository")
        seen.add(current)
        todo.extend(found[current])
    return seen


def _parents_first(directories: Iterable[str], found: dict[str, tuple[str, ...]]) -> list[str]:
    """``directories`` ordered so that each comes after its parents; a cycle is an error."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(directory: str) -> None:
        if directory in ordered or directory == ROOT:
            return
        if directory in visiting:
            raise LegacyRepositoryError(f"rerun {directory} is its own ancestor")
        visiting.add(directory)
        for parent in found.get(directory, ()):
            visit(parent)
        ordered.append(directory)

    for directory in directories:
        visit(directory)
    return ordered
